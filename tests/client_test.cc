// client/client.h: the configuration file (strict, paths relative to it), and the facade's
// bootstrap through real OHTTP to an in-process gateway that serves a real signed and logged
// directory with sim bundles and the log's entry tiles: every trust check passes and is reported,
// the log's growth is proven consistent from the entries read, a log whose entries do not match
// its checkpoint and a directory below N_min are refused by name, and a call with an empty wallet
// stops before the gateway. Time comes from a ManualClock.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>

#include "client_trust_test_util.h"
#include "openpcc/client/client.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/tlog/tiles.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/sealed.h"
#include "support/ohttp_gateway.h"

namespace openpcc::client {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::Deployment;
using testing::TempDir;
using testing::TestTime;

void Write(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string ConfigText(const std::string& relay, const std::string& keys, const std::string& directory_key) {
  boost::json::object o{{"relay_url", relay},           {"issuer_url", "http://127.0.0.1:9"},
                        {"api_key_file", "api-key"},    {"directory_key", directory_key},
                        {"bundle_policy", "policy.json"}, {"state_dir", "state"}};
  if (!keys.empty()) o["keys_url"] = keys;
  return boost::json::serialize(o);
}

TEST(ClientConfigTest, ParsesAndResolvesPathsAgainstTheFile) {
  auto c = ClientConfig::Parse(ConfigText("http://127.0.0.1:7100/", "", "00"), "/etc/openpcc");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->api_key_file, "/etc/openpcc/api-key");
  EXPECT_EQ(c->bundle_policy, "/etc/openpcc/policy.json");
  EXPECT_EQ(c->wallet, "/etc/openpcc/state/wallet");
  EXPECT_EQ(c->min_nodes, 3u);
  EXPECT_EQ(c->directory_refresh, seconds(300));
  EXPECT_EQ(c->token_batch_size, 16u);
}

TEST(ClientConfigTest, RefusesUnknownMissingAndBadMembersByName) {
  auto unknown = ClientConfig::Parse(R"({"relay_url":"x","colour":"red"})", "/");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message(), "config: colour: unknown member");
  auto missing = ClientConfig::Parse(R"({"issuer_url":"x"})", "/");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "config: relay_url: required");
  boost::json::object o = boost::json::parse(ConfigText("r", "", "00")).as_object();
  o["min_nodes"] = 0;
  auto zero = ClientConfig::Parse(boost::json::serialize(o), "/");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message(), "config: min_nodes: at least 1");
  o["min_nodes"] = 3;
  o["token_batch_size"] = 1025;
  auto too_many = ClientConfig::Parse(boost::json::serialize(o), "/");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().message(), "config: token_batch_size: at most 1024");
  o["token_batch_size"] = 512;
  auto batch = ClientConfig::Parse(boost::json::serialize(o), "/");
  ASSERT_TRUE(batch.ok()) << batch.error().message();
  EXPECT_EQ(batch->token_batch_size, 512u);
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deployment_.directory().ohttp_configs = {*wire::EncodeKeyConfig(gateway_.config())};
    response_ = deployment_.Publish();
    Write(dir_.path() / "policy.json", deployment_.PolicyText());
    Write(dir_.path() / "sim-root.pem", deployment_.root().CertificatePem());
    Write(dir_.path() / "api-key", "test-api-key\n");
    Write(dir_.path() / "client.json",
          ConfigText(gateway_.url("/gateway"), gateway_.url("/ohttp-keys"),
                     HexEncode(deployment_.directory_key().public_key().bytes())));
  }

  std::unique_ptr<Client> MakeClient() {
    auto config = ClientConfig::Load(dir_.path() / "client.json");
    EXPECT_TRUE(config.ok()) << config.error().message();
    auto client = Client::Create(std::move(*config), clock_);
    EXPECT_TRUE(client.ok()) << client.error().message();
    return std::move(*client);
  }

  openpcc::testing::GatewayInnerReply Serve(const openpcc::testing::GatewayInnerRequest& request) {
    std::lock_guard lock(mu_);
    paths_.push_back(request.path);
    EXPECT_FALSE(request.header("date").empty()) << request.path;  // the real gateway requires it
    openpcc::testing::GatewayInnerReply reply;
    if (request.path == "/v1/directory") {
      reply.pieces = {response_.Encode()};
    } else if (request.path == "/v1/models") {
      reply.pieces = {R"({"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"openpcc"}]})"};
    } else if (request.path.starts_with("/v1/tlog/")) {
      auto tile = tlog::ParseTilePath(request.path.substr(9));
      if (!tile.ok() || !tile->entries) return openpcc::testing::GatewayInnerReply{404, {}, {}};
      std::vector<Bytes> entries = deployment_.log().entries();
      const uint64_t start = tile->index * tlog::kTileWidth;
      std::vector<Bytes> slice(entries.begin() + static_cast<ptrdiff_t>(start),
                               entries.begin() + static_cast<ptrdiff_t>(start + tile->width));
      if (tamper_entries_) slice[0].back() ^= 1;
      reply.pieces = {std::string(AsChars(*tlog::EncodeEntryBundle(slice)))};
    } else {
      reply.status = 404;
    }
    return reply;
  }

  Deployment deployment_;
  TempDir dir_;
  ManualClock clock_{TestTime() + seconds(60)};
  std::mutex mu_;
  std::vector<std::string> paths_;
  bool tamper_entries_ = false;
  directory::DirectoryResponse response_;
  openpcc::testing::OhttpTestGateway gateway_{[this](const auto& r) { return Serve(r); }};
};

