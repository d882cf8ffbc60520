// A Node.js OHTTP client (tests/interop/ohttp_client.mjs: @hpke/core, WebCrypto, bhttp-js — not our
// code) fetches the gateway's key configuration through the real `openpcc relay`, sends
// `GET /v1/models` and a POST through it, and decrypts the answers of a small gateway built here
// on wire/ohttp.h and wire/bhttp.h. A tampered request is refused by the gateway and the refusal
// reaches the client through the relay.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "openpcc/crypto/kem.h"
#include "openpcc/net/server.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/ohttp.h"
#include "support/node.h"
#include "support/relay_process.h"

namespace openpcc {
namespace {

namespace json = boost::json;
using net::Awaitable;

std::string Str(const crypto::SecretString& s) { return std::string(s.data(), s.size()); }

class OhttpTestGateway {
 public:
  OhttpTestGateway() {
    Result<crypto::SoftwareDhKey> key = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
    EXPECT_TRUE(key.ok());
    wire::KeyConfig config;
    config.key_id = 0x2a;
    config.kem = crypto::KemId::kX25519HkdfSha256;
    config.public_key = ToBytes(key->public_key());
    config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};
    keys_.push_back(wire::GatewayKey{config, std::make_shared<crypto::SoftwareDhKey>(std::move(key).value())});
    keys_list_ = *wire::EncodeKeyConfigList({config});

    net::Router router;
    router.Handle("GET", "/ohttp-keys", [this](net::Request&, net::Response& res) -> Awaitable<void> {
      const std::string_view body = AsChars(keys_list_);
      (void)co_await res.Send(200, body, "application/ohttp-keys");
    });
    router.Handle("POST", "/gateway", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
      Result<std::string> body = co_await req.ReadAll(1 << 20);
      if (!body.ok()) co_return;
      if (req.header("user-agent")) saw_user_agent = true;
      const ByteView encapsulated(reinterpret_cast<const uint8_t*>(body->data()), body->size());
      Result<wire::OhttpGatewayRequest> opened = wire::DecapsulateRequest(keys_, encapsulated);
      if (!opened.ok()) {
        refusals++;
        const std::string message = opened.error().message();
        (void)co_await res.SendError(400, "bad_ohttp_request", message);
        co_return;
      }
      Result<wire::bhttp::Request> inner = wire::bhttp::DecodeRequest(opened->request.view());
      if (!inner.ok()) {
        (void)co_await res.SendError(400, "bad_bhttp_request", inner.error().message());
        co_return;
      }
      wire::bhttp::Response response;
      response.status = 200;
      response.headers.push_back({wire::bhttp::Text("content-type"), wire::bhttp::Text("application/json")});
      std::string text;
      if (Str(inner->method) == "GET" && Str(inner->path) == "/v1/models") {
        text = R"({"object":"list","data":[{"id":"tiny-test","object":"model"}]})";
      } else {
        text = R"({"echo":")" + Str(inner->method) + " " + Str(inner->path) + " " +
               std::string(reinterpret_cast<const char*>(inner->content.data()), inner->content.size()) +
               R"("})";
      }
      response.content.assign(text.begin(), text.end());
      Result<crypto::SecretVector> encoded = wire::bhttp::EncodeResponse(response);
      Result<Bytes> sealed = opened->context.SealResponse(ByteView(encoded->data(), encoded->size()));
      if (!sealed.ok()) co_return;
      const std::string_view out = AsChars(*sealed);
      (void)co_await res.Send(200, out, "message/ohttp-res");
    });
    Result<std::unique_ptr<net::Server>> server = net::Server::Start(net::ServerOptions{}, std::move(router));
    EXPECT_TRUE(server.ok());
    server_ = std::move(server).value();
  }

  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }

  std::atomic<int> refusals{0};
  std::atomic<bool> saw_user_agent{false};

 private:
  std::vector<wire::GatewayKey> keys_;
  Bytes keys_list_;
  std::unique_ptr<net::Server> server_;
};

TEST(RelayInterop, NodeOhttpClientThroughTheRelayToAGateway) {
  OhttpTestGateway gateway;
  testing::RelayProcess relay(gateway.Url("/gateway"));
  ASSERT_TRUE(relay.Start());
  json::object input{
      {"relay", relay.url()},
      {"requests", json::array{
                       json::object{{"method", "GET"}, {"url", "https://gateway.internal/v1/models"}},
                       json::object{{"method", "POST"},
                                    {"url", "https://gateway.internal/v1/echo"},
                                    {"body", "hello"}},
                       json::object{{"method", "GET"},
                                    {"url", "https://gateway.internal/v1/models"},
                                    {"tamper", true}},
                   }}};
  json::value out = testing::RunNodePeer("ohttp_client.mjs", input);
  ASSERT_TRUE(out.is_object()) << json::serialize(out);
  EXPECT_EQ(out.at("key_id").as_int64(), 0x2a);
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);

  const json::object& models = results[0].as_object();
  EXPECT_EQ(models.at("outer_status").as_int64(), 200);
  EXPECT_EQ(models.at("status").as_int64(), 200);
  json::value listed = json::parse(models.at("body").as_string());
  EXPECT_EQ(listed.at("data").as_array()[0].at("id").as_string(), "tiny-test");

  const json::object& echo = results[1].as_object();
  EXPECT_EQ(echo.at("status").as_int64(), 200);
  EXPECT_EQ(echo.at("body").as_string(), R"({"echo":"POST /v1/echo hello"})");

  // The tampered request: the gateway's refusal (its AEAD check) comes back through the relay.
  const json::object& tampered = results[2].as_object();
  EXPECT_EQ(tampered.at("outer_status").as_int64(), 400);
  EXPECT_NE(std::string(tampered.at("outer_body").as_string()).find("bad_ohttp_request"),
            std::string::npos);
  EXPECT_EQ(gateway.refusals.load(), 1);
  EXPECT_FALSE(gateway.saw_user_agent.load()) << "Node's fetch User-Agent reached the gateway";
}

}  // namespace
}  // namespace openpcc
