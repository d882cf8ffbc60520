// client/client.h: the configuration file (strict, paths relative to it), and the facade's
// bootstrap through real OHTTP to an in-process gateway that serves a real signed and logged
// directory with sim bundles and the log's entry tiles: every trust check passes and is reported,
// the log's growth is proven consistent from the entries read, a log whose entries do not match
// its checkpoint and a directory below N_min are refused by name, and a call with an empty wallet
// stops before the gateway. Time comes from a ManualClock.
#include <gtest/gtest.h>

#include <fstream>

#include "client_trust_test_util.h"
#include "openpcc/client/client.h"
#include "openpcc/tlog/tiles.h"
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

}  // namespace
}  // namespace openpcc::client