TEST_F(ClientTest, BootstrapVerifiesTheLoggedDirectoryThroughOhttp) {
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_NE(client, nullptr);
  std::vector<std::string> steps;
  TrustObserver observer = [&](std::string_view check, std::string_view) { steps.emplace_back(check); };
  auto trusted = client->Bootstrap(testing::kModel, &observer);
  ASSERT_TRUE(trusted.ok()) << trusted.error().message();
  EXPECT_EQ(trusted->nodes.size(), 3u);
  EXPECT_EQ(steps.front(), "directory signature");
  EXPECT_EQ(steps[steps.size() - 2], "bundle");
  EXPECT_EQ(steps.back(), "wallet");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state" / "checkpoints"));
  // The entries were read through the gateway's tlog tiles.
  EXPECT_NE(std::find(paths_.begin(), paths_.end(), "/v1/tlog/tile/entries/000.p/2"), paths_.end());
  // Cached within the refresh interval: no second directory fetch.
  const size_t fetched = paths_.size();
  ASSERT_TRUE(client->Bootstrap(testing::kModel).ok());
  EXPECT_EQ(paths_.size(), fetched);
  auto models = client->Models();
  ASSERT_TRUE(models.ok()) << models.error().message();
  EXPECT_NE(models->find("tiny-llama"), std::string::npos);

  // The verification report of a node, as the proxy shows it.
  VerificationReport report = ReportFor(*trusted, trusted->nodes[0], TestTime() + seconds(60));
  boost::json::object json = report.ToJson();
  EXPECT_EQ(json.at("platform").as_string(), "sim");
  EXPECT_TRUE(json.at("simulated").as_bool());
  EXPECT_EQ(json.at("release").at("version").as_string(), "1.0.0");
  EXPECT_EQ(json.at("freshness").at("age_seconds").as_int64(), 60);
}

