// client/ohttp_transport: whole and chunked OHTTP through the real `openpcc relay` to a test
// gateway on loopback (real HPKE, real BHTTP); each failure names its hop or check: an unreachable
// relay, an outer refusal with its code, a response that does not authenticate, a stream cut
// before its final chunk, a config without the transport's suite, and the sink's own error.
#include "openpcc/client/ohttp_transport.h"

#include <gtest/gtest.h>

#include <atomic>

#include "support/ohttp_gateway.h"
#include "support/relay_process.h"

namespace openpcc::client {
namespace {

using testing::GatewayInnerReply;
using testing::GatewayInnerRequest;
using testing::OhttpTestGateway;

class Collect final : public ResponseSink {
 public:
  Status OnHead(const InnerResponseHead& h) override {
    head = h;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    ++pieces;
    if (fail_after && pieces >= fail_after) return Error(ErrorCode::kFailedPrecondition, "sink: stop");
    return OkStatus();
  }
  InnerResponseHead head;
  std::string body;
  int pieces = 0;
  int fail_after = 0;
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<OhttpTestGateway>([this](const GatewayInnerRequest& r) {
      seen_ = r;
      return reply_;
    });
    relay_ = std::make_unique<testing::RelayProcess>(gateway_->url("/gateway"));
    ASSERT_TRUE(relay_->Start());
    TransportConfig config;
    config.relay_url = relay_->url() + "/";
    auto transport = OhttpTransport::Create(config);
    ASSERT_TRUE(transport.ok()) << transport.error().ToString();
    transport_ = std::move(transport).value();
  }

  GatewayInnerReply reply_;
  GatewayInnerRequest seen_;
  std::unique_ptr<OhttpTestGateway> gateway_;
  std::unique_ptr<testing::RelayProcess> relay_;
  std::unique_ptr<OhttpTransport> transport_;
};

TEST_F(TransportTest, RoundTripsAWholeRequestThroughTheRelay) {
  reply_.headers = {{"content-type", "application/json"}};
  reply_.pieces = {R"({"data":[{"id":"tiny"}]})"};
  InnerRequest request;  // GET /v1/models
  request.headers = {{"date", "Tue, 14 Nov 2023 22:13:20 GMT"}};
  Result<InnerResponse> r = transport_->RoundTrip(gateway_->config(), request);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r->body, R"({"data":[{"id":"tiny"}]})");
  EXPECT_EQ(seen_.method, "GET");
  EXPECT_EQ(seen_.path, "/v1/models");
  EXPECT_EQ(seen_.header("date"), "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_FALSE(seen_.chunked);
}

TEST_F(TransportTest, StreamsAChunkedResponseToTheSink) {
  reply_.headers = {{"content-type", "text/event-stream"}};
  reply_.pieces = {"data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"};
  InnerRequest request;
  request.method = "POST";
  request.path = "/v1/infer";
  request.body = std::string(3000, 's');
  Collect sink;
  Status s = transport_->Stream(gateway_->config(), request, sink);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(sink.head.status, 200u);
  EXPECT_EQ(sink.body, "data: one\n\ndata: two\n\ndata: [DONE]\n\n");
  EXPECT_TRUE(seen_.chunked);
  EXPECT_EQ(seen_.body, std::string(3000, 's'));
}

TEST_F(TransportTest, AStreamCutBeforeItsFinalChunkIsTruncatedNotShort) {
  reply_.pieces = {"data: one\n\n", "data: two\n\n"};
  reply_.cut_before_final = true;
  Collect sink;
  Status s = transport_->Stream(gateway_->config(), InnerRequest{}, sink);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kIncomplete) << s.error().ToString();
  EXPECT_NE(s.error().message().find("gateway response: the stream ended before its authenticated final chunk"),
            std::string::npos)
      << s.error().message();
}

TEST_F(TransportTest, AResponseThatDoesNotAuthenticateNamesTheGatewayResponse) {
  reply_.pieces = {"x"};
  reply_.tamper = true;
  Result<InnerResponse> whole = transport_->RoundTrip(gateway_->config(), InnerRequest{});
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.error().code(), ErrorCode::kAuthenticationFailed) << whole.error().ToString();
  EXPECT_EQ(whole.error().message().rfind("gateway response: ", 0), 0u) << whole.error().message();

  Collect sink;
  Status streamed = transport_->Stream(gateway_->config(), InnerRequest{}, sink);
  ASSERT_FALSE(streamed.ok());
  EXPECT_EQ(streamed.error().code(), ErrorCode::kAuthenticationFailed) << streamed.error().ToString();
  EXPECT_EQ(streamed.error().message().rfind("gateway response: ", 0), 0u);
  EXPECT_TRUE(sink.body.empty());
  EXPECT_EQ(sink.head.status, 0u) << "a head reached the sink from an unauthenticated chunk";
}

TEST_F(TransportTest, AnOuterRefusalNamesTheRelayHopAndItsCode) {
  reply_.outer_status = 429;
  Result<InnerResponse> r = transport_->RoundTrip(gateway_->config(), InnerRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind("relay hop: HTTP 429 (test_refusal)", 0), 0u) << r.error().message();

  Collect sink;
  Status s = transport_->Stream(gateway_->config(), InnerRequest{}, sink);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().rfind("relay hop: HTTP 429 (test_refusal)", 0), 0u) << s.error().message();
}

TEST_F(TransportTest, AConfigTheGatewayDoesNotHoldIsRefusedByTheGateway) {
  wire::KeyConfig other = testing::MakeGatewayKey(gateway_->config().key_id).config;
  Result<InnerResponse> r = transport_->RoundTrip(other, InnerRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind("relay hop: HTTP 400 (bad_ohttp_request)", 0), 0u) << r.error().message();
}

TEST_F(TransportTest, RefusesAConfigWithoutTheTransportSuite) {
  wire::KeyConfig config = gateway_->config();
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
  Result<InnerResponse> r = transport_->RoundTrip(config, InnerRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(gateway_->requests(), 0);
}

TEST_F(TransportTest, TheSinksOwnErrorStopsTheStreamUnchanged) {
  reply_.pieces = {"a", "b", "c"};
  Collect sink;
  sink.fail_after = 1;
  Status s = transport_->Stream(gateway_->config(), InnerRequest{}, sink);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "sink: stop");
}

TEST(Transport, AnUnreachableRelayNamesTheRelayHop) {
  uint16_t port = 0;
  {
    auto server = net::Server::Start(net::ServerOptions{}, net::Router{});
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }
  TransportConfig config;
  config.relay_url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto transport = OhttpTransport::Create(config);
  ASSERT_TRUE(transport.ok());
  Result<InnerResponse> r = (*transport)->RoundTrip(testing::MakeGatewayKey(1).config, InnerRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind("relay hop: ", 0), 0u) << r.error().message();
}

}  // namespace
}  // namespace openpcc::client
