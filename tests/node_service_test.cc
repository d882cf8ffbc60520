// The node's /v1/infer, /v1/attest and /healthz over loopback HTTP, with sealed requests built
// by the client-side sealing code and a counting test engine: every node check of DESIGN §2.2 is
// violated once and refused with its named error, with the engine never called.
#include "openpcc/services/node/node_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/net/server.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/http_date.h"
#include "support/sealed_client.h"

namespace openpcc::services::node {
namespace {

using namespace std::chrono_literals;
using testing::InnerCall;
using testing::SealedReply;

// Produces `tokens` pieces "t0 ", "t1 ", ... one every `gap`, counting Submit calls.
class CountingEngine final : public engine::Engine {
 public:
  CountingEngine(int tokens, std::chrono::milliseconds gap) : tokens_(tokens), gap_(gap) {
    info_.name = "test";
    info_.model = "test-model";
    info_.limits = {64, 4096};
  }
  ~CountingEngine() override {
    for (auto& t : threads_) t.join();
  }
  const engine::EngineInfo& info() const override { return info_; }
  Result<engine::Stream> Submit(engine::GenerationRequest request) override {
    ++calls;
    OPENPCC_RETURN_IF_ERROR(engine::ValidateRequest(request, info_));
    auto channel = std::make_shared<engine::StreamChannel>(calls.load(), 64);
    const int n = tokens_;
    const auto gap = gap_;
    threads_.emplace_back([channel, n, gap, this] {
      for (int i = 0; i < n; ++i) {
        if (channel->cancelled()) {
          ++cancelled;
          channel->Finish({engine::FinishReason::kCancelled, {}, std::nullopt});
          return;
        }
        std::this_thread::sleep_for(gap);
        channel->PushText(crypto::SecretString("t" + std::to_string(i) + " "));
        last_token_at = std::chrono::steady_clock::now();
      }
      channel->Finish({engine::FinishReason::kLength, {5, static_cast<uint32_t>(n)}, std::nullopt});
    });
    return engine::Stream(channel);
  }

  std::atomic<int> calls{0};
  std::atomic<int> cancelled{0};
  std::atomic<std::chrono::steady_clock::time_point> last_token_at{};

 private:
  engine::EngineInfo info_;
  int tokens_;
  std::chrono::milliseconds gap_;
  std::vector<std::thread> threads_;
};

const SysTime kStart = SysTime(std::chrono::sys_days(std::chrono::year_month_day(
    std::chrono::year(2025), std::chrono::month(3), std::chrono::day(1))));

std::string ChatBody(bool stream, std::string model = "test-model") {
  return "{\"model\":\"" + model + "\",\"stream\":" + (stream ? "true" : "false") +
         ",\"messages\":[{\"role\":\"user\",\"content\":\"hello node\"}]}";
}

class NodeServiceTest : public ::testing::Test {
 protected:
  void Start(NodeServiceOptions options = {}, int tokens = 8, std::chrono::milliseconds gap = 5ms) {
    engine_ = std::make_unique<CountingEngine>(tokens, gap);
    options.claims.models.push_back({"test-model", std::string(64, 'a')});
    service_ = std::make_unique<NodeService>(options, *engine_, keys_, collector_, clock_);
    ASSERT_TRUE(keys_.Tick(clock_.Now()).ok());
    net::ServerOptions server_options;
    server_options.port = 0;
    auto server = net::Server::Start(server_options, service_->MakeRouter());
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(server).value();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    auto client = net::BlockingClient::Create({});
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
  }
  void TearDown() override {
    if (server_) server_->Shutdown(2s);
  }

  wire::KeyConfig NodeConfig() { return keys_.Current(clock_.Now())->key.config; }
  std::string Now() { return FormatHttpDate(clock_.NowSeconds()); }

