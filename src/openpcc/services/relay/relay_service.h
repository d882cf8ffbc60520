// services/relay/relay_service.h — `openpcc relay`: the Oblivious HTTP relay (DESIGN §1, §2.1, §4).
//
// The relay sees the client's address and the sizes and timing of opaque OHTTP messages, and
// nothing else; the gateway behind it sees the messages and never the client's address. So:
//
//   POST <any path>   Content-Type message/ohttp-req or message/ohttp-chunked-req (else 415
//                     `unsupported_media_type`). Forwarded to the one configured gateway URL
//                     (the client's path is not forwarded: a relay serves one gateway). Only
//                     Content-Type and Incremental go upstream — no Cookie, Authorization,
//                     User-Agent, X-Forwarded-For or anything else the client sent, and no header
//                     of the relay's own naming the client. The body streams upstream as it
//                     arrives (Content-Length kept when declared, chunked otherwise) and the
//                     gateway's answer streams back chunk by chunk; neither is held whole. Back go
//                     the gateway's status, Content-Type and Incremental.
//   GET  /ohttp-keys  the gateway's key configurations (`application/ohttp-keys`), fetched from
//                     `keys_url` for each request (no cache: a relay-side cache could serve one
//                     client a config of its choosing no better than the gateway can, and the
//                     client checks every config against the logged directory anyway). Lets a
//                     client bootstrap without ever showing its address to the gateway.
//   GET  /metrics     aggregate counters (Prometheus text format), nothing per request; among
//                     them sums of forwarding durations over completed requests (bench/e2e).
//
// Failures: the gateway unreachable, or failing before its response head, is 502 `bad_gateway`
// with the step named ("connect", "request body", "response head"); after the head has been
// passed on, a failure cuts the stream without its terminating chunk, so the client sees a
// truncated body, never a clean end. A response above `max_response_bytes` is cut the same way.
// The listener's limits (header and body size, idle and total time, connections, streams) are the
// server's own refusals, each naming its limit (net/server.h); the relay counts them by name.
//
// Logs: no per-request lines (no access log), only startup, and upstream failures by class. The
// server never exposes the client's address to handlers, and the relay keeps nothing else.
//
// Connections to the gateway are pooled by net::Client (TLS with verification for https; plain
// http only to a loopback gateway — the command refuses anything else).
//
// Thread safety: Create and Routes from one thread before the server starts; Attach once after;
// Detach once it has stopped; handlers run concurrently on the server's threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/net/url.h"

namespace openpcc::services {

inline constexpr std::string_view kOhttpRequestMediaType = "message/ohttp-req";
inline constexpr std::string_view kOhttpChunkedRequestMediaType = "message/ohttp-chunked-req";
inline constexpr std::string_view kOhttpKeysMediaType = "application/ohttp-keys";
inline constexpr std::string_view kOhttpKeysPath = "/ohttp-keys";

struct RelayConfig {
  std::string gateway_url = "http://127.0.0.1:7200/gateway";
  // Where GET /ohttp-keys is fetched; empty: the gateway URL's origin + /ohttp-keys.
  std::string keys_url;
  std::string gateway_ca_file;  // PEM CA bundle for an https gateway; empty: the system store
  net::Duration connect_timeout{10'000};
  net::Duration idle_timeout{30'000};
  net::Duration total_timeout{300'000};
  uint64_t max_response_bytes = 64ull * 1024 * 1024;
  size_t max_keys_bytes = 64 * 1024;
  size_t max_idle_connections = 64;  // pooled connections to the gateway
};

// Aggregate counters; the names are the metric names without the `openpcc_relay_` prefix.
class RelayMetrics {
 public:
  // Limits the server refuses by itself, counted from its access-log entries.
  static constexpr std::array<std::string_view, 7> kServerLimits = {
      "header_size", "body_size", "idle_timeout", "request_time",
      "max_connections", "max_streams", "bad_request"};

  void CountServerRefusal(std::string_view limit);
  std::string Render(uint64_t upstream_connections) const;

  std::atomic<uint64_t> requests{0};           // POSTs that reached the handler
  std::atomic<uint64_t> forwarded{0};          // the gateway's response head passed on
  std::atomic<uint64_t> completed{0};          // ... and its body to the end
  std::atomic<uint64_t> truncated{0};          // streams cut after the head
  std::atomic<uint64_t> refused_media_type{0};
  std::atomic<uint64_t> refused_response_size{0};
  std::atomic<uint64_t> refused_starting{0};
  std::atomic<uint64_t> upstream_connect_errors{0};
  std::atomic<uint64_t> upstream_request_errors{0};
  std::atomic<uint64_t> upstream_head_errors{0};
  std::atomic<uint64_t> upstream_body_errors{0};
  std::atomic<uint64_t> request_bytes{0};
  std::atomic<uint64_t> response_bytes{0};
  std::atomic<uint64_t> key_fetches{0};
  std::atomic<uint64_t> key_fetch_errors{0};
  std::atomic<int64_t> active{0};
  // Sums over completed requests (util/stopwatch.h): durations, never per request.
  std::atomic<uint64_t> request_forward_us{0};
  std::atomic<uint64_t> first_byte_us{0};
  std::atomic<uint64_t> stream_us{0};
  std::array<std::atomic<uint64_t>, kServerLimits.size()> server_refusals{};
};

class RelayService {
 public:
  // Checks the URLs: http(s), and plain http only to a loopback host.
  static Result<std::unique_ptr<RelayService>> Create(RelayConfig config);

  // The routes above; the service must outlive the server.
  net::Router Routes();
  // Creates the gateway client on the server's context. Requests before it get 503 `starting`.
  Status Attach(boost::asio::any_io_executor executor);
  // Drops the gateway client and its pooled connections. Call after the server has stopped and
  // before it is destroyed: pooled sockets must close while their io_context still exists.
  void Detach();
  // For ServerOptions::access_log: counts the server's own refusals; logs nothing.
  std::function<void(const net::AccessLogEntry&)> AccessCounter();

  const RelayMetrics& metrics() const { return metrics_; }
  const net::Url& gateway() const { return gateway_; }

 private:
  explicit RelayService(RelayConfig config) : config_(std::move(config)) {}
  std::shared_ptr<net::Client> client();
  net::Awaitable<void> Forward(net::Request& req, net::Response& res);
  net::Awaitable<void> ServeKeys(net::Request& req, net::Response& res);
  net::Awaitable<void> ServeMetrics(net::Request& req, net::Response& res);

  const RelayConfig config_;
  net::Url gateway_;
  net::Url keys_;
  RelayMetrics metrics_;
  std::mutex client_mu_;
  std::shared_ptr<net::Client> client_;
};

}  // namespace openpcc::services
