// Interoperability with @cloudflare/privacypass-ts 0.8.1 and @cloudflare/blindrsa-ts 0.4.3
// (tests/interop/privacypass_peer.mjs), both directions:
// - privacypass-ts as the client obtains tokens from our issuer core (through
//   tokens_issuer_harness, singly and in a generic batch) and verifies them itself; our redeemer
//   accepts them.
// - tokens our client code obtained verify in privacypass-ts; our Authorization and
//   WWW-Authenticate headers parse there and theirs parse here (privacypass-ts's Authorization
//   header, unquoted and quoted, also redeems here).
// - blindrsa-ts blinds and finalizes against our BlindSign, and signs what we blinded, in all four
//   RFC 9474 variants; each side verifies the other's final signatures.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/redeemer.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::tokens {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;
using openpcc::testing::RunNodePeer;

constexpr char kPeer[] = "privacypass_peer.mjs";
const std::chrono::sys_seconds kHarnessNow{std::chrono::seconds(1'700'000'000)};

class PrivacyPassInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
    ASSERT_TRUE(sk.ok());
    key_ = new crypto::BlindRsaPrivateKey(std::move(sk).value());
  }
  static void TearDownTestSuite() { delete key_; }

  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-ppi-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto der = key_->ToPkcs8Der();
    ASSERT_TRUE(der.ok());
    std::ofstream(dir_ / "key.der", std::ios::binary)
        .write(reinterpret_cast<const char*>(der->data()), static_cast<std::streamsize>(der->size()));
    challenge_ = *TokenChallenge{kTokenTypeBlindRsa, "issuer.openpcc.example", {}, "openpcc"}.Encode();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  json::object HarnessSpec(const std::string& db) const {
    return {{"command", json::array{OPENPCC_ISSUER_HARNESS, (dir_ / "key.der").string(),
                                    (dir_ / db).string()}}};
  }

  // `n` tokens for challenge_ from our client and issuer code, encoded. A failed step throws
  // (Result::value()), which fails the calling test.
  std::vector<Bytes> OurTokens(int n) const {
    std::vector<Bytes> out;
    for (int i = 0; i < n; ++i) {
      ClientTokenRequest req = CreateTokenRequest(challenge_, key_->public_key()).value();
      TokenResponse res = IssueTokenResponse(*key_, req.request).value();
      out.push_back(FinalizeToken(req.pending, res, key_->public_key()).value().Encode());
    }
    return out;
  }

  // key_ as the issuer harness serves it (issuance until kHarnessNow + 1 h, redemption until
  // + 2 h), for our redeemer.
  static TokenVerificationKey HarnessKeyVerification() {
    return IssuerKey::Make(crypto::BlindRsaPrivateKey::FromPkcs8(key_->ToPkcs8Der()->view()).value(),
                           {kHarnessNow, kHarnessNow + std::chrono::hours(1), kHarnessNow + std::chrono::hours(2)})
        .value()
        .Verification();
  }

  static crypto::BlindRsaPrivateKey* key_;
  std::filesystem::path dir_;
  Bytes challenge_;
};
crypto::BlindRsaPrivateKey* PrivacyPassInteropTest::key_ = nullptr;