TEST_F(ClientTest, GrowthOfTheLogIsProvenFromTheEntriesRead) {
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_TRUE(client->Bootstrap(testing::kModel).ok());
  // The next epoch: another directory entry, a larger tree.
  deployment_.directory().epoch = 2;
  {
    std::lock_guard lock(mu_);
    response_ = deployment_.Publish(TestTime() + minutes(6));
  }
  clock_.Set(std::chrono::time_point_cast<std::chrono::milliseconds>(TestTime() + minutes(6)));
  auto trusted = client->Bootstrap(testing::kModel);
  ASSERT_TRUE(trusted.ok()) << trusted.error().message();
  EXPECT_EQ(trusted->directory.epoch, 2u);
  EXPECT_EQ(trusted->checkpoint.checkpoint.size, 3u);
  // A new client process (fresh memory, same state dir) accepts it too.
  EXPECT_TRUE(MakeClient()->Bootstrap(testing::kModel).ok());
}

TEST_F(ClientTest, EntriesThatDoNotMatchTheCheckpointAreRefused) {
  tamper_entries_ = true;
  auto trusted = MakeClient()->Bootstrap(testing::kModel);
  ASSERT_FALSE(trusted.ok());
  EXPECT_EQ(trusted.error().message().find("log entries: "), 0u) << trusted.error().message();
}

TEST_F(ClientTest, DirectoryBelowNMinIsRefusedByName) {
  deployment_.directory().models[testing::kModel].pop_back();
  deployment_.directory().epoch = 2;
  response_ = deployment_.Publish();
  auto trusted = MakeClient()->Bootstrap(testing::kModel);
  ASSERT_FALSE(trusted.ok());
  EXPECT_EQ(trusted.error().message().find("model: model tiny-llama has 2 nodes"), 0u) << trusted.error().message();
}

class Discard final : public AnswerSink {
 public:
  Status OnHead(const InnerResponseHead&) override { return OkStatus(); }
  Status OnContent(ByteView) override { return OkStatus(); }
};

TEST_F(ClientTest, CallsNeedAModelAndATokenBeforeReachingTheGateway) {
  std::unique_ptr<Client> client = MakeClient();
  Discard sink;
  auto no_model = client->Chat(R"({"messages":[]})", sink);
  ASSERT_FALSE(no_model.ok());
  EXPECT_EQ(no_model.error().message().find("request: "), 0u) << no_model.error().message();
  auto no_token = client->Chat(R"({"model":"tiny-llama","messages":[{"role":"user","content":"hi"}]})", sink);
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.error().message().find("wallet: "), 0u) << no_token.error().message();
  EXPECT_EQ(std::find(paths_.begin(), paths_.end(), "/v1/infer"), paths_.end());
  EXPECT_FALSE(client->LastVerification().has_value());
}

// ---- Whole calls: real nodes (sealed), real tokens, the retry rule -------------------------------

wire::NodeKey MakeNodeKey() {
  crypto::SoftwareDhKey dh = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256).value();
  wire::KeyConfig config;
  config.key_id = 1;
  config.kem = crypto::KemId::kX25519HkdfSha256;
  config.public_key = ToBytes(dh.public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
  return wire::MakeNodeKey(config, std::make_shared<crypto::SoftwareDhKey>(std::move(dh))).value();
}

std::vector<wire::NodeKey> NodeKeys() {
  std::vector<wire::NodeKey> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(MakeNodeKey());
  return keys;
}

std::vector<Bytes> ConfigsOf(const std::vector<wire::NodeKey>& keys) {
  std::vector<Bytes> out;
  for (const wire::NodeKey& k : keys) out.push_back(*wire::EncodeKeyConfig(k.config));
  return out;
}

// Counts its fetches (batches issued) in `fetches`.
class InProcessIssuer final : public TokenSource {
 public:
  explicit InProcessIssuer(std::shared_ptr<std::atomic<int>> fetches,
                           std::shared_ptr<std::atomic<int>> key_fetches = std::make_shared<std::atomic<int>>(0))
      : fetches_(std::move(fetches)), key_fetches_(std::move(key_fetches)) {}
  Result<std::vector<tokens::TokenVerificationKey>> Keys(const std::vector<tokens::TokenKeyId>&) override {
    ++*key_fetches_;
    return std::vector<tokens::TokenVerificationKey>{testing::TokenIssuerKey().Verification()};
  }
  tokens::TokenFetcher Fetcher() override {
    return [fetches = fetches_](const std::vector<tokens::TokenRequest>& requests)
               -> Result<std::vector<std::optional<tokens::TokenResponse>>> {
      ++*fetches;
      std::vector<std::optional<tokens::TokenResponse>> out;
      for (const tokens::TokenRequest& r : requests) {
        OPENPCC_ASSIGN_OR_RETURN(tokens::TokenResponse response,
                                 tokens::IssueTokenResponse(*testing::TokenIssuerKey().key, r));
        out.push_back(std::move(response));
      }
      return out;
    };
  }

