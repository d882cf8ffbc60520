// `openpcc issuer` as a real process on loopback, driven over HTTP by net::BlockingClient and by
// our IssuerClient (tokens/issuer_client.h): authentication (401), quotas (429 + Retry-After),
// malformed requests (400/415 naming what is wrong), batches (and 413 above --max-batch), key
// rotation with overlapping validity, state across restarts, `openpcc issuer admin`, and HTTPS
// with --tls-cert/--tls-key.
// The issuer's clock is a test clock file, so nothing here depends on the wall clock.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "openpcc/net/client.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/redeemer.h"
#include "openpcc/tokens/spent_store.h"
#include "support/cli.h"
#include "support/issuer_process.h"
#include "support/test_pki.h"

namespace openpcc::tokens {
namespace {

using openpcc::testing::IssuerProcess;
using std::chrono::seconds;

constexpr int64_t kT0 = 1'700'000'000;  // 800 s into a clock hour
std::chrono::sys_seconds At(int64_t t) { return std::chrono::sys_seconds(seconds(t)); }

struct Http {
  std::unique_ptr<net::BlockingClient> client = net::BlockingClient::Create({}).value();

  net::ClientResponse Post(const std::string& url, const std::string& media, ByteView body,
                           const std::string& authorization) {
    net::Headers headers;
    if (!media.empty()) headers.push_back({"Content-Type", media});
    if (!authorization.empty()) headers.push_back({"Authorization", authorization});
    net::ClientRequest request("POST", url + "/token-request", headers);
    auto res = client->Fetch(request, AsChars(body), 1 << 20);
    EXPECT_TRUE(res.ok()) << res.error().ToString();
    return res.ok() ? std::move(res).value() : net::ClientResponse{};
  }
  IssuerDirectory Directory(const std::string& url) {
    net::ClientRequest request("GET", url + std::string(kIssuerDirectoryPath));
    auto res = client->Fetch(request, "", 1 << 16);
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(res->status, 200u);
    auto dir = IssuerDirectory::Parse(res->body);
    EXPECT_TRUE(dir.ok()) << dir.error().ToString();
    return dir.ok() ? std::move(dir).value() : IssuerDirectory{};
  }
};

std::string ErrorCodeOf(const net::ClientResponse& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body, ec);
  if (ec || !v.is_object()) return "";
  return std::string(v.at("error").at("code").as_string());
}
std::string ErrorMessageOf(const net::ClientResponse& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body, ec);
  if (ec || !v.is_object()) return "";
  return std::string(v.at("error").at("message").as_string());
}

// A fresh TokenRequest for the directory's newest key, with what is needed to finalize it.
struct Requested {
  ClientTokenRequest request;
  std::shared_ptr<const crypto::BlindRsaPublicKey> key;
};
Requested RequestFor(const IssuerDirectory& dir) {
  auto keys = VerificationKeysFromDirectory(dir).value();
  auto req = CreateTokenRequest(dir.token_challenge, *keys.at(0).key);
  EXPECT_TRUE(req.ok());
  return {std::move(req).value(), keys.at(0).key};
}

class IssuerServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<IssuerClient> ClientFor(const IssuerProcess& issuer, const std::string& key) {
    auto c = IssuerClient::Create(issuer.url(), crypto::SecretString(key.c_str()));
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }
  Http http_;
};

