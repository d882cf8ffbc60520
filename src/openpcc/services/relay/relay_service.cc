#include "openpcc/services/relay/relay_service.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "openpcc/util/log.h"
#include "openpcc/util/stopwatch.h"

namespace openpcc::services {
namespace {

constexpr std::string_view kComponent = "relay";
// One read from either side; small enough that a token's chunk is passed on at once.
constexpr size_t kBufferBytes = 16 * 1024;

// The media type without parameters, lower case.
std::string MediaType(std::optional<std::string_view> header) {
  std::string out(header.value_or(""));
  out = out.substr(0, out.find(';'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  while (!out.empty() && (out.front() == ' ' || out.front() == '\t')) out.erase(0, 1);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status CheckUpstreamUrl(std::string_view flag, const net::Url& url) {
  if (!url.tls() && !net::IsLoopbackHost(url.host)) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + ": a gateway that is not on loopback must be reached over "
                                     "https (got plain http to " + url.host + ")");
  }
  return OkStatus();
}

void Line(std::string& out, std::string_view name, std::string_view help, std::string_view type,
          uint64_t value, std::string_view labels = {}) {
  out += "# HELP openpcc_relay_" + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE openpcc_relay_" + std::string(name) + " " + std::string(type) + "\n";
  out += "openpcc_relay_" + std::string(name) + std::string(labels) + " " + std::to_string(value) +
         "\n";
}

}  // namespace

void RelayMetrics::CountServerRefusal(std::string_view limit) {
  for (size_t i = 0; i < kServerLimits.size(); ++i) {
    if (kServerLimits[i] == limit) {
      server_refusals[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

std::string RelayMetrics::Render(uint64_t upstream_connections) const {
  std::string out;
  Line(out, "requests_total", "OHTTP requests received.", "counter", requests.load());
  Line(out, "forwarded_total", "Requests whose gateway response head was passed on.", "counter",
       forwarded.load());
  Line(out, "completed_total", "Responses passed on to their end.", "counter", completed.load());
  Line(out, "truncated_total", "Response streams cut after their head.", "counter",
       truncated.load());
  Line(out, "request_forward_microseconds_total",
       "Over completed requests: time from arrival to the request body passed to the gateway.", "counter",
       request_forward_us.load());
  Line(out, "first_byte_microseconds_total",
       "Over completed requests: time from arrival to the gateway's first response body byte.", "counter",
       first_byte_us.load());
  Line(out, "stream_microseconds_total", "Over completed requests: time from arrival to the end.", "counter",
       stream_us.load());
  Line(out, "active_streams", "Requests being relayed now.", "gauge",
       static_cast<uint64_t>(std::max<int64_t>(0, active.load())));
  Line(out, "request_bytes_total", "Request body bytes passed to the gateway.", "counter",
       request_bytes.load());
  Line(out, "response_bytes_total", "Response body bytes passed to clients.", "counter",
       response_bytes.load());
  Line(out, "key_fetches_total", "GET /ohttp-keys requests passed on.", "counter",
       key_fetches.load());
  Line(out, "key_fetch_errors_total", "GET /ohttp-keys requests the gateway did not answer.",
       "counter", key_fetch_errors.load());
  Line(out, "upstream_connections_opened_total", "Connections opened to the gateway.", "counter",
       upstream_connections);
  out += "# HELP openpcc_relay_refused_total Requests refused, by the limit or check that refused them.\n";
  out += "# TYPE openpcc_relay_refused_total counter\n";
  auto refused = [&out](std::string_view reason, uint64_t value) {
    out += "openpcc_relay_refused_total{reason=\"" + std::string(reason) + "\"} " +
           std::to_string(value) + "\n";
  };
  refused("unsupported_media_type", refused_media_type.load());
  refused("response_size", refused_response_size.load());
  refused("starting", refused_starting.load());
  for (size_t i = 0; i < kServerLimits.size(); ++i) refused(kServerLimits[i], server_refusals[i].load());
  out += "# HELP openpcc_relay_upstream_errors_total Gateway failures, by the step that failed.\n";
  out += "# TYPE openpcc_relay_upstream_errors_total counter\n";
  auto upstream = [&out](std::string_view step, uint64_t value) {
    out += "openpcc_relay_upstream_errors_total{step=\"" + std::string(step) + "\"} " +
           std::to_string(value) + "\n";
  };
  upstream("connect", upstream_connect_errors.load());
  upstream("request_body", upstream_request_errors.load());
  upstream("response_head", upstream_head_errors.load());
  upstream("response_body", upstream_body_errors.load());
  return out;
}

Result<std::unique_ptr<RelayService>> RelayService::Create(RelayConfig config) {
  Result<net::Url> gateway = net::ParseUrl(config.gateway_url);
  if (!gateway.ok()) {
    return Error(ErrorCode::kInvalidArgument, "--gateway: " + gateway.error().message());
  }
  OPENPCC_RETURN_IF_ERROR(CheckUpstreamUrl("--gateway", *gateway));
  std::string keys_text = config.keys_url;
  if (keys_text.empty()) keys_text = gateway->Origin() + std::string(kOhttpKeysPath);
  Result<net::Url> keys = net::ParseUrl(keys_text);
  if (!keys.ok()) return Error(ErrorCode::kInvalidArgument, "--gateway-keys: " + keys.error().message());
  OPENPCC_RETURN_IF_ERROR(CheckUpstreamUrl("--gateway-keys", *keys));
  if (config.max_response_bytes == 0) {
    return Error(ErrorCode::kInvalidArgument, "relay: the response size limit must be positive");
  }
  std::unique_ptr<RelayService> service(new RelayService(std::move(config)));
  service->gateway_ = std::move(gateway).value();
  service->keys_ = std::move(keys).value();
  return service;
}

Status RelayService::Attach(boost::asio::any_io_executor executor) {
  net::ClientOptions options;
  options.ca_file = config_.gateway_ca_file;
  options.connect_timeout = config_.connect_timeout;
  options.idle_timeout = config_.idle_timeout;
  options.total_timeout = config_.total_timeout;
  options.max_idle_per_origin = config_.max_idle_connections;
  OPENPCC_ASSIGN_OR_RETURN(std::shared_ptr<net::Client> client,
                           net::Client::Create(std::move(executor), options));
  std::lock_guard lock(client_mu_);
  client_ = std::move(client);
  return OkStatus();
}

void RelayService::Detach() {
  std::shared_ptr<net::Client> client;
  {
    std::lock_guard lock(client_mu_);
    client.swap(client_);
  }
  // Destroyed here, outside the lock, while the server's io_context is still alive.
}

std::shared_ptr<net::Client> RelayService::client() {
  std::lock_guard lock(client_mu_);
  return client_;
}

std::function<void(const net::AccessLogEntry&)> RelayService::AccessCounter() {
  return [this](const net::AccessLogEntry& entry) {
    if (!entry.limit.empty()) metrics_.CountServerRefusal(entry.limit);
  };
}

net::Router RelayService::Routes() {
  net::Router router;
  router.HandlePrefix("POST", "/", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
    co_await Forward(req, res);
  });
  router.Handle("GET", std::string(kOhttpKeysPath),
                [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
                  co_await ServeKeys(req, res);
                });
  router.Handle("GET", "/metrics", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
    co_await ServeMetrics(req, res);
  });
  return router;
}

net::Awaitable<void> RelayService::ServeMetrics(net::Request&, net::Response& res) {
  std::shared_ptr<net::Client> upstream = client();
  const std::string text = metrics_.Render(upstream ? upstream->connections_opened() : 0);
  (void)co_await res.Send(200, text, "text/plain; version=0.0.4");
}

net::Awaitable<void> RelayService::ServeKeys(net::Request&, net::Response& res) {
  std::shared_ptr<net::Client> upstream = client();
  if (!upstream) {
    metrics_.refused_starting.fetch_add(1, std::memory_order_relaxed);
    (void)co_await res.SendError(503, "starting", "relay: not ready yet");
    co_return;
  }
  metrics_.key_fetches.fetch_add(1, std::memory_order_relaxed);
  net::ClientRequest request("GET", keys_.Origin() + keys_.target);
  Result<net::ClientResponse> fetched =
      co_await upstream->Fetch(std::move(request), std::string_view(), config_.max_keys_bytes);
  if (!fetched.ok()) {
    metrics_.key_fetch_errors.fetch_add(1, std::memory_order_relaxed);
    LogWarning(kComponent, "gateway key fetch failed", {{"error_class", std::string(ErrorCodeName(fetched.error().code()))}});
    const std::string message = "relay: cannot fetch the gateway's key configurations: " +
                                fetched.error().message();
    (void)co_await res.SendError(502, "bad_gateway", message);
    co_return;
  }
  // Only the key list passes, never the gateway's other headers (cookies, server names).
  const std::string media = MediaType(fetched->header("content-type"));
  if (fetched->status != 200 || media != kOhttpKeysMediaType) {
    metrics_.key_fetch_errors.fetch_add(1, std::memory_order_relaxed);
    const std::string message = "relay: the gateway's key URL answered " +
                                std::to_string(fetched->status) + " " + media +
                                ", expected 200 application/ohttp-keys";
    (void)co_await res.SendError(502, "bad_gateway", message);
    co_return;
  }
  (void)res.SetHeader("Cache-Control", "no-store");
  (void)co_await res.Send(200, fetched->body, kOhttpKeysMediaType);
}

// GCC 12 reports -Wmismatched-new-delete for this coroutine: Asio allocates large frames with
// aligned_alloc and frees them with its matching operator delete, which GCC cannot pair once both
// are inlined into the frame's ramp (as in services/node). A false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
net::Awaitable<void> RelayService::Forward(net::Request& req, net::Response& res) {
  const Stopwatch arrived;
  metrics_.requests.fetch_add(1, std::memory_order_relaxed);
  const std::string media = MediaType(req.header("content-type"));
  if (media != kOhttpRequestMediaType && media != kOhttpChunkedRequestMediaType) {
    metrics_.refused_media_type.fetch_add(1, std::memory_order_relaxed);
    const std::string message = "relay: Content-Type must be message/ohttp-req or "
                                "message/ohttp-chunked-req, got '" + media + "'";
    (void)co_await res.SendError(415, "unsupported_media_type", message);
    co_return;
  }
  std::shared_ptr<net::Client> upstream = client();
  if (!upstream) {
    metrics_.refused_starting.fetch_add(1, std::memory_order_relaxed);
    (void)co_await res.SendError(503, "starting", "relay: not ready yet");
    co_return;
  }
  struct ActiveGuard {
    std::atomic<int64_t>& n;
    explicit ActiveGuard(std::atomic<int64_t>& counter) : n(counter) { n.fetch_add(1); }
    ~ActiveGuard() { n.fetch_sub(1); }
  } active(metrics_.active);

  // The only client headers that go on: the media type (whole or chunked) and Incremental, which
  // tells intermediaries not to buffer (chunked OHTTP). Everything else stays here.
  net::Headers headers;
  headers.emplace_back("Content-Type", std::string(*req.header("content-type")));
  if (std::optional<std::string_view> incremental = req.header("incremental")) {
    headers.emplace_back("Incremental", std::string(*incremental));
  }
  net::ClientRequest request("POST", gateway_.Origin() + gateway_.target, std::move(headers));
  const std::optional<uint64_t> length = req.content_length();
  Result<net::ClientExchange> started = co_await upstream->Start(std::move(request), length);
  if (!started.ok()) {
    metrics_.upstream_connect_errors.fetch_add(1, std::memory_order_relaxed);
    LogWarning(kComponent, "gateway unreachable",
               {{"error_class", std::string(ErrorCodeName(started.error().code()))}});
    const std::string message = "relay: cannot reach the gateway (connect): " + started.error().message();
    (void)co_await res.SendError(502, "bad_gateway", message);
    co_return;
  }
  net::ClientExchange exchange = std::move(started).value();

  std::vector<uint8_t> buffer(kBufferBytes);
  const std::span<uint8_t> whole(buffer);
  while (true) {
    Result<size_t> n = co_await req.ReadSome(whole);
    if (!n.ok()) {
      // Over the body limit (the server answers 413 body_size) or the client broke off; dropping
      // the exchange closes the upstream connection, so the gateway sees a truncated request.
      co_return;
    }
    if (*n == 0) break;
    metrics_.request_bytes.fetch_add(*n, std::memory_order_relaxed);
    const ByteView piece(buffer.data(), *n);
    Status wrote = co_await exchange.Write(piece);
    if (!wrote.ok()) {
      metrics_.upstream_request_errors.fetch_add(1, std::memory_order_relaxed);
      const std::string message = "relay: the gateway failed while receiving the request body: " +
                                  wrote.error().message();
      (void)co_await res.SendError(502, "bad_gateway", message);
      co_return;
    }
  }
  Status finished = co_await exchange.FinishRequest();
  if (!finished.ok()) {
    metrics_.upstream_request_errors.fetch_add(1, std::memory_order_relaxed);
    const std::string message = "relay: the gateway failed while receiving the request body: " +
                                finished.error().message();
    (void)co_await res.SendError(502, "bad_gateway", message);
    co_return;
  }
  const std::chrono::microseconds forwarded_request = arrived.Elapsed();
  Result<net::ResponseHead> head = co_await exchange.ReadResponseHead();
  if (!head.ok()) {
    metrics_.upstream_head_errors.fetch_add(1, std::memory_order_relaxed);
    LogWarning(kComponent, "gateway gave no response head",
               {{"error_class", std::string(ErrorCodeName(head.error().code()))}});
    const std::string message = "relay: the gateway did not answer (response head): " +
                                head.error().message();
    (void)co_await res.SendError(502, "bad_gateway", message);
    co_return;
  }
  if (std::optional<std::string> incremental = head->header("incremental")) {
    (void)res.SetHeader("Incremental", *incremental);
  }
  const std::string content_type = head->header("content-type").value_or("application/octet-stream");
  Status streaming = co_await res.StartStream(head->status, content_type);
  if (!streaming.ok()) co_return;
  metrics_.forwarded.fetch_add(1, std::memory_order_relaxed);

  uint64_t sent = 0;
  std::chrono::microseconds first_byte{0};
  while (true) {
    Result<size_t> n = co_await exchange.ReadSome(whole);
    if (sent == 0) first_byte = arrived.Elapsed();
    if (!n.ok()) {
      metrics_.upstream_body_errors.fetch_add(1, std::memory_order_relaxed);
      metrics_.truncated.fetch_add(1, std::memory_order_relaxed);
      co_return;  // not Finished: the client sees truncation
    }
    if (*n == 0) break;
    sent += *n;
    if (sent > config_.max_response_bytes) {
      metrics_.refused_response_size.fetch_add(1, std::memory_order_relaxed);
      metrics_.truncated.fetch_add(1, std::memory_order_relaxed);
      LogWarning(kComponent, "response stream cut at the size limit",
                 {{"limit", std::to_string(config_.max_response_bytes)}});
      co_return;
    }
    metrics_.response_bytes.fetch_add(*n, std::memory_order_relaxed);
    const ByteView piece(buffer.data(), *n);
    Status wrote = co_await res.Write(piece);
    if (!wrote.ok()) {
      metrics_.truncated.fetch_add(1, std::memory_order_relaxed);
      co_return;  // the client is gone; dropping the exchange closes the gateway connection
    }
  }
  Status done = co_await res.Finish();
  if (done.ok()) metrics_.completed.fetch_add(1, std::memory_order_relaxed);
  // Timing as aggregate sums only (bench/e2e's split by component reads them before and after a
  // run): a per-request line would be the access log this relay does not keep.
  if (done.ok()) {
    metrics_.request_forward_us.fetch_add(static_cast<uint64_t>(forwarded_request.count()), std::memory_order_relaxed);
    metrics_.first_byte_us.fetch_add(static_cast<uint64_t>(first_byte.count()), std::memory_order_relaxed);
    metrics_.stream_us.fetch_add(static_cast<uint64_t>(arrived.Elapsed().count()), std::memory_order_relaxed);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace openpcc::services
