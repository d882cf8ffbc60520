// net/server.h — the HTTP/1.1 server every OpenPCC service runs on (Beast over Asio, C++20
// coroutines, optional TLS through OpenSSL).
//
// Threading: one io_context run by `threads` threads. Each connection is a coroutine on its own
// strand, so a handler never runs concurrently with itself or with its connection's I/O; different
// connections run in parallel. Handlers must not block (see router.h).
//
// Limits (ServerLimits) hold per listener. A refused request gets its status and a short JSON body
// in OpenAI's error shape whose `code` names the limit:
//   header_size 431 · body_size 413 · idle_timeout / request_time 408 ·
//   max_connections / max_streams 503 · bad_request 400 · not_found 404 · method_not_allowed 405.
// A connection that is idle between requests is closed without a response.
//
// Exposure: the default address is 127.0.0.1. Binding any other address needs TLS (certificate
// chain and key), unless `allow_insecure_non_loopback` says otherwise; Start refuses with a clear
// error. Access logs carry the request id, method, route pattern (never the query), status, byte
// counts and timings — never bodies, header values or client addresses.
//
// Shutdown stops accepting, closes idle keep-alive connections, lets requests in flight finish
// within the grace period, then cancels the rest (their CancelTokens fire) and joins the threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "openpcc/net/asio.h"
#include "openpcc/net/cancel.h"
#include "openpcc/net/router.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::net {

using Duration = std::chrono::milliseconds;

struct ServerLimits {
  size_t max_header_bytes = 16 * 1024;       // request line and header fields
  uint64_t max_body_bytes = 1024 * 1024;     // request body, however it is framed
  Duration idle_timeout{30'000};             // no byte received or sent for this long
  Duration max_request_time{300'000};        // first request byte until the response is complete
  size_t max_connections = 1024;             // open connections
  size_t max_streams = 256;                  // requests being served at once
};

struct TlsServerFiles {
  std::string certificate_chain_file;  // PEM, leaf first
  std::string private_key_file;        // PEM
};

struct AccessLogEntry {
  uint64_t request_id = 0;
  std::string method;
  std::string route;          // the matched route pattern, or "-" when none matched
  unsigned status = 0;        // 0 when the connection ended before a response
  uint64_t request_bytes = 0;   // body bytes received
  uint64_t response_bytes = 0;  // body bytes sent
  Duration time_to_first_byte{0};  // from the request header to the response header
  Duration total_time{0};
  std::string limit;          // the limit that refused the request, if one did
};
// "id=12 GET /v1/infer 200 in=512 out=4096 ttfb=3ms total=950ms".
std::string FormatAccessLog(const AccessLogEntry& entry);

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (see Server::port)
  size_t threads = 2;
  ServerLimits limits;
  std::optional<TlsServerFiles> tls;
  // Permits plain HTTP on a non-loopback address (for deployments behind a TLS terminator).
  bool allow_insecure_non_loopback = false;
  // Called after every request, from an I/O thread; must be thread-safe and quick.
  std::function<void(const AccessLogEntry&)> access_log;
};

namespace detail {
class ServerExchange;
}

// The request being served. Header accessors are valid for the whole handler; body reads are
// sequential (one at a time) and bounded by the listener's body limit.
class Request {
 public:
  explicit Request(detail::ServerExchange& exchange) : exchange_(&exchange) {}

  uint64_t id() const;
  std::string_view method() const;  // "GET", "POST", ...
  std::string_view target() const;  // path and query as sent
  std::string_view path() const;    // without the query
  std::string_view query() const;   // after '?', or empty
  // The first field with this name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  // Content-Length if the request declared one (absent for chunked bodies).
  std::optional<uint64_t> content_length() const;

  // Reads up to out.size() body bytes as they arrive; 0 means the body is complete. Errors:
  // kOutOfRange when the body exceeds the listener's limit (the server then answers 413 unless
  // the handler already responded), kTruncated/kMalformed when the client breaks off or misframes.
  Awaitable<Result<size_t>> ReadSome(std::span<uint8_t> out);
  // The whole body, refused (kOutOfRange, answered 413) beyond `limit` bytes or the listener's
  // body limit, whichever is smaller.
  Awaitable<Result<std::string>> ReadAll(size_t limit);
  bool body_complete() const;

  // Cancelled when the client disconnects, the request time runs out or the server shuts down.
  // Disconnects are noticed once the body has been read (before that, reads fail instead).
  CancelToken cancel_token() const;
  bool cancelled() const { return cancel_token().cancelled(); }

 private:
  detail::ServerExchange* exchange_;
};

// The response to the request: either Send once, or StartStream, Write*, Finish. Each call is
// awaited before the next. A stream the handler does not Finish is aborted (the connection closes
// without the terminating chunk), so the client sees a truncated body, never a clean end.
class Response {
 public:
  explicit Response(detail::ServerExchange& exchange) : exchange_(&exchange) {}

  // Adds a response header before the response starts. Framing and connection headers
  // (Content-Length, Transfer-Encoding, Connection, ...) are the server's and are refused.
  Status SetHeader(std::string_view name, std::string_view value);

  Awaitable<Status> Send(unsigned status, std::string_view body,
                         std::string_view content_type = "application/json");
  // An OpenAI-shaped error: {"error":{"message":..., "type":..., "code":...}}.
  Awaitable<Status> SendError(unsigned status, std::string_view code, std::string_view message);

  // Sends the status and headers with chunked transfer encoding.
  Awaitable<Status> StartStream(unsigned status, std::string_view content_type);
  // Sends one chunk and flushes it to the socket (Nagle is off): it reaches the client before the
  // next Write. Waits while the client is slow to read — that is the backpressure.
  Awaitable<Status> Write(std::string_view chunk);
  Awaitable<Status> Write(ByteView chunk) { return Write(AsChars(chunk)); }
  // Sends the terminating chunk.
  Awaitable<Status> Finish();

  bool started() const;

 private:
  detail::ServerExchange* exchange_;
};

// {"error":{"message":"...","type":"...","code":"..."}} with JSON string escaping.
std::string ErrorJson(std::string_view type, std::string_view code, std::string_view message);

class Server {
 public:
  // Binds, listens and starts the threads. Errors: a non-loopback address without TLS (and
  // without allow_insecure_non_loopback), unreadable certificate or key, address in use.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, Router router);
  virtual ~Server() = default;

  virtual uint16_t port() const = 0;
  // The server's execution context, for the Clients its handlers use (relay, gateway).
  virtual boost::asio::any_io_executor executor() = 0;
  // Idempotent; blocks until every thread has stopped. The destructor calls it with no grace.
  virtual void Shutdown(Duration grace) = 0;
  // Requests currently being served (for tests and metrics).
  virtual size_t active_streams() const = 0;
  virtual size_t active_connections() const = 0;
};

}  // namespace openpcc::net