TEST_F(IssuerServiceTest, ServesTheDirectoryWithCacheHeadersAndTheFixedChallenge) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  net::ClientRequest request("GET", issuer.url() + std::string(kIssuerDirectoryPath));
  auto res = http_.client->Fetch(request, "", 1 << 16);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->header("content-type"), std::string(kIssuerDirectoryMediaType));
  EXPECT_EQ(res->header("cache-control"), "public, max-age=3600");
  auto dir = IssuerDirectory::Parse(res->body);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->issuer_request_uri, issuer.url() + "/token-request");
  ASSERT_EQ(dir->token_keys.size(), 1u);
  EXPECT_EQ(dir->token_keys[0].not_before, kT0);
  auto challenge = TokenChallenge::Parse(dir->token_challenge);
  ASSERT_TRUE(challenge.ok());
  EXPECT_EQ(challenge->issuer_name, "127.0.0.1");
  EXPECT_EQ(challenge->origin_info, "openpcc");
  EXPECT_TRUE(challenge->redemption_context.empty());
  // The key file exists, 0600, in a 0700 directory.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(issuer.state_dir() / "token-keys")) {
    EXPECT_EQ(e.status().permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(IssuerServiceTest, IssuesTokensThatVerifySinglyAndInBatches) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string key = issuer.CreateAccountWithKey("alice", 100, 1000);
  ASSERT_EQ(key.rfind("opcc_", 0), 0u);
  auto client = ClientFor(issuer, key);
  auto dir = client->FetchDirectory();
  ASSERT_TRUE(dir.ok()) << dir.error().ToString();
  auto keys = VerificationKeysFromDirectory(*dir).value();
  MemorySpentStore spent;
  Redeemer redeemer(dir->token_challenge, spent);
  redeemer.SetKeys(keys);
  for (size_t n : {1u, 7u}) {
    std::vector<TokenRequest> requests;
    std::vector<PendingToken> pending;
    for (size_t i = 0; i < n; ++i) {
      auto r = CreateTokenRequest(dir->token_challenge, *keys[0].key).value();
      requests.push_back(std::move(r.request));
      pending.push_back(std::move(r.pending));
    }
    auto responses = client->Issue(requests);
    ASSERT_TRUE(responses.ok()) << responses.error().ToString();
    ASSERT_EQ(responses->size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE((*responses)[i].has_value());
      auto token = FinalizeToken(pending[i], *(*responses)[i], *keys[0].key);
      ASSERT_TRUE(token.ok()) << token.error().ToString();
      EXPECT_TRUE(redeemer.Redeem(token->Encode(), At(issuer.time())).ok());
    }
  }
}

TEST_F(IssuerServiceTest, RefusesMissingWrongAndRevokedApiKeysWith401) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string key = issuer.CreateAccountWithKey("bob", 100, 1000);
  IssuerDirectory dir = http_.Directory(issuer.url());
  Requested r = RequestFor(dir);
  const Bytes body = r.request.request.Encode();
  const std::string media(kTokenRequestMediaType);

  auto missing = http_.Post(issuer.url(), media, body, "");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(missing.header("www-authenticate"), "Bearer realm=\"openpcc-issuer\"");
  EXPECT_EQ(ErrorCodeOf(missing), "missing_api_key");
  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Basic " + key).status, 401u);

  std::string wrong = key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto refused = http_.Post(issuer.url(), media, body, "Bearer " + wrong);
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(refused.header("www-authenticate"),
            "Bearer realm=\"openpcc-issuer\", error=\"invalid_token\"");
  EXPECT_EQ(ErrorMessageOf(refused), "issuer: API key is not valid");
  EXPECT_EQ(refused.body.find(wrong), std::string::npos);

  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Bearer " + key).status, 200u);
  // Revoked by the admin command while the server runs: refused at once.
  const std::string key_id = key.substr(5, 16);
  EXPECT_NE(issuer.Admin({"revoke-key", key_id}).find("revoked"), std::string::npos);
  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Bearer " + key).status, 401u);
}

TEST_F(IssuerServiceTest, RefusesMalformedRequestsNamingWhatIsWrong) {
  IssuerProcess issuer({"--max-batch", "4"});
  ASSERT_TRUE(issuer.Start());
  const std::string auth = "Bearer " + issuer.CreateAccountWithKey("carol", 1000, 1000);
  IssuerDirectory dir = http_.Directory(issuer.url());
  Requested r = RequestFor(dir);
  Bytes body = r.request.request.Encode();

  auto no_type = http_.Post(issuer.url(), "", body, auth);
  EXPECT_EQ(no_type.status, 415u);
  EXPECT_NE(ErrorMessageOf(no_type).find("Content-Type must be application/private-token-request"),
            std::string::npos);
  EXPECT_EQ(http_.Post(issuer.url(), "application/json", body, auth).status, 415u);

  Bytes truncated(body.begin(), body.begin() + 100);
  auto short_body = http_.Post(issuer.url(), std::string(kTokenRequestMediaType), truncated, auth);
  EXPECT_EQ(short_body.status, 400u);
  EXPECT_EQ(ErrorMessageOf(short_body), "tokens: request blinded_msg is truncated");

  Bytes wrong_type = body;
  wrong_type[1] = 0x01;
  auto type1 = http_.Post(issuer.url(), std::string(kTokenRequestMediaType), wrong_type, auth);
  EXPECT_EQ(type1.status, 400u);
  EXPECT_EQ(ErrorMessageOf(type1), "tokens: request token_type 0x0001 is not 0x0002");

  Bytes other_key = body;
  other_key[2] ^= 0xff;
  auto unknown = http_.Post(issuer.url(), std::string(kTokenRequestMediaType), other_key, auth);
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(ErrorCodeOf(unknown), "unknown_token_key");

  std::vector<TokenRequest> five(5, r.request.request);
  auto batch = EncodeBatchTokenRequest(five).value();
  auto too_many = http_.Post(issuer.url(), std::string(kBatchTokenRequestMediaType), batch, auth);
  EXPECT_EQ(too_many.status, 413u);
  EXPECT_EQ(ErrorMessageOf(too_many), "tokens: batch request has more than 4 token requests");
}