 private:
  std::shared_ptr<std::atomic<int>> fetches_;
  std::shared_ptr<std::atomic<int>> key_fetches_;
};

class Collect final : public AnswerSink {
 public:
  Status OnVerified(const VerificationReport& report) override {
    verified = report;
    return OkStatus();
  }
  Status OnHead(const InnerResponseHead& head) override {
    status = head.status;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    body.append(AsChars(piece));
    return OkStatus();
  }
  std::optional<VerificationReport> verified;
  unsigned status = 0;
  std::string body;
};

enum class Fault { kNone, kFirstAttemptRefused, kCutAfterContent };

class CallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deployment_.directory().ohttp_configs = {*wire::EncodeKeyConfig(gateway_.config())};
    deployment_.directory().k = 2;
    response_ = deployment_.Publish();
    Write(dir_.path() / "policy.json", deployment_.PolicyText());
    Write(dir_.path() / "sim-root.pem", deployment_.root().CertificatePem());
    boost::json::object text = boost::json::parse(ConfigText(gateway_.url("/gateway"), gateway_.url("/ohttp-keys"),
                                                             HexEncode(deployment_.directory_key().public_key().bytes())))
                                   .as_object();
    for (const auto& [name, value] : config_) text[name] = value;
    Write(dir_.path() / "client.json", boost::json::serialize(text));
    ASSERT_NO_FATAL_FAILURE(StartClient());
    if (!prefill_) return;
    // The wallet refills at a random instant within a minute of finding itself empty.
    for (int i = 0; i < 120 && client_->tokens() == 0; ++i) {
      ASSERT_TRUE(client_->TickWallet().ok());
      if (client_->tokens() == 0) clock_.Advance(std::chrono::milliseconds(1000));
    }
    ASSERT_GT(client_->tokens(), 0u);
  }

  // A client over dir_'s config and wallet file, bootstrapped (which contacts no issuer).
  void StartClient() {
    auto config = ClientConfig::Load(dir_.path() / "client.json");
    ASSERT_TRUE(config.ok()) << config.error().message();
    auto client = Client::Create(std::move(*config), clock_, std::make_unique<InProcessIssuer>(fetches_, key_fetches_));
    ASSERT_TRUE(client.ok()) << client.error().message();
    client_ = std::move(*client);
    ASSERT_TRUE(client_->Bootstrap(testing::kModel).ok());
  }

  openpcc::testing::GatewayInnerReply Serve(const openpcc::testing::GatewayInnerRequest& r) {
    std::lock_guard lock(mu_);
    openpcc::testing::GatewayInnerReply reply;
    EXPECT_FALSE(r.header("date").empty()) << r.path;  // the real gateway requires it
    if (r.path == "/v1/directory") {
      reply.pieces = {response_.Encode()};
      return reply;
    }
    if (r.path.starts_with("/v1/tlog/")) {
      auto tile = tlog::ParseTilePath(r.path.substr(9));
      std::vector<Bytes> entries = deployment_.log().entries();
      std::vector<Bytes> slice(entries.begin() + static_cast<ptrdiff_t>(tile->index * tlog::kTileWidth),
                               entries.begin() + static_cast<ptrdiff_t>(tile->index * tlog::kTileWidth + tile->width));
      reply.pieces = {std::string(AsChars(*tlog::EncodeEntryBundle(slice)))};
      return reply;
    }
    if (r.path != "/v1/infer") {
      reply.status = 404;
      return reply;
    }
    ++infer_calls_;
    auto token = tokens::ParseAuthorization(r.header("authorization"));
    tokens_seen_.insert(token.ok() ? HexEncode(*token) : "bad");
    // Which nodes can open this request: the candidates it was sealed to.
    std::set<Bytes> openers;
    std::optional<wire::SealedRequestReader> opened;
    crypto::SecretVector plain_all;
    for (const wire::NodeKey& node : nodes_) {
      wire::SealedRequestReader reader({node});
      crypto::SecretBytes plain, last;
      if (!reader.Push(AsBytes(r.body), plain).ok() || !reader.Finish(last).ok()) continue;
      openers.insert(node.node_id);
      if (!opened) {
        plain_all.assign(plain.data(), plain.data() + plain.size());
        plain_all.insert(plain_all.end(), last.data(), last.data() + last.size());
        opened.emplace(std::move(reader));
      }
    }
    candidate_sets_.push_back(openers);
    if (fault_ == Fault::kFirstAttemptRefused && infer_calls_ == 1) {
      reply.status = 502;
      reply.headers = {{"content-type", "application/json"}};
      reply.pieces = {R"({"error":{"message":"node failed","type":"api_error","code":"bad_gateway"}})"};
      return reply;
    }
    auto inner = wire::bhttp::DecodeRequest(ByteView(plain_all.data(), plain_all.size()));
    EXPECT_TRUE(inner.ok());
    wire::bhttp::Response response;
    response.status = 200;
    response.headers.push_back({wire::bhttp::Text("content-type"), wire::bhttp::Text("text/event-stream")});
    const std::string text =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hello\"}}]}\n\ndata: [DONE]\n\n";
    response.content.assign(text.begin(), text.end());
    auto encoded = wire::bhttp::EncodeResponse(response);
    Bytes sealed;
    auto writer = opened->MakeResponseWriter(sealed);
    const ByteView all(encoded->data(), encoded->size());
    EXPECT_TRUE(writer->Write(all.subspan(0, all.size() - 10), sealed).ok());
    EXPECT_TRUE(writer->Finish(all.subspan(all.size() - 10), sealed).ok());
    std::string bytes(AsChars(sealed));
    if (fault_ == Fault::kCutAfterContent) bytes.resize(bytes.size() - 20);  // inside the final chunk
    reply.headers = {{"content-type", "application/openpcc-sealed-response"}};
    reply.pieces = {bytes};
    return reply;
  }

  std::vector<wire::NodeKey> nodes_ = NodeKeys();
  Deployment deployment_{4, ConfigsOf(nodes_)};
  TempDir dir_;
  ManualClock clock_{TestTime() + seconds(60)};
  std::mutex mu_;
  directory::DirectoryResponse response_;
  Fault fault_ = Fault::kNone;
  int infer_calls_ = 0;
  std::set<std::string> tokens_seen_;
  std::vector<std::set<Bytes>> candidate_sets_;
  openpcc::testing::OhttpTestGateway gateway_{[this](const auto& r) { return Serve(r); }};
  std::unique_ptr<Client> client_;
  // Set by derived fixtures before SetUp: extra client config members, and whether SetUp fills
  // the wallet (through background-style ticks) before the test.
  boost::json::object config_;
  bool prefill_ = true;
  std::shared_ptr<std::atomic<int>> fetches_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> key_fetches_ = std::make_shared<std::atomic<int>>(0);
};

