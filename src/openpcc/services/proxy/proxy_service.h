// services/proxy/proxy_service.h — `openpcc proxy`: a local OpenAI-compatible server (DESIGN §4,
// 127.0.0.1:7600) that sends every request through the confidential path (client/client.h), so any
// application that speaks the OpenAI API gets confidential inference by changing its base URL.
//
//   POST /v1/chat/completions, POST /v1/completions
//       The body (OpenAI JSON naming a model) is sealed end to end to the node; the node's answer
//       is passed back as the engine produced it. Without "stream": the whole answer, sent only
//       once it authenticated (status, body and Content-Type the engine's). With "stream": true,
//       server-sent events exactly as OpenAI sends them — each `data: {...}` event forwarded as its
//       sealed chunk authenticates, and `data: [DONE]` written by the proxy only after the final
//       chunk authenticated (the node's own [DONE] is not forwarded early). A stream that ends
//       without its authenticated final chunk ends with `event: error` carrying OpenAI error JSON,
//       and without [DONE].
//   GET /v1/models                  the gateway's model list (through OHTTP).
//   GET /v1/openpcc/verification    how the last answering node was verified (VerificationReport
//                                   JSON); 404 `no_verification` before the first answer.
//
// Every answer from a node carries, in its response headers, how that node was verified:
//   OpenPCC-Node-Id, OpenPCC-Node-Platform ("sim" shows as "sim (simulated)"),
//   OpenPCC-Node-Measurement (hex), OpenPCC-Node-Release (version and hex id),
//   OpenPCC-Node-Log-Index (the release's log index), OpenPCC-Directory-Epoch,
//   OpenPCC-Node-Freshness (age in seconds of the node's evidence freshness checkpoint).
//
// Errors are OpenAI error JSON: 400 `invalid_request` (bad JSON, no model), 413 (body limit),
// 403 `forbidden_origin` (any request with an Origin header, or a Host that is not loopback: a web
// page must not spend the user's tokens through the proxy), 503 `tokens_unavailable` (the wallet
// is empty; the message says when it refills), 502 `confidential_path_failed` (anything else on
// the path: keys, directory trust, the relay, the gateway, the node — the message names the check).
//
// Calls block (the client library is synchronous), so they run on a WorkQueue of their own and
// stream back through a ChunkChannel; a client that goes away cancels the channel and the call.
//
// Thread safety: Routes before the server starts; handlers run concurrently; Stop after the server
// stopped and before destruction.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openpcc/client/client.h"
#include "openpcc/net/router.h"
#include "openpcc/services/work_queue.h"

namespace openpcc::services {

inline constexpr std::string_view kProxyVerificationPath = "/v1/openpcc/verification";

struct ProxyConfig {
  size_t workers = 32;                    // calls served at once
  size_t max_request_bytes = 1024 * 1024;  // an OpenAI request body
  size_t max_answer_bytes = 16 * 1024 * 1024;  // a non-streamed answer held before it is sent
  std::chrono::milliseconds push_timeout{300'000};  // a client that stops reading
};

// The OpenPCC-* response headers for a verified node.
std::vector<std::pair<std::string, std::string>> VerificationHeaders(const client::VerificationReport& report);

class ProxyService {
 public:
  ProxyService(client::InferenceClient& client, ProxyConfig config)
      : client_(client), config_(config), work_(std::make_unique<WorkQueue>(config.workers)) {}
  ~ProxyService() { Stop(); }

  net::Router Routes();
  void Stop() { work_->Stop(); }

 private:
  net::Awaitable<void> Complete(net::Request& request, net::Response& response, std::string path);
  net::Awaitable<void> Models(net::Request& request, net::Response& response);
  net::Awaitable<void> Verification(net::Request& request, net::Response& response);

  client::InferenceClient& client_;
  const ProxyConfig config_;
  std::unique_ptr<WorkQueue> work_;
};

}  // namespace openpcc::services