TEST_F(PrivacyPassInteropTest, PrivacyPassClientObtainsTokensThatOurRedeemerAccepts) {
  const Bytes spki = key_->public_key().SpkiRsaPss();
  json::array jobs;
  jobs.push_back({{"op", "fetch-tokens"}, {"issuer", HarnessSpec("a.db")},
                  {"challenge", HexEncode(challenge_)}, {"token_key", HexEncode(spki)},
                  {"count", 3}, {"batch", false}});
  jobs.push_back({{"op", "fetch-tokens"}, {"issuer", HarnessSpec("b.db")},
                  {"challenge", HexEncode(challenge_)}, {"token_key", HexEncode(spki)},
                  {"count", 5}, {"batch", true}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::array& results = out.at("results").as_array();

  MemorySpentStore spent;
  Redeemer redeemer(challenge_, spent);
  redeemer.SetKeys({HarnessKeyVerification()});
  size_t total = 0;
  for (const auto& r : results) {
    EXPECT_TRUE(r.at("self_verified").as_bool());
    for (const auto& hex : r.at("tokens").as_array()) {
      const Bytes token = Hex(hex.as_string());
      EXPECT_TRUE(redeemer.Redeem(token, kHarnessNow).ok());
      EXPECT_EQ(redeemer.Redeem(token, kHarnessNow).error().code(), ErrorCode::kReplay);
      ++total;
    }
  }
  EXPECT_EQ(total, 8u);
}

TEST_F(PrivacyPassInteropTest, TokensFromOurClientVerifyInPrivacyPass) {
  json::array tokens, headers;
  const std::vector<Bytes> ours = OurTokens(4);
  for (const Bytes& token : ours) {
    tokens.push_back(json::string(HexEncode(token)));
    headers.push_back(json::string(FormatAuthorization(token)));
  }
  Bytes tampered = ours[0];
  tampered.back() ^= 1;
  tokens.push_back(json::string(HexEncode(tampered)));
  json::array jobs;
  jobs.push_back({{"op", "verify-tokens"}, {"token_key", HexEncode(key_->public_key().SpkiRsaPss())},
                  {"challenge", HexEncode(challenge_)}, {"tokens", tokens},
                  {"authorization", headers}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::object& r = out.at("results").as_array().at(0).as_object();
  const json::array& valid = r.at("results").as_array();
  ASSERT_EQ(valid.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(valid[static_cast<size_t>(i)].as_bool());
  EXPECT_FALSE(valid[4].as_bool());
  const json::array& parsed = r.at("authorization_tokens").as_array();
  ASSERT_EQ(parsed.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(Hex(parsed[i].as_string()), ours[i]);
}

// privacypass-ts's own Authorization header (AuthorizationHeader.toString(), unquoted by default,
// and quoted) parses with ParseAuthorization and redeems once.
TEST_F(PrivacyPassInteropTest, PrivacyPassAuthorizationHeadersParseAndRedeemHere) {
  const std::vector<Bytes> ours = OurTokens(3);
  json::array tokens;
  for (const Bytes& token : ours) tokens.push_back(json::string(HexEncode(token)));
  json::array jobs;
  jobs.push_back({{"op", "format-authorization"}, {"tokens", tokens}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::object& r = out.at("results").as_array().at(0).as_object();
  const json::array& headers = r.at("headers").as_array();
  const json::array& quoted = r.at("quoted").as_array();
  ASSERT_EQ(headers.size(), 3u);
  ASSERT_EQ(quoted.size(), 3u);

  MemorySpentStore spent;
  Redeemer redeemer(challenge_, spent);
  redeemer.SetKeys({HarnessKeyVerification()});
  for (size_t i = 0; i < 3; ++i) {
    const std::string header(headers[i].as_string());
    EXPECT_EQ(header.rfind("PrivateToken token=", 0), 0u) << header;
    EXPECT_EQ(header.find('"'), std::string::npos) << "privacypass-ts formats unquoted by default: " << header;
    auto parsed = ParseAuthorization(header);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString() << "\n" << header;
    EXPECT_EQ(*parsed, ours[i]);
    auto parsed_quoted = ParseAuthorization(std::string(quoted[i].as_string()));
    ASSERT_TRUE(parsed_quoted.ok()) << parsed_quoted.error().ToString();
    EXPECT_EQ(*parsed_quoted, ours[i]);
    EXPECT_TRUE(redeemer.RedeemAuthorization(header, kHarnessNow).ok());
    EXPECT_EQ(redeemer.RedeemAuthorization(std::string(quoted[i].as_string()), kHarnessNow).error().code(),
              ErrorCode::kReplay);
  }
}

TEST_F(PrivacyPassInteropTest, WwwAuthenticateHeadersParseBothWays) {
  const Bytes spki = key_->public_key().SpkiRsaPss();
  PrivateTokenChallenge ours{kTokenTypeBlindRsa, challenge_, spki, 60};
  json::array jobs;
  jobs.push_back({{"op", "www-authenticate"}, {"header", FormatWwwAuthenticate({&ours, 1})}});
  jobs.push_back({{"op", "format-www-authenticate"}, {"challenge", HexEncode(challenge_)},
                  {"token_key", HexEncode(spki)}, {"max_age", 60}});
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::array& results = out.at("results").as_array();
  const json::object& theirs = results[0].at("challenges").as_array().at(0).as_object();
  EXPECT_EQ(Hex(theirs.at("challenge").as_string()), challenge_);
  EXPECT_EQ(Hex(theirs.at("token_key").as_string()), spki);
  EXPECT_EQ(theirs.at("max_age").as_int64(), 60);
  auto parsed = ParseWwwAuthenticate(std::string(results[1].at("header").as_string()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].challenge, challenge_);
  EXPECT_EQ((*parsed)[0].token_key, spki);
  EXPECT_EQ((*parsed)[0].max_age, 60u);
}

TEST_F(PrivacyPassInteropTest, BlindRsaInteroperatesInAllFourVariantsBothWays) {
  const auto variants = {crypto::BlindRsaVariant::kSha384PssRandomized,
                         crypto::BlindRsaVariant::kSha384PssZeroRandomized,
                         crypto::BlindRsaVariant::kSha384PssDeterministic,
                         crypto::BlindRsaVariant::kSha384PssZeroDeterministic};
  const crypto::BlindRsaPublicKey& pk = key_->public_key();
  auto pkcs8 = key_->ToPkcs8Der();
  ASSERT_TRUE(pkcs8.ok());
  json::array jobs;
  std::vector<Bytes> prepared;
  std::vector<crypto::BlindRsaBlinding> blindings;
  int db = 0;
  for (auto v : variants) {
    const std::string name(crypto::BlindRsaVariantName(v));
    // Their client, our signer.
    jobs.push_back({{"op", "blindrsa-client"}, {"variant", name},
                    {"public_key_spki", HexEncode(pk.SpkiRsaEncryption())},
                    {"msg", HexEncode(ToBytes("interop message " + name))},
                    {"issuer", HarnessSpec("bs" + std::to_string(db++) + ".db")}});
    // Our client, their signer.
    prepared.push_back(crypto::BlindRsaPrepare(v, ToBytes("our message " + name)));
    auto b = crypto::BlindRsaBlind(v, pk, prepared.back());
    ASSERT_TRUE(b.ok());
    jobs.push_back({{"op", "blindrsa-sign"}, {"variant", name},
                    {"private_key_pkcs8", HexEncode(pkcs8->view())},
                    {"blinded", json::array{json::string(HexEncode(b->blinded_msg))}}});
    blindings.push_back(std::move(b).value());
  }
  json::value out = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  ASSERT_TRUE(out.is_object());
  const json::array& results = out.at("results").as_array();
  json::array verify_jobs;
  size_t i = 0;
  for (auto v : variants) {
    SCOPED_TRACE(std::string(crypto::BlindRsaVariantName(v)));
    const json::object& client = results[2 * i].as_object();
    EXPECT_TRUE(crypto::BlindRsaVerify(v, pk, Hex(client.at("prepared").as_string()),
                                       Hex(client.at("sig").as_string()))
                    .ok());
    const Bytes blind_sig = Hex(results[2 * i + 1].at("blind_sigs").as_array().at(0).as_string());
    auto sig = crypto::BlindRsaFinalize(v, pk, prepared[i], blind_sig, blindings[i].inv);
    ASSERT_TRUE(sig.ok()) << sig.error().ToString();
    verify_jobs.push_back({{"op", "blindrsa-verify"}, {"variant", std::string(crypto::BlindRsaVariantName(v))},
                           {"public_key_spki", HexEncode(pk.SpkiRsaEncryption())},
                           {"prepared", HexEncode(prepared[i])}, {"sig", HexEncode(*sig)}});
    ++i;
  }
  json::value verified = RunNodePeer(kPeer, json::object{{"jobs", verify_jobs}});
  ASSERT_TRUE(verified.is_object());
  for (const auto& r : verified.at("results").as_array()) EXPECT_TRUE(r.at("valid").as_bool());
}

}  // namespace
}  // namespace openpcc::tokens