TEST_F(CallTest, AnswerStreamsFromAVerifiedCandidate) {
  Collect sink;
  auto report = client_->Chat(R"({"model":"tiny-llama","stream":true,"messages":[]})", sink);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(sink.status, 200u);
  EXPECT_NE(sink.body.find("hello"), std::string::npos);
  ASSERT_TRUE(sink.verified.has_value());
  EXPECT_EQ(sink.verified->node_id, report->node_id);
  EXPECT_EQ(report->platform, "sim");
  EXPECT_EQ(report->candidates, 2u);  // K = 2 of 4
  EXPECT_EQ(report->attempts, 1);
  // Where the call's time went (bench/e2e's split): the parts lie within the whole.
  const CallTiming& t = report->timing;
  EXPECT_GT(t.seal.count(), 0);  // HPKE to two candidates and OHTTP: never under a microsecond
  EXPECT_GT(t.first_byte.count(), 0);
  EXPECT_LE(t.first_byte, t.total);
  EXPECT_LE(t.bootstrap + t.seal + t.wallet + t.open, t.total);
  ASSERT_EQ(candidate_sets_.size(), 1u);
  EXPECT_EQ(candidate_sets_[0].size(), 2u);
  EXPECT_TRUE(candidate_sets_[0].count(report->node_id));
  ASSERT_TRUE(client_->LastVerification().has_value());
  EXPECT_EQ(client_->LastVerification()->node_id, report->node_id);
}