  testing::SealedCall SealFor(const InnerCall& call) {
    auto sealed = testing::Seal({testing::CandidateFor(NodeConfig())}, call);
    EXPECT_TRUE(sealed.ok()) << sealed.error().message();
    return std::move(sealed).value();
  }
  SealedReply Call(InnerCall call) {
    if (call.date.empty()) call.date = Now();
    return testing::Send(*client_, url_ + "/v1/infer", SealFor(call));
  }
  static std::string OuterCode(const SealedReply& reply) {
    auto v = boost::json::parse(reply.outer_body);
    return std::string(v.at("error").at("code").as_string());
  }
  static std::string OuterMessage(const SealedReply& reply) {
    auto v = boost::json::parse(reply.outer_body);
    return std::string(v.at("error").at("message").as_string());
  }
  static std::string InnerCode(const SealedReply& reply) {
    auto v = boost::json::parse(reply.inner_content);
    return std::string(v.at("error").at("code").as_string());
  }
  static std::string InnerMessage(const SealedReply& reply) {
    auto v = boost::json::parse(reply.inner_content);
    return std::string(v.at("error").at("message").as_string());
  }

  ManualClock clock_{kStart + 10min};
  KeyRing keys_{KeyRingOptions{}};
  UnattestedCollector collector_;
  std::unique_ptr<CountingEngine> engine_;
  std::unique_ptr<NodeService> service_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<net::BlockingClient> client_;
  std::string url_;
};

TEST_F(NodeServiceTest, StreamsSealedChunksAsTokensAreProduced) {
  Start({}, 10, 60ms);
  SealedReply reply = Call({.body = ChatBody(true), .date = ""});
  ASSERT_TRUE(reply.opened) << reply.error << " " << reply.outer_body;
  EXPECT_EQ(reply.http_status, 200u);
  EXPECT_EQ(reply.inner_status, 200u);
  EXPECT_NE(reply.inner_content.find("\"content\":\"t0 \""), std::string::npos);
  EXPECT_NE(reply.inner_content.find("\"content\":\"t9 \""), std::string::npos);
  EXPECT_NE(reply.inner_content.find("\"finish_reason\":\"length\""), std::string::npos);
  EXPECT_NE(reply.inner_content.find("data: [DONE]"), std::string::npos);
  // Streamed: the head and role chunk, then tokens one by one, then the final chunk.
  ASSERT_GE(reply.piece_times.size(), 5u);
  const auto first_token = reply.piece_times[1];
  EXPECT_LT(first_token + 300ms, engine_->last_token_at.load())
      << "the first token's chunk must arrive well before the last token is produced";
  for (size_t size : reply.sealed_chunk_plaintext_sizes) EXPECT_EQ(size % 256, 0u) << size;
  EXPECT_EQ(engine_->calls.load(), 1);
}

TEST_F(NodeServiceTest, AnswersWholeResponsesPaddedTo256) {
  Start();
  SealedReply reply = Call({.body = ChatBody(false), .date = ""});
  ASSERT_TRUE(reply.opened) << reply.error;
  EXPECT_EQ(reply.inner_status, 200u);
  auto v = boost::json::parse(reply.inner_content);
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(), "t0 t1 t2 t3 t4 t5 t6 t7 ");
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 8);
  for (size_t size : reply.sealed_chunk_plaintext_sizes) EXPECT_EQ(size % 256, 0u) << size;
}

