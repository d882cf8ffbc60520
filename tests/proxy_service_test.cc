// services/proxy: the OpenAI-compatible proxy over loopback against an in-process fake of the
// client library (client::InferenceClient): whole and streamed answers, [DONE] only after the
// authenticated end, `event: error` on truncation, OpenAI error JSON for each failure class, the
// verification headers and endpoint, and refusal of web origins. The full path (real gateway,
// relay, nodes) is the integrator's end-to-end test.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/services/proxy/proxy_service.h"

namespace openpcc::services {
namespace {

namespace json = boost::json;

client::VerificationReport Report() {
  client::VerificationReport r;
  r.model = "tiny-llama";
  r.node_id = Bytes(32, 0xab);
  r.platform = "sim";
  r.simulated = true;
  r.measurement = Bytes(48, 0x5a);
  r.release_id = std::string(64, 'c');
  r.release_version = "1.0.0";
  r.release_log_index = 4;
  r.directory_epoch = 9;
  r.freshness_not_before = std::chrono::sys_seconds(std::chrono::seconds(1000));
  r.verified_at = std::chrono::sys_seconds(std::chrono::seconds(1042));
  return r;
}

class FakeClient final : public client::InferenceClient {
 public:
  Result<client::VerificationReport> Call(const client::EngineRequest& request, client::AnswerSink& sink) override {
    const std::string& body = request.body;
    if (body.find("fail-trust") != std::string::npos) {
      return Error(ErrorCode::kAuthenticationFailed, "directory signature: ed25519: signature does not verify");
    }
    if (body.find("fail-wallet") != std::string::npos) {
      return Error(ErrorCode::kFailedPrecondition, "wallet: no usable token; next refill in 30 s");
    }
    OPENPCC_RETURN_IF_ERROR(sink.OnVerified(Report()));
    const bool stream = body.find("\"stream\":true") != std::string::npos;
    client::InnerResponseHead head;
    head.status = 200;
    head.headers = {{"content-type", stream ? "text/event-stream" : "application/json"}};
    OPENPCC_RETURN_IF_ERROR(sink.OnHead(head));
    if (!stream) {
      OPENPCC_RETURN_IF_ERROR(sink.OnContent(AsBytes(R"({"object":"chat.completion",)")));
      OPENPCC_RETURN_IF_ERROR(sink.OnContent(AsBytes(R"("path":")" + request.path + R"("})")));
    } else {
      OPENPCC_RETURN_IF_ERROR(sink.OnContent(AsBytes("data: {\"n\":1}\n\ndata: {\"n\"")));
      OPENPCC_RETURN_IF_ERROR(sink.OnContent(AsBytes(":2}\n\n")));
      if (body.find("truncate") != std::string::npos) {
        return Error(ErrorCode::kIncomplete, "sealed response: the stream ended before its final chunk");
      }
      OPENPCC_RETURN_IF_ERROR(sink.OnContent(AsBytes("data: [DONE]\n\n")));
    }
    std::lock_guard lock(mu_);
    last_ = Report();
    return *last_;
  }
  Result<std::string> Models() override {
    return std::string(R"({"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"openpcc"}]})");
  }
  std::optional<client::VerificationReport> LastVerification() const override {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<client::VerificationReport> last_;
};

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<ProxyService>(fake_, ProxyConfig{});
    auto server = net::Server::Start(net::ServerOptions{}, service_->Routes());
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    http_ = std::move(net::BlockingClient::Create({})).value();
  }
  void TearDown() override {
    server_.reset();
    service_->Stop();
  }
  net::ClientResponse Post(std::string_view path, std::string_view body, net::Headers headers = {}) {
    headers.emplace_back("content-type", "application/json");
    net::ClientRequest request("POST", Url(path), headers);
    auto r = http_->Fetch(request, body, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : net::ClientResponse{};
  }
  net::ClientResponse Get(std::string_view path) {
    net::ClientRequest request("GET", Url(path));
    auto r = http_->Fetch(request, "", 1 << 20);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : net::ClientResponse{};
  }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  static std::string ErrorCodeOf(const net::ClientResponse& r) {
    json::value v = json::parse(r.body);
    return std::string(v.at("error").at("code").as_string());
  }

  FakeClient fake_;
  std::unique_ptr<ProxyService> service_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<net::BlockingClient> http_;
};