TEST_F(CallTest, AFailureBeforeTheAnswerIsRetriedOnceToTheSameCandidates) {
  fault_ = Fault::kFirstAttemptRefused;
  Collect sink;
  auto report = client_->Chat(R"({"model":"tiny-llama","stream":true,"messages":[]})", sink);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->attempts, 2);
  ASSERT_EQ(candidate_sets_.size(), 2u);
  EXPECT_EQ(candidate_sets_[0], candidate_sets_[1]);  // re-sealed to the same candidates
  EXPECT_EQ(tokens_seen_.size(), 2u);                 // with a new token
}

TEST_F(CallTest, ATruncatedAnswerIsAnErrorAndNotRetried) {
  fault_ = Fault::kCutAfterContent;
  Collect sink;
  auto report = client_->Chat(R"({"model":"tiny-llama","stream":true,"messages":[]})", sink);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(sink.body.find("hello"), std::string::npos);  // content reached the caller first
  EXPECT_EQ(infer_calls_, 1);
  EXPECT_FALSE(client_->LastVerification().has_value());
}

// ---- Tokens: a call never fetches; the first use of an empty wallet is fetched, then held ----

// Two tokens per batch, and an empty wallet's refill due at once: exactly the state in which a
// fetch on the request path would have happened right before the spend.
class CallWalletTest : public CallTest {
 protected:
  CallWalletTest() { config_ = {{"token_batch_size", 2}, {"empty_refill_delay_seconds", 0}}; }
};

TEST_F(CallWalletTest, CallsNeverFetchTokensEvenWhenARefillIsDue) {
  ASSERT_EQ(fetches_->load(), 1);  // SetUp's background-style tick
  ASSERT_EQ(client_->tokens(), 2u);
  const std::string body = R"({"model":"tiny-llama","stream":true,"messages":[]})";
  for (int i = 0; i < 2; ++i) {
    Collect sink;
    auto report = client_->Chat(body, sink);
    ASSERT_TRUE(report.ok()) << report.error().message();
  }
  EXPECT_EQ(client_->tokens(), 0u);
  EXPECT_EQ(fetches_->load(), 1);
  // Empty, with the refill due now: the call still fetches nothing and says why it cannot spend.
  Collect sink;
  auto empty = client_->Chat(body, sink);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(empty.error().message().find("wallet: empty, no token to spend."), 0u) << empty.error().message();
  EXPECT_NE(empty.error().message().find("refills in the background"), std::string::npos) << empty.error().message();
  EXPECT_EQ(fetches_->load(), 1);
  EXPECT_EQ(infer_calls_, 2);
  // The refill was due: the background ticker's next tick performs it.
  auto added = client_->TickWallet();
  ASSERT_TRUE(added.ok()) << added.error().message();
  EXPECT_EQ(*added, 2u);
  EXPECT_EQ(fetches_->load(), 2);
}