TEST_F(NodeServiceTest, ListsItsModelInside) {
  Start();
  SealedReply reply = Call({.method = "GET", .path = "/v1/models", .body = "", .date = ""});
  ASSERT_TRUE(reply.opened) << reply.error;
  auto v = boost::json::parse(reply.inner_content);
  EXPECT_EQ(v.at("data").at(0).at("id").as_string(), "test-model");
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, RefusesATamperedHeader) {
  Start();
  testing::SealedCall sealed = SealFor({.body = ChatBody(true), .date = Now()});
  sealed.request[4 + 32] ^= 1;  // the body nonce, covered by the wrapped DEK's AAD
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(sealed));
  EXPECT_EQ(reply.http_status, 400u);
  EXPECT_EQ(OuterCode(reply), "sealed_request");
  EXPECT_NE(OuterMessage(reply).find("wrapped_dek does not open"), std::string::npos) << reply.outer_body;
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, RefusesATamperedBodyChunk) {
  Start();
  testing::SealedCall sealed = SealFor({.body = ChatBody(true), .date = Now()});
  sealed.request.back() ^= 1;  // the final chunk: the request digest no longer matches either
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(sealed));
  EXPECT_EQ(reply.http_status, 400u);
  EXPECT_EQ(OuterCode(reply), "sealed_request");
  EXPECT_NE(OuterMessage(reply).find("final chunk does not authenticate"), std::string::npos);
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, EditedOtherCandidateMakesTheClientRejectTheResponse) {
  Start();
  auto other = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
  ASSERT_TRUE(other.ok());
  wire::KeyConfig other_config = NodeConfig();
  other_config.key_id = 99;
  other_config.public_key = ToBytes(other->public_key());
  auto sealed = testing::Seal({testing::CandidateFor(NodeConfig()), testing::CandidateFor(other_config)},
                              {.body = ChatBody(false), .date = Now()});
  ASSERT_TRUE(sealed.ok());
  // The second candidate's wrapped DEK (the last bytes before the body) changes: the node cannot
  // tell, but request_digest changes, so the response key differs and the client refuses it.
  const size_t header = 4 + 2 * 32 + 12;
  const size_t candidate = 6 + 32 + 32 + 16;
  sealed->request[header + 2 * candidate - 1] ^= 1;
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(sealed).value());
  EXPECT_EQ(reply.http_status, 200u);
  EXPECT_FALSE(reply.opened);
  EXPECT_NE(reply.error.find("does not authenticate"), std::string::npos) << reply.error;
}

TEST_F(NodeServiceTest, RefusesAStaleDate) {
  Start();
  SealedReply reply = Call({.body = ChatBody(true), .date = FormatHttpDate(clock_.NowSeconds() - 61s)});
  ASSERT_TRUE(reply.opened) << reply.error;
  EXPECT_EQ(reply.inner_status, 400u);
  EXPECT_EQ(InnerCode(reply), "stale_date");
  EXPECT_NE(InnerMessage(reply).find("61 s from the node's clock"), std::string::npos);
  EXPECT_EQ(engine_->calls.load(), 0);
  // Within the window either way is accepted.
  SealedReply ok = Call({.body = ChatBody(false), .date = FormatHttpDate(clock_.NowSeconds() + 59s)});
  EXPECT_EQ(ok.inner_status, 200u);
}

TEST_F(NodeServiceTest, RefusesAMissingDate) {
  Start();
  SealedReply reply = Call({.body = ChatBody(true), .date = "-"});
  ASSERT_TRUE(reply.opened) << reply.error;
  EXPECT_EQ(InnerCode(reply), "missing_date");
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, RefusesAReplayedRequest) {
  Start();
  testing::SealedCall first = SealFor({.body = ChatBody(false), .date = Now()});
  Bytes copy = first.request;
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(first));
  ASSERT_TRUE(reply.opened);
  EXPECT_EQ(engine_->calls.load(), 1);
  testing::SealedCall again = SealFor({.body = ChatBody(false), .date = Now()});
  again.request = copy;
  SealedReply replayed = testing::Send(*client_, url_ + "/v1/infer", std::move(again));
  EXPECT_EQ(replayed.http_status, 409u);
  EXPECT_EQ(OuterCode(replayed), "replay");
  EXPECT_NE(OuterMessage(replayed).find("already received"), std::string::npos);
  EXPECT_EQ(engine_->calls.load(), 1);
}

