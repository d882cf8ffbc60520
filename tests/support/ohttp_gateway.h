// tests/support/ohttp_gateway.h — a small OHTTP gateway for client tests, in the test process on
// 127.0.0.1: serves GET /ohttp-keys and POST /gateway (message/ohttp-req and chunked
// message/ohttp-chunked-req) with wire/ohttp.h and wire/bhttp.h, and answers each decoded inner
// request through a test-supplied handler. Chunked answers send each content piece as its own
// OHTTP chunk and can be cut before the final chunk (a gateway dying mid-stream).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "openpcc/net/server.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/ohttp.h"

namespace openpcc::testing {

struct GatewayInnerRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;
  std::string header(std::string_view name) const;
};

struct GatewayInnerReply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> pieces;  // content, one OHTTP chunk each when chunked
  bool cut_before_final = false;    // chunked: abort the outer stream before the final chunk
  unsigned outer_status = 200;      // non-200: answer in the clear with this status instead
  bool tamper = false;              // flip one bit of the (first) encrypted response chunk
};

class OhttpTestGateway {
 public:
  using Handler = std::function<GatewayInnerReply(const GatewayInnerRequest&)>;
  explicit OhttpTestGateway(Handler handler);
  ~OhttpTestGateway();

  std::string url(std::string_view path = "/gateway") const;
  const wire::KeyConfig& config() const { return keys_[0].config; }
  // What GET /ohttp-keys serves (default: this gateway's one config).
  void ServeConfigs(const std::vector<wire::KeyConfig>& configs);
  int requests() const { return requests_; }

 private:
  Handler handler_;
  std::vector<wire::GatewayKey> keys_;
  mutable std::mutex mu_;
  Bytes served_;
  std::atomic<int> requests_{0};
  std::unique_ptr<net::Server> server_;
};

// A fresh X25519 gateway key with the suites HKDF-SHA256 + AES-128-GCM and + ChaCha20-Poly1305.
wire::GatewayKey MakeGatewayKey(uint8_t key_id);

}  // namespace openpcc::testing