class FirstUseTest : public CallTest {
 protected:
  FirstUseTest() {
    config_ = {{"token_batch_size", 3}, {"empty_refill_delay_seconds", 5}};
    prefill_ = false;
  }
};

// What `openpcc chat` does with an empty wallet: one fetch, then a random hold within
// empty_refill_delay during which nothing is spent, then exactly one spend and no other fetch.
TEST_F(FirstUseTest, AnEmptyWalletIsFilledOnceThenHeldBeforeTheFirstSpend) {
  ASSERT_EQ(client_->tokens(), 0u);
  auto first = client_->FillEmptyWallet();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->fetched, 3u);
  EXPECT_EQ(fetches_->load(), 1);
  EXPECT_GE(first->hold.count(), 0);
  EXPECT_LE(first->hold, std::chrono::milliseconds(5000));
  const std::string body = R"({"model":"tiny-llama","stream":true,"messages":[]})";
  if (first->hold > std::chrono::milliseconds(0)) {
    clock_.Advance(first->hold - std::chrono::milliseconds(1));
    Collect sink;
    auto held = client_->Chat(body, sink);
    ASSERT_FALSE(held.ok());
    EXPECT_EQ(held.error().message(),
              "wallet: the first batch is held for another 1 ms before its first spend, so that issuance and "
              "spending do not line up");
    EXPECT_EQ(infer_calls_, 0);
    EXPECT_EQ(client_->tokens(), 3u);
    clock_.Advance(std::chrono::milliseconds(1));
  }
  Collect sink;
  auto spent = client_->Chat(body, sink);
  ASSERT_TRUE(spent.ok()) << spent.error().message();
  EXPECT_EQ(infer_calls_, 1);
  EXPECT_EQ(tokens_seen_.size(), 1u);
  EXPECT_EQ(client_->tokens(), 2u);
  // A wallet holding tokens is never filled this way.
  auto again = client_->FillEmptyWallet();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->fetched, 0u);
  EXPECT_EQ(again->hold.count(), 0);
  EXPECT_EQ(fetches_->load(), 1);
}

// What `openpcc chat` does first, with tokens in the wallet: nothing at all reaches the issuer, not
// even a request for its keys (a new process has none cached), since that too would come from the
// user's address just before the first spend.
TEST_F(CallTest, FillingAWalletThatHoldsTokensContactsNoIssuer) {
  client_.reset();  // closing writes the reserve back to the wallet file
  ASSERT_NO_FATAL_FAILURE(StartClient());
  ASSERT_GT(client_->tokens(), 0u);
  const int keys_before = key_fetches_->load();
  const int fetches_before = fetches_->load();
  auto first = client_->FillEmptyWallet();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->fetched, 0u);
  EXPECT_EQ(key_fetches_->load(), keys_before);
  EXPECT_EQ(fetches_->load(), fetches_before);
}

// The hold is uniform within empty_refill_delay: over many first uses it is neither fixed nor
// beyond its bound.
TEST_F(FirstUseTest, TheHoldIsRandomWithinTheEmptyRefillDelay) {
  std::set<int64_t> holds;
  for (int i = 0; i < 8; ++i) {
    // Each round: fill the empty wallet, wait out the hold, spend all three tokens.
    auto first = client_->FillEmptyWallet();
    ASSERT_TRUE(first.ok()) << first.error().message();
    ASSERT_EQ(first->fetched, 3u);
    EXPECT_LE(first->hold, std::chrono::milliseconds(5000));
    holds.insert(first->hold.count());
    clock_.Advance(first->hold);
    for (int t = 0; t < 3; ++t) {
      Collect sink;
      ASSERT_TRUE(client_->Chat(R"({"model":"tiny-llama","stream":true,"messages":[]})", sink).ok());
    }
  }
  EXPECT_GT(holds.size(), 1u);
}

}  // namespace
}  // namespace openpcc::client