TEST_F(NodeServiceTest, RefusesAnUnknownNodeKey) {
  Start();
  auto other = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
  ASSERT_TRUE(other.ok());
  wire::KeyConfig config = NodeConfig();
  config.public_key = ToBytes(other->public_key());
  auto sealed = testing::Seal({testing::CandidateFor(config)}, {.body = ChatBody(true), .date = Now()});
  ASSERT_TRUE(sealed.ok());
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(sealed).value());
  EXPECT_EQ(reply.http_status, 421u);
  EXPECT_EQ(OuterCode(reply), "unknown_node");
  EXPECT_NE(OuterMessage(reply).find("no candidate is this node"), std::string::npos);
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, KeyIsErasedAfterItsGracePeriod) {
  Start();
  const wire::KeyConfig old_config = NodeConfig();
  const EpochKeyInfo old_key = *keys_.Current(clock_.Now());
  // Into the grace period: the old key still opens requests.
  clock_.Set(old_key.not_after + 4min);
  ASSERT_TRUE(keys_.Tick(clock_.Now()).ok());
  auto in_grace = testing::Seal({testing::CandidateFor(old_config)}, {.body = ChatBody(false), .date = Now()});
  ASSERT_TRUE(in_grace.ok());
  EXPECT_TRUE(testing::Send(*client_, url_ + "/v1/infer", std::move(in_grace).value()).opened);
  // Past it: erased.
  clock_.Set(old_key.not_after + 5min);
  ASSERT_TRUE(keys_.Tick(clock_.Now()).ok());
  EXPECT_FALSE(keys_.Find(old_key.key.node_id).has_value());
  auto late = testing::Seal({testing::CandidateFor(old_config)}, {.body = ChatBody(false), .date = Now()});
  ASSERT_TRUE(late.ok());
  SealedReply reply = testing::Send(*client_, url_ + "/v1/infer", std::move(late).value());
  EXPECT_EQ(reply.http_status, 421u);
  EXPECT_EQ(OuterCode(reply), "unknown_node");
  EXPECT_EQ(engine_->calls.load(), 1);
}

TEST_F(NodeServiceTest, RefusesAnOversizedRequest) {
  NodeServiceOptions options;
  options.max_request_bytes = 8 * 1024;
  Start(options);
  const std::string big = "{\"model\":\"test-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" +
                          std::string(16 * 1024, 'x') + "\"}]}";
  SealedReply reply = Call({.body = big, .date = ""});
  EXPECT_EQ(reply.http_status, 413u);
  EXPECT_EQ(OuterCode(reply), "request_size");
  EXPECT_NE(OuterMessage(reply).find("exceeds the limit"), std::string::npos) << reply.outer_body;
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, RefusesAModelItDoesNotServe) {
  Start();
  SealedReply reply = Call({.body = ChatBody(true, "secret-model-name"), .date = ""});
  ASSERT_TRUE(reply.opened) << reply.error;
  EXPECT_EQ(reply.inner_status, 404u);
  EXPECT_EQ(InnerCode(reply), "model_not_found");
  EXPECT_EQ(reply.inner_content.find("secret-model-name"), std::string::npos);
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, RefusesRequestsBeyondTheConcurrencyLimit) {
  NodeServiceOptions options;
  options.max_concurrent = 1;
  Start(options, 20, 50ms);
  std::thread slow([&] { Call({.body = ChatBody(true), .date = ""}); });
  while (service_->in_flight() == 0) std::this_thread::sleep_for(5ms);
  auto second_client = net::BlockingClient::Create({});
  ASSERT_TRUE(second_client.ok());
  InnerCall call{.body = ChatBody(true), .date = Now()};
  SealedReply reply = testing::Send(**second_client, url_ + "/v1/infer", SealFor(call));
  EXPECT_EQ(reply.http_status, 503u);
  EXPECT_EQ(OuterCode(reply), "node_busy");
  slow.join();
  EXPECT_EQ(engine_->calls.load(), 1);
}

TEST_F(NodeServiceTest, RefusesOtherMediaTypes) {
  Start();
  auto response = client_->Fetch(net::ClientRequest("POST", url_ + "/v1/infer",
                                                    {{"Content-Type", "application/json"}}),
                                 "{}", 4096);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 415u);
  EXPECT_EQ(engine_->calls.load(), 0);
}

TEST_F(NodeServiceTest, CancelsTheEngineWhenTheClientGoesAway) {
  Start({}, 200, 20ms);
  testing::SealedCall sealed = SealFor({.body = ChatBody(true), .date = Now()});
  int chunks = 0;
  auto head = client_->FetchStreaming(
      net::ClientRequest("POST", url_ + "/v1/infer",
                         {{"Content-Type", std::string(wire::kSealedRequestMediaType)}}),
      AsChars(sealed.request), [&](std::string_view) -> Status {
        if (++chunks == 3) return Error(ErrorCode::kFailedPrecondition, "test: hang up");
        return OkStatus();
      });
  EXPECT_FALSE(head.ok());
  for (int i = 0; i < 200 && engine_->cancelled.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine_->cancelled.load(), 1);
}

