// net/transport.h — internal to net/: one byte stream, plain TCP or TLS over TCP, behind a small
// virtual interface, so that the server's and the client's HTTP logic is written once and not as
// templates over the stream type. Timeouts are not here: the owner arms a timer that cancels the
// socket (see server.cc, client.cc), which keeps the socket usable for a final error response.
//
// Thread safety: none; the owner serialises calls (one strand per connection).
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "openpcc/net/beast.h"
#include "openpcc/net/tls.h"

namespace openpcc::net::detail {

struct IoResult {
  beast::error_code ec;
  size_t bytes = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual tcp::socket& socket() = 0;
  virtual bool tls() const = 0;
  // TLS handshake as server or client (`host` for SNI; empty for IP literals); no-op for TCP.
  virtual Awaitable<beast::error_code> Handshake(bool server, const std::string& host) = 0;
  virtual Awaitable<IoResult> ReadSome(beast::flat_buffer& buffer,
                                       http::request_parser<http::buffer_body>& parser) = 0;
  virtual Awaitable<IoResult> ReadSome(beast::flat_buffer& buffer,
                                       http::response_parser<http::buffer_body>& parser) = 0;
  // Whatever bytes arrive next (at least one), without parsing.
  virtual Awaitable<IoResult> ReadRaw(asio::mutable_buffer buffer) = 0;
  virtual Awaitable<IoResult> Write(std::span<const asio::const_buffer> buffers) = 0;
  // TLS close_notify (best effort), then TCP shutdown and close.
  virtual Awaitable<void> Close() = 0;
  // The OpenSSL handle, for per-connection verification settings; null for TCP.
  virtual SSL* native_ssl() = 0;
};

template <typename Stream>
class TransportImpl final : public Transport {
 public:
  explicit TransportImpl(Stream stream) : stream_(std::move(stream)) {}

  tcp::socket& socket() override { return beast::get_lowest_layer(stream_).socket(); }
  bool tls() const override { return !std::is_same_v<Stream, beast::tcp_stream>; }

  Awaitable<beast::error_code> Handshake(bool server, const std::string& host) override {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      (void)server;
      (void)host;
      co_return beast::error_code{};
    } else {
      if (!server && !host.empty()) SetServerNameIndication(stream_.native_handle(), host);
      auto [ec] = co_await stream_.async_handshake(
          server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client, kAsTuple);
      co_return ec;
    }
  }

  Awaitable<IoResult> ReadSome(beast::flat_buffer& buffer,
                               http::request_parser<http::buffer_body>& parser) override {
    auto [ec, n] = co_await http::async_read_some(stream_, buffer, parser, kAsTuple);
    co_return IoResult{ec, n};
  }
  Awaitable<IoResult> ReadSome(beast::flat_buffer& buffer,
                               http::response_parser<http::buffer_body>& parser) override {
    auto [ec, n] = co_await http::async_read_some(stream_, buffer, parser, kAsTuple);
    co_return IoResult{ec, n};
  }
  Awaitable<IoResult> ReadRaw(asio::mutable_buffer buffer) override {
    auto [ec, n] = co_await stream_.async_read_some(buffer, kAsTuple);
    co_return IoResult{ec, n};
  }
  Awaitable<IoResult> Write(std::span<const asio::const_buffer> buffers) override {
    auto [ec, n] = co_await asio::async_write(stream_, buffers, kAsTuple);
    co_return IoResult{ec, n};
  }

  Awaitable<void> Close() override {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      if (socket().is_open()) co_await stream_.async_shutdown(kAsTuple);
    }
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  SSL* native_ssl() override {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      return nullptr;
    } else {
      return stream_.native_handle();
    }
  }

 private:
  Stream stream_;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace openpcc::net::detail
