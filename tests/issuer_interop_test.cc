// Interop over HTTP with @cloudflare/privacypass-ts 0.8.1 (tests/interop/privacypass_peer.mjs)
// against the real `openpcc issuer` process (port 0, account and API key made by
// `openpcc issuer admin`):
// - privacypass-ts, given only the issuer's origin and an API key, reads the directory, obtains
//   tokens singly (through its own sendTokenRequest) and in a generic batch, and verifies them
//   itself; our redeemer accepts them with keys read from the same directory.
// - tokens our wallet obtained through IssuerClient (net/ BlockingClient) verify in privacypass-ts.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>

#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/redeemer.h"
#include "openpcc/tokens/spent_store.h"
#include "openpcc/tokens/wallet.h"
#include "support/issuer_process.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::tokens {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;
using openpcc::testing::IssuerProcess;
using openpcc::testing::RunNodePeer;

constexpr char kPeer[] = "privacypass_peer.mjs";

TEST(IssuerInteropTest, PrivacyPassClientObtainsTokensOverHttpThatOurRedeemerAccepts) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string api_key = issuer.CreateAccountWithKey("interop", 100, 1000);
  json::array jobs;
  jobs.push_back({{"op", "fetch-tokens-http"}, {"issuer_url", issuer.url()}, {"api_key", api_key},
                  {"count", 3}, {"batch", false}});
  jobs.push_back({{"op", "fetch-tokens-http"}, {"issuer_url", issuer.url()}, {"api_key", api_key},
                  {"count", 5}, {"batch", true}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());

  auto client = IssuerClient::Create(issuer.url(), crypto::SecretString(api_key.c_str())).value();
  IssuerDirectory dir = client->FetchDirectory().value();
  MemorySpentStore spent;
  Redeemer redeemer(dir.token_challenge, spent);
  redeemer.SetKeys(VerificationKeysFromDirectory(dir).value());
  const auto now = std::chrono::sys_seconds(std::chrono::seconds(issuer.time()));
  size_t total = 0;
  for (const auto& r : out.at("results").as_array()) {
    EXPECT_TRUE(r.at("self_verified").as_bool());
    EXPECT_EQ(Hex(r.at("challenge").as_string()), dir.token_challenge);
    EXPECT_EQ(Hex(r.at("token_key").as_string()), dir.token_keys.at(0).token_key);
    for (const auto& hex : r.at("tokens").as_array()) {
      const Bytes token = Hex(hex.as_string());
      EXPECT_TRUE(redeemer.Redeem(token, now).ok());
      EXPECT_EQ(redeemer.Redeem(token, now).error().code(), ErrorCode::kReplay);
      ++total;
    }
  }
  EXPECT_EQ(total, 8u);
}

TEST(IssuerInteropTest, TokensOurWalletObtainedOverHttpVerifyInPrivacyPass) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string api_key = issuer.CreateAccountWithKey("wallet", 100, 1000);
  auto client = IssuerClient::Create(issuer.url(), crypto::SecretString(api_key.c_str())).value();
  IssuerDirectory dir = client->FetchDirectory().value();
  auto all = VerificationKeysFromDirectory(dir).value();

  // The policy (the logged directory, here: the one key) lists what the wallet may blind to.
  WalletPolicy policy;
  policy.batch_size = 4;
  policy.refill_below = 1;
  policy.max_refill_delay = std::chrono::seconds(0);
  policy.empty_refill_delay = std::chrono::seconds(0);
  policy.allowed_keys = {all.at(0).id};
  policy.challenge = dir.token_challenge;
  const std::filesystem::path path = issuer.state_dir().parent_path() / "wallet.bin";
  auto wallet = Wallet::Open(path.string(), policy, [](uint64_t) { return uint64_t{0}; }).value();
  const auto now = std::chrono::sys_seconds(std::chrono::seconds(issuer.time()));
  auto keys = client->FetchAllowedKeys(policy.allowed_keys);
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  auto added = wallet->Tick(now, *keys, client->Fetcher());
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(*added, 4u);
  // A key the policy does not list is never used.
  EXPECT_EQ(client->FetchAllowedKeys({TokenKeyId{}}).error().code(), ErrorCode::kUnknownKey);

  json::array tokens;
  for (int i = 0; i < 4; ++i) {
    auto token = wallet->Take(now);
    ASSERT_TRUE(token.ok());
    tokens.push_back(json::string(HexEncode(token->Encode())));
  }
  json::array jobs;
  jobs.push_back({{"op", "verify-tokens"}, {"token_key", HexEncode(dir.token_keys.at(0).token_key)},
                  {"challenge", HexEncode(dir.token_challenge)}, {"tokens", tokens}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::array& valid = out.at("results").as_array().at(0).at("results").as_array();
  ASSERT_EQ(valid.size(), 4u);
  for (const auto& v : valid) EXPECT_TRUE(v.as_bool());
}

}  // namespace
}  // namespace openpcc::tokens
