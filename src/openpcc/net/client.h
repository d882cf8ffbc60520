// net/client.h — the HTTP/1.1 client of OpenPCC services and tools: a connection pool per origin,
// TLS with certificate and host-name verification, bodies streamed in both directions.
//
// Two APIs over one implementation:
//   - `Client` (coroutines) for code already inside the server: the relay forwards a request
//     body as it arrives (`Start`, `Write`, `FinishRequest`) and the response chunk by chunk
//     (`ReadResponseHead`, `ReadSome`); `Fetch` is the whole-body shortcut.
//   - `BlockingClient` for CLI tools and the client library: the same calls, blocking, served by
//     one I/O thread of its own.
//
// Trust: `https` URLs are verified against `ca_file` (or the system store when empty) and the URL's
// host (DNS name or IP address); nothing disables verification. A `ca_file` is loaded by Create (a
// bad one fails there); the system store only at the first `https` connection, since loading it
// costs 50-100 ms that a client speaking plain HTTP to loopback never needs. Plain `http` to a host that is not
// loopback is refused unless `allow_plaintext_non_loopback` is set (DESIGN §4: every hop that leaves
// the machine uses TLS). Names that IsLoopbackHost accepts are connected to loopback addresses
// only. Callers that must refuse non-loopback upstreams altogether check IsLoopbackHost first.
//
// Timeouts: connecting (resolve, TCP, TLS handshake) within `connect_timeout`; no byte in either
// direction for `idle_timeout`; the whole exchange within `total_timeout`. Errors name which.
//
// Pool: a connection returns to its origin's pool when its response was read to the end and both
// sides allow keep-alive; a pooled connection is dropped after `pool_idle_timeout` or when the
// server has closed it. Whole-body requests on a reused connection that the server closed before
// answering are retried once on a new connection; streamed requests are not retried.
//
// Thread safety: a Client belongs to one execution context (an io_context, given at creation,
// which must outlive it and run while it is used — in a service, Server::executor()). Any number
// of coroutines on that context (on any of its strands) may use it at once; one ClientExchange
// belongs to one coroutine at a time. BlockingClient is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openpcc/net/asio.h"
#include "openpcc/net/server.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  std::string ca_file;                  // PEM CA bundle; empty: the system trust store
  Duration connect_timeout{10'000};
  Duration idle_timeout{60'000};
  Duration total_timeout{300'000};
  size_t max_response_header_bytes = 64 * 1024;
  size_t max_idle_per_origin = 8;
  Duration pool_idle_timeout{15'000};
  bool allow_plaintext_non_loopback = false;
};

struct ClientRequest {
  // Not an aggregate on purpose: g++ 12 destroys a brace-initialised aggregate temporary twice
  // when it is the argument of a coroutine inside `co_await f({...})`; a constructor avoids it.
  ClientRequest(std::string method_in, std::string url_in, Headers headers_in = {})
      : method(std::move(method_in)), url(std::move(url_in)), headers(std::move(headers_in)) {}

  std::string method;
  std::string url;   // absolute http(s) URL, parsed strictly (ParseUrl)
  Headers headers;   // Host, Content-Length, Transfer-Encoding, Connection are the client's
};

struct ResponseHead {
  unsigned status = 0;
  Headers headers;
  // The first field with this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

class Client;

// One request and its response on a pooled connection. Calls go in order: Write* then
// FinishRequest, then ReadResponseHead, then ReadSome until it returns 0 (or ReadAll). Out-of-order
// calls fail with kFailedPrecondition. Dropping an exchange before the response is read closes
// its connection instead of pooling it.
class ClientExchange {
 public:
  struct Impl;
  explicit ClientExchange(std::unique_ptr<Impl> impl);
  ClientExchange(ClientExchange&&) noexcept;
  ClientExchange& operator=(ClientExchange&&) noexcept;
  ~ClientExchange();

  // Sends a piece of the request body (one chunk when the length was not declared).
  Awaitable<Status> Write(std::string_view data);
  Awaitable<Status> Write(ByteView data) { return Write(AsChars(data)); }
  // Ends the request body (the last chunk, or a check that the declared length was sent).
  Awaitable<Status> FinishRequest();
  // Status and headers of the final response (1xx responses are skipped).
  Awaitable<Result<ResponseHead>> ReadResponseHead();
  // Up to out.size() body bytes as they arrive; 0 at the end of the body.
  Awaitable<Result<size_t>> ReadSome(std::span<uint8_t> out);
  // The rest of the body; kOutOfRange beyond `limit` bytes.
  Awaitable<Result<std::string>> ReadAll(size_t limit);

  // True if the exchange runs on a connection taken from the pool (for tests and metrics).
  bool reused_connection() const;

 private:
  friend class Client;
  std::unique_ptr<Impl> impl_;
};

class Client : public std::enable_shared_from_this<Client> {
  struct PrivateTag {};

 public:
  // Connections live on `executor`'s context. Fails if the CA file cannot be loaded.
  static Result<std::shared_ptr<Client>> Create(boost::asio::any_io_executor executor,
                                                ClientOptions options);
  Client(PrivateTag, boost::asio::any_io_executor executor, ClientOptions options);
  ~Client();

  // Opens (or reuses) a connection and sends the request header. `content_length`: the body's
  // length, or std::nullopt to send it chunked as it arrives.
  Awaitable<Result<ClientExchange>> Start(ClientRequest request,
                                          std::optional<uint64_t> content_length);
  // Sends a request whose whole body is at hand and reads the response head; the caller reads
  // the body from `exchange` (ReadSome for streams). A pooled connection that the server closed
  // before answering anything is retried once on a new connection: the body is still at hand, so
  // nothing is lost (llama.cpp's server, for one, closes its connection after every stream while
  // announcing keep-alive).
  struct Opened {
    ClientExchange exchange;
    ResponseHead head;
  };
  Awaitable<Result<Opened>> Send(ClientRequest request, std::string_view body);
  // The whole exchange: sends `body`, reads a response of at most `max_response_bytes`.
  Awaitable<Result<ClientResponse>> Fetch(ClientRequest request, std::string_view body,
                                          size_t max_response_bytes);

  const ClientOptions& options() const { return options_; }
  // Idle pooled connections across origins, and connections opened so far (for tests).
  size_t idle_connections() const;
  uint64_t connections_opened() const;

 private:
  friend struct ClientExchange::Impl;
  struct Pool;
  Awaitable<Result<ClientExchange>> StartImpl(const ClientRequest& request,
                                              std::optional<uint64_t> content_length,
                                              bool allow_reuse);

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

class BlockingClient {
 public:
  static Result<std::unique_ptr<BlockingClient>> Create(ClientOptions options);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  Result<ClientResponse> Fetch(const ClientRequest& request, std::string_view body,
                               size_t max_response_bytes);
  // Sends `body`, then passes the response body to `on_chunk` piece by piece as it arrives (on the
  // client's I/O thread); an error from `on_chunk` aborts the exchange and is returned.
  Result<ResponseHead> FetchStreaming(const ClientRequest& request, std::string_view body,
                                      const std::function<Status(std::string_view)>& on_chunk);

  Client& client() { return *client_; }

 private:
  BlockingClient();
  struct Io;
  std::unique_ptr<Io> io_;
  std::shared_ptr<Client> client_;
};

}  // namespace openpcc::net