TEST_F(IssuerServiceTest, EnforcesHourlyAndDailyQuotasWith429AndRetryAfter) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string key = issuer.CreateAccountWithKey("dave", 3, 5);
  auto client = ClientFor(issuer, key);
  IssuerDirectory dir = client->FetchDirectory().value();
  const std::string auth = "Bearer " + key;
  auto one = [&] {
    Requested r = RequestFor(dir);
    return http_.Post(issuer.url(), std::string(kTokenRequestMediaType), r.request.request.Encode(),
                      auth);
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(one().status, 200u) << i;
  auto hourly = one();
  EXPECT_EQ(hourly.status, 429u);
  EXPECT_EQ(ErrorCodeOf(hourly), "quota_exceeded");
  EXPECT_EQ(ErrorMessageOf(hourly), "issuer: hourly quota of 3 tokens would be exceeded");
  EXPECT_EQ(hourly.header("retry-after"), std::to_string(3600 - kT0 % 3600));
  // Our client reports it as kOutOfRange with the wait.
  Requested r = RequestFor(dir);
  auto refused = client->Issue({r.request.request});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(refused.error().message().find("retry after 2800 s"), std::string::npos);

  issuer.SetTime(kT0 + 3600);  // next hour, same UTC day
  EXPECT_EQ(one().status, 200u);
  EXPECT_EQ(one().status, 200u);
  auto daily = one();
  EXPECT_EQ(daily.status, 429u);
  EXPECT_EQ(ErrorMessageOf(daily), "issuer: daily quota of 5 tokens would be exceeded");
  EXPECT_EQ(daily.header("retry-after"), std::to_string(86400 - (kT0 + 3600) % 86400));
  // A batch larger than what is left is refused whole.
  issuer.Admin({"set-quota", "dave", "--per-hour", "10", "--per-day", "7"});
  std::vector<TokenRequest> three(3, r.request.request);
  EXPECT_EQ(http_.Post(issuer.url(), std::string(kBatchTokenRequestMediaType),
                       EncodeBatchTokenRequest(three).value(), auth).status,
            429u);
  std::vector<TokenRequest> two(2, r.request.request);
  EXPECT_EQ(http_.Post(issuer.url(), std::string(kBatchTokenRequestMediaType),
                       EncodeBatchTokenRequest(two).value(), auth).status,
            200u);
}