TEST_F(NodeServiceTest, AttestsOverTheCallersNonce) {
  Start();
  Bytes nonce(32);
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(i * 7);
  const std::string body = "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\"}";
  auto response = client_->Fetch(net::ClientRequest("POST", url_ + "/v1/attest"), body, 1 << 20);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200u) << response->body;
  auto bundle = attest::ParseBundle(response->body);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(bundle->freshness.binding.kind, attest::FreshnessKind::kClientNonce);
  EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), bundle->freshness.binding.value.begin()));
  auto expected = bundle->ExpectedReportData();
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(bundle->cpu_evidence.at("report"), *expected);
  EXPECT_EQ(bundle->claims.models.at(0).name, "test-model");
  EXPECT_EQ(*wire::ParseKeyConfig(bundle->key_config), NodeConfig());

  auto short_nonce = client_->Fetch(net::ClientRequest("POST", url_ + "/v1/attest"),
                                    "{\"nonce\":\"AAAA\"}", 4096);
  ASSERT_TRUE(short_nonce.ok());
  EXPECT_EQ(short_nonce->status, 400u);
}

TEST_F(NodeServiceTest, ServesHealthAndNothingElse) {
  Start();
  auto health = client_->Fetch(net::ClientRequest("GET", url_ + "/healthz"), "", 4096);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200u);
  auto other = client_->Fetch(net::ClientRequest("GET", url_ + "/debug"), "", 4096);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 404u);
}

// ---- Library pieces: key ring, replay table, Date ----

TEST(KeyRingTest, PreparesTheNextKeyAheadAndErasesAfterGrace) {
  KeyRing ring(KeyRingOptions{});
  const SysTime t0 = kStart + 10min;
  ASSERT_TRUE(ring.Tick(t0).ok());
  ASSERT_EQ(ring.Keys().size(), 1u);
  const uint64_t e = ring.EpochAt(t0);
  EXPECT_EQ(ring.Keys()[0].epoch, e);
  EXPECT_EQ(ring.Keys()[0].key.config.key_id, e % 256);
  // 10 minutes before the boundary the next key exists, and both open requests.
  auto changed = ring.Tick(ring.EpochStart(e + 1) - 10min);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(ring.Keys().size(), 2u);
  EXPECT_EQ(ring.OpeningKeys(ring.EpochStart(e + 1) - 1min).size(), 2u);
  EXPECT_NE(ring.Keys()[0].key.node_id, ring.Keys()[1].key.node_id);
  // After the boundary plus grace the old key is gone.
  ASSERT_TRUE(ring.Tick(ring.EpochStart(e + 1) + 5min).ok());
  ASSERT_EQ(ring.Keys().size(), 1u);
  EXPECT_EQ(ring.Keys()[0].epoch, e + 1);
  EXPECT_EQ(ring.Current(ring.EpochStart(e + 1) + 5min)->epoch, e + 1);
}

TEST(ReplayTableTest, RefusesSeenEncUntilItExpiresAndWhenFull) {
  ReplayTable table(2, 120s);
  const Bytes a = {1, 2, 3}, b = {4, 5, 6}, c = {7, 8, 9};
  EXPECT_TRUE(table.Insert(a, kStart).ok());
  Status again = table.Insert(a, kStart + 119s);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kReplay);
  EXPECT_TRUE(table.Insert(b, kStart + 1s).ok());
  Status full = table.Insert(c, kStart + 2s);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message().find("full"), std::string::npos);
  EXPECT_TRUE(table.Insert(c, kStart + 120s).ok());  // a expired, c fits
}

TEST(HttpDateTest, FormatsAndParsesImfFixdate) {
  const auto t = std::chrono::sys_days(std::chrono::year(1994) / 11 / 6) + 8h + 49min + 37s;
  EXPECT_EQ(FormatHttpDate(t), "Sun, 06 Nov 1994 08:49:37 GMT");
  auto parsed = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, t);
  EXPECT_FALSE(ParseHttpDate("Mon, 06 Nov 1994 08:49:37 GMT").ok());  // wrong day name
  EXPECT_FALSE(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").ok());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT").ok());
}

}  // namespace
}  // namespace openpcc::services::node