TEST_F(ProxyTest, WholeAnswerWithVerificationHeaders) {
  net::ClientResponse r = Post("/v1/chat/completions", R"({"model":"tiny-llama","messages":[]})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"object":"chat.completion","path":"/v1/chat/completions"})");
  EXPECT_EQ(r.header("openpcc-node-platform").value_or(""), "sim (simulated)");
  EXPECT_EQ(r.header("openpcc-node-measurement").value_or(""), HexEncode(Bytes(48, 0x5a)));
  EXPECT_EQ(r.header("openpcc-node-release").value_or(""), "1.0.0 " + std::string(64, 'c'));
  EXPECT_EQ(r.header("openpcc-node-log-index").value_or(""), "4");
  EXPECT_EQ(r.header("openpcc-node-freshness").value_or(""), "42s");
  net::ClientResponse c = Post("/v1/completions", R"({"model":"tiny-llama","prompt":"x"})");
  EXPECT_EQ(c.body, R"({"object":"chat.completion","path":"/v1/completions"})");
}

TEST_F(ProxyTest, StreamEndsWithDoneOnlyAfterTheAuthenticatedEnd) {
  net::ClientResponse r = Post("/v1/chat/completions", R"({"model":"tiny-llama","stream":true,"messages":[]})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type").value_or(""), "text/event-stream");
  EXPECT_EQ(r.body, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n");
}

TEST_F(ProxyTest, TruncatedStreamEndsWithAnErrorEventAndNoDone) {
  net::ClientResponse r =
      Post("/v1/chat/completions", R"({"model":"tiny-llama","stream":true,"messages":[],"user":"truncate"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.find("data: [DONE]"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("data: {\"n\":1}\n\ndata: {\"n\":2}\n\nevent: error\ndata: "), 0u) << r.body;
  EXPECT_NE(r.body.find("truncated_response"), std::string::npos) << r.body;
}

TEST_F(ProxyTest, FailuresAreOpenAiErrorsNamingTheCheck) {
  net::ClientResponse bad = Post("/v1/chat/completions", "not json");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(ErrorCodeOf(bad), "invalid_request");
  net::ClientResponse no_model = Post("/v1/chat/completions", R"({"messages":[]})");
  EXPECT_EQ(no_model.status, 400u);
  EXPECT_NE(no_model.body.find("model"), std::string::npos);
  net::ClientResponse trust = Post("/v1/chat/completions", R"({"model":"m","user":"fail-trust"})");
  EXPECT_EQ(trust.status, 502u);
  EXPECT_EQ(ErrorCodeOf(trust), "confidential_path_failed");
  EXPECT_NE(trust.body.find("directory signature: "), std::string::npos) << trust.body;
  net::ClientResponse wallet = Post("/v1/chat/completions", R"({"model":"m","user":"fail-wallet"})");
  EXPECT_EQ(wallet.status, 503u);
  EXPECT_EQ(ErrorCodeOf(wallet), "tokens_unavailable");
}

TEST_F(ProxyTest, WebOriginsAreRefused) {
  net::ClientResponse r =
      Post("/v1/chat/completions", R"({"model":"tiny-llama"})", {{"origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(ErrorCodeOf(r), "forbidden_origin");
}

TEST_F(ProxyTest, ModelsAndTheVerificationEndpoint) {
  net::ClientResponse models = Get("/v1/models");
  EXPECT_EQ(models.status, 200u);
  EXPECT_NE(models.body.find("tiny-llama"), std::string::npos);
  net::ClientResponse none = Get("/v1/openpcc/verification");
  EXPECT_EQ(none.status, 404u);
  EXPECT_EQ(ErrorCodeOf(none), "no_verification");
  Post("/v1/chat/completions", R"({"model":"tiny-llama","messages":[]})");
  net::ClientResponse v = Get("/v1/openpcc/verification");
  ASSERT_EQ(v.status, 200u);
  json::value report = json::parse(v.body);
  EXPECT_EQ(report.at("platform").as_string(), "sim");
  EXPECT_EQ(report.at("freshness").at("age_seconds").as_int64(), 42);
}

}  // namespace
}  // namespace openpcc::services