TEST_F(IssuerServiceTest, RotatesKeysWithOverlapAndOldTokensRedeemWithinTheirWindow) {
  // Each key issues 1 h; its successor appears 10 min before the end; tokens stay redeemable
  // 20 min after their key stops issuing.
  IssuerProcess issuer({"--rotation-period", "1h", "--rotation-lead", "10m", "--redeem-grace", "20m"});
  ASSERT_TRUE(issuer.Start());
  const std::string key = issuer.CreateAccountWithKey("erin", 1000, 10000);
  auto client = ClientFor(issuer, key);
  IssuerDirectory first = client->FetchDirectory().value();
  ASSERT_EQ(first.token_keys.size(), 1u);
  auto k1 = VerificationKeysFromDirectory(first).value().at(0);

  // A token under the first key.
  auto req = CreateTokenRequest(first.token_challenge, *k1.key).value();
  auto res = client->Issue({req.request}).value();
  Token old_token = FinalizeToken(req.pending, *res.at(0), *k1.key).value();

  // 55 min: the successor is created and listed beside it.
  issuer.SetTime(kT0 + 55 * 60);
  IssuerDirectory both;
  for (int i = 0; i < 400; ++i) {
    both = http_.Directory(issuer.url());
    if (both.token_keys.size() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(both.token_keys.size(), 2u);
  EXPECT_EQ(both.token_keys[0].not_before, kT0 + 55 * 60);  // newest first
  EXPECT_EQ(both.token_keys[1].token_key, first.token_keys[0].token_key);

  // 70 min: the first key no longer issues but its tokens still redeem, with keys read from the
  // directory, as a gateway would.
  issuer.SetTime(kT0 + 70 * 60);
  IssuerDirectory later = http_.Directory(issuer.url());
  ASSERT_EQ(later.token_keys.size(), 2u);
  MemorySpentStore spent;
  Redeemer redeemer(later.token_challenge, spent);
  redeemer.SetKeys(VerificationKeysFromDirectory(later).value());
  EXPECT_TRUE(redeemer.Check(old_token, At(kT0 + 70 * 60)).ok());
  auto stale = CreateTokenRequest(first.token_challenge, *k1.key).value();
  auto refused = http_.Post(issuer.url(), std::string(kTokenRequestMediaType),
                            stale.request.Encode(), "Bearer " + key);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_EQ(ErrorMessageOf(refused), "issuer: request names no issuing token key");

  // 85 min: its redemption window has closed; it leaves the directory and its file is deleted.
  issuer.SetTime(kT0 + 85 * 60);
  IssuerDirectory after = http_.Directory(issuer.url());
  ASSERT_EQ(after.token_keys.size(), 1u);
  redeemer.SetKeys(VerificationKeysFromDirectory(after).value());
  EXPECT_EQ(redeemer.Check(old_token, At(kT0 + 85 * 60)).error().code(), ErrorCode::kUnknownKey);
  size_t files = 2;
  for (int i = 0; i < 200 && files != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    files = 0;
    for (const auto& e : std::filesystem::directory_iterator(issuer.state_dir() / "token-keys")) {
      files += e.path().extension() == ".pem" ? 1 : 0;
    }
  }
  EXPECT_EQ(files, 1u);

  // Over five more hours in 10-minute steps: one or two keys listed, never three, and the newest
  // one issues (its not-before is the last rotation, at most an hour ago).
  for (int64_t t = kT0 + 90 * 60; t < kT0 + 6 * 3600; t += 600) {
    issuer.SetTime(t);
    // The rotation thread generates an RSA key when due; wait (bounded) until it has.
    IssuerDirectory d = http_.Directory(issuer.url());
    for (int i = 0; i < 400 && !d.token_keys.empty() && *d.token_keys[0].not_before + 3600 <= t;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      d = http_.Directory(issuer.url());
    }
    ASSERT_GE(d.token_keys.size(), 1u) << t - kT0;
    ASSERT_LE(d.token_keys.size(), 2u) << t - kT0;
    Requested r = RequestFor(d);
    auto issued = http_.Post(issuer.url(), std::string(kTokenRequestMediaType),
                             r.request.request.Encode(), "Bearer " + key);
    EXPECT_EQ(issued.status, 200u) << t - kT0 << " " << issued.body;
  }
}

TEST_F(IssuerServiceTest, KeysAccountsAndUsageSurviveARestart) {
  IssuerProcess issuer;
  ASSERT_TRUE(issuer.Start());
  const std::string key = issuer.CreateAccountWithKey("frank", 3, 100);
  IssuerDirectory before = http_.Directory(issuer.url());
  Requested r = RequestFor(before);
  const Bytes body = r.request.request.Encode();
  const std::string media(kTokenRequestMediaType);
  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Bearer " + key).status, 200u);
  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Bearer " + key).status, 200u);
  issuer.Stop();

  ASSERT_TRUE(issuer.Start());
  IssuerDirectory after = http_.Directory(issuer.url());
  ASSERT_EQ(after.token_keys.size(), 1u);
  EXPECT_EQ(after.token_keys[0].token_key, before.token_keys[0].token_key);
  EXPECT_EQ(after.token_challenge, before.token_challenge);
  // The same blinded request still names the key; the quota remembers the two tokens.
  auto third = http_.Post(issuer.url(), media, body, "Bearer " + key);
  ASSERT_EQ(third.status, 200u);
  auto token = FinalizeToken(r.request.pending,
                             TokenResponse::Parse(ByteView(reinterpret_cast<const uint8_t*>(
                                                               third.body.data()),
                                                           third.body.size()))
                                 .value(),
                             *r.key);
  EXPECT_TRUE(token.ok());
  EXPECT_EQ(http_.Post(issuer.url(), media, body, "Bearer " + key).status, 429u);
}

TEST_F(IssuerServiceTest, AdminListsAccountsAndKeysButNeverTheKeys) {
  IssuerProcess issuer;
  const std::string key = issuer.CreateAccountWithKey("grace", 7, 70);
  const std::string listed = issuer.Admin({"list"});
  auto v = boost::json::parse(listed);
  const auto& account = v.at("accounts").as_array().at(0).as_object();
  EXPECT_EQ(account.at("name").as_string(), "grace");
  EXPECT_EQ(account.at("per_hour").to_number<int64_t>(), 7);
  EXPECT_EQ(account.at("per_day").to_number<int64_t>(), 70);
  EXPECT_EQ(account.at("api_keys").as_array().at(0).at("key_id").as_string(), key.substr(5, 16));
  EXPECT_EQ(listed.find(key.substr(22)), std::string::npos);

  auto dup = openpcc::testing::RunCli({"issuer", "admin", "create-account", "grace", "--state-dir",
                                       issuer.state_dir().string()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("account name already exists"), std::string::npos);
  auto none = openpcc::testing::RunCli(
      {"issuer", "admin", "create-key", "nobody", "--state-dir", issuer.state_dir().string()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no account named 'nobody'"), std::string::npos);
}

// With --tls-cert/--tls-key the issuer serves HTTPS: a client trusting the test CA gets the
// directory (whose issuer-request-uri is https) and a token that redeems; one that does not trust
// it, or speaks plain HTTP to the port, gets nothing.
TEST_F(IssuerServiceTest, ServesTheDirectoryAndTokensOverTls) {
  openpcc::testing::TestPki pki = openpcc::testing::MakeTestPki("issuer");
  openpcc::testing::TestPki other = openpcc::testing::MakeTestPki("issuer-other-ca");
  IssuerProcess issuer({"--tls-cert", pki.cert_file, "--tls-key", pki.key_file});
  ASSERT_TRUE(issuer.Start());
  ASSERT_EQ(issuer.url().rfind("https://127.0.0.1:", 0), 0u) << issuer.url();
  const std::string key = issuer.CreateAccountWithKey("tls", 10, 10);
  net::ClientOptions trusting;
  trusting.ca_file = pki.ca_file;
  auto client = IssuerClient::Create(issuer.url(), crypto::SecretString(key.c_str()), trusting);
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  auto dir = (*client)->FetchDirectory();
  ASSERT_TRUE(dir.ok()) << dir.error().ToString();
  EXPECT_EQ(dir->issuer_request_uri, issuer.url() + "/token-request");
  auto keys = VerificationKeysFromDirectory(*dir).value();
  auto request = CreateTokenRequest(dir->token_challenge, *keys[0].key).value();
  auto responses = (*client)->Issue({request.request});
  ASSERT_TRUE(responses.ok()) << responses.error().ToString();
  ASSERT_EQ(responses->size(), 1u);
  ASSERT_TRUE((*responses)[0].has_value());
  auto token = FinalizeToken(request.pending, *(*responses)[0], *keys[0].key);
  ASSERT_TRUE(token.ok()) << token.error().ToString();
  MemorySpentStore spent;
  Redeemer redeemer(dir->token_challenge, spent);
  redeemer.SetKeys(keys);
  EXPECT_TRUE(redeemer.Redeem(token->Encode(), At(issuer.time())).ok());

  net::ClientOptions untrusting;
  untrusting.ca_file = other.ca_file;
  auto stranger = IssuerClient::Create(issuer.url(), crypto::SecretString(key.c_str()), untrusting);
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE((*stranger)->FetchDirectory().ok());
  const std::string plain = "http://" + issuer.url().substr(8);
  auto cleartext = http_.client->Fetch(net::ClientRequest("GET", plain + std::string(kIssuerDirectoryPath)), "",
                                       1 << 16);
  EXPECT_TRUE(!cleartext.ok() || cleartext->status != 200u);
}

TEST_F(IssuerServiceTest, RefusesToListenBeyondLoopbackWithoutTls) {
  auto r = openpcc::testing::RunCli({"issuer", "--listen", "0.0.0.0:0", "--state-dir",
                                     (std::filesystem::temp_directory_path() / "openpcc-never")
                                         .string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("API keys travel only inside TLS"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::temp_directory_path() / "openpcc-never"));
}

}  // namespace
}  // namespace openpcc::tokens
