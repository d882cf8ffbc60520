#include "openpcc/net/client.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "openpcc/net/beast.h"
#include "openpcc/net/http_text.h"
#include "openpcc/net/op_timer.h"
#include "openpcc/net/tls.h"
#include "openpcc/net/transport.h"
#include "openpcc/net/url.h"

namespace openpcc::net {
namespace {

using Clock = std::chrono::steady_clock;
using detail::IoResult;
using detail::Transport;

std::optional<std::string> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) return v;
  }
  return std::nullopt;
}

using detail::OpTimer;

Error TimeoutError(std::string_view what, Duration limit) {
  return Error(ErrorCode::kIncomplete, "http client: " + std::string(what) + " timed out after " +
                                           std::to_string(limit.count()) + " ms");
}

// The server closed a pooled connection: nothing to read would block and it is not readable data.
bool LooksAlive(tcp::socket& socket) {
  std::array<char, 1> byte{};
  ssize_t n = ::recv(socket.native_handle(), byte.data(), byte.size(), MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<std::string> ResponseHead::header(std::string_view name) const {
  return FindHeader(headers, name);
}
std::optional<std::string> ClientResponse::header(std::string_view name) const {
  return FindHeader(headers, name);
}

// ---- Pool ----

struct Client::Pool {
  struct Idle {
    std::unique_ptr<Transport> transport;
    Clock::time_point since;
  };
  std::shared_ptr<asio::ssl::context> tls;  // under mu; see Tls
  mutable std::mutex mu;

  // The TLS context, made on first use: loading the system CA store costs 50-100 ms, which a
  // client that only ever speaks plain HTTP to loopback (the local stack, bench/e2e's cold path)
  // should not pay. A configured CA file is loaded at Create instead, so a bad one fails early.
  Result<std::shared_ptr<asio::ssl::context>> Tls(const std::string& ca_file) {
    std::lock_guard lock(mu);
    if (!tls) {
      OPENPCC_ASSIGN_OR_RETURN(tls, detail::MakeClientTlsContext(ca_file));
    }
    return tls;
  }
  std::map<std::string, std::vector<Idle>> idle;
  std::atomic<uint64_t> opened{0};

  std::unique_ptr<Transport> Take(const std::string& origin, Duration max_idle) {
    std::lock_guard lock(mu);
    auto it = idle.find(origin);
    if (it == idle.end()) return nullptr;
    auto& list = it->second;
    while (!list.empty()) {
      Idle entry = std::move(list.back());
      list.pop_back();
      if (Clock::now() - entry.since < max_idle && LooksAlive(entry.transport->socket())) {
        return std::move(entry.transport);
      }
    }
    return nullptr;
  }
  void Put(const std::string& origin, std::unique_ptr<Transport> transport, size_t max_per_origin) {
    std::lock_guard lock(mu);
    auto& list = idle[origin];
    if (list.size() >= max_per_origin) list.erase(list.begin());
    list.push_back(Idle{std::move(transport), Clock::now()});
  }
};

// ---- Exchange ----

struct ClientExchange::Impl {
  enum class State { kWritingBody, kRequestSent, kReadingBody, kDone, kBroken };

  Impl(std::shared_ptr<Client> c, asio::any_io_executor ex)
      : client(std::move(c)), timer(std::move(ex)) {}
  ~Impl() {
    if (state == State::kDone && keep_alive && transport && buffer.size() == 0) {
      client->pool_->Put(origin, std::move(transport), client->options_.max_idle_per_origin);
    }
  }

  Clock::time_point OpDeadline() const {
    return std::min(Clock::now() + client->options_.idle_timeout, deadline);
  }
  void Arm() {
    Transport* t = transport.get();
    timer.Arm(OpDeadline(), [t] {
      beast::error_code ignored;
      t->socket().cancel(ignored);
    });
  }
  Error Fail(std::string_view what, const beast::error_code& ec, bool timed_out) {
    state = State::kBroken;
    if (timed_out) {
      return Clock::now() >= deadline ? TimeoutError("exchange", client->options_.total_timeout)
                                      : TimeoutError(std::string(what) + " (idle)",
                                                     client->options_.idle_timeout);
    }
    return Error(ErrorCode::kIncomplete, "http client: " + std::string(what) + ": " + ec.message());
  }
  Awaitable<Status> WriteBuffers(std::span<const asio::const_buffer> buffers, std::string_view what) {
    Arm();
    IoResult r = co_await transport->Write(buffers);
    bool timed_out = timer.Disarm();
    if (r.ec) co_return Fail(what, r.ec, timed_out);
    co_return OkStatus();
  }

  std::shared_ptr<Client> client;
  OpTimer timer;
  std::string origin;
  std::unique_ptr<Transport> transport;
  beast::flat_buffer buffer;
  bool reused = false;
  bool head_request = false;
  Clock::time_point deadline;
  std::optional<uint64_t> content_length;
  uint64_t written = 0;
  bool got_response_bytes = false;
  State state = State::kWritingBody;
  bool keep_alive = false;
  std::optional<http::response_parser<http::buffer_body>> parser;
};

ClientExchange::ClientExchange(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientExchange::ClientExchange(ClientExchange&&) noexcept = default;
ClientExchange& ClientExchange::operator=(ClientExchange&&) noexcept = default;
ClientExchange::~ClientExchange() = default;

bool ClientExchange::reused_connection() const { return impl_->reused; }

Awaitable<Status> ClientExchange::Write(std::string_view data) {
  Impl& x = *impl_;
  if (x.state != Impl::State::kWritingBody) {
    co_return Error(ErrorCode::kFailedPrecondition, "http client: Write after FinishRequest");
  }
  if (data.empty()) co_return OkStatus();
  if (x.content_length) {
    if (data.size() > *x.content_length - x.written) {
      x.state = Impl::State::kBroken;
      co_return Error(ErrorCode::kOutOfRange, "http client: request body is longer than its "
                                              "declared Content-Length " +
                                                  std::to_string(*x.content_length));
    }
    std::array<asio::const_buffer, 1> buffers{asio::buffer(data.data(), data.size())};
    OPENPCC_CO_RETURN_IF_ERROR(co_await x.WriteBuffers(buffers, "writing the request body"));
  } else {
    std::string size_line = detail::ChunkSizeLine(data.size());
    std::array<asio::const_buffer, 3> buffers{
        asio::buffer(size_line), asio::buffer(data.data(), data.size()),
        asio::buffer(detail::kCrlf.data(), detail::kCrlf.size())};
    OPENPCC_CO_RETURN_IF_ERROR(co_await x.WriteBuffers(buffers, "writing the request body"));
  }
  x.written += data.size();
  co_return OkStatus();
}

Awaitable<Status> ClientExchange::FinishRequest() {
  Impl& x = *impl_;
  if (x.state != Impl::State::kWritingBody) {
    co_return Error(ErrorCode::kFailedPrecondition, "http client: FinishRequest called twice");
  }
  if (x.content_length) {
    if (x.written != *x.content_length) {
      x.state = Impl::State::kBroken;
      co_return Error(ErrorCode::kTruncated,
                      "http client: request body has " + std::to_string(x.written) +
                          " bytes, declared Content-Length " + std::to_string(*x.content_length));
    }
  } else {
    std::array<asio::const_buffer, 1> buffers{
        asio::buffer(detail::kLastChunk.data(), detail::kLastChunk.size())};
    OPENPCC_CO_RETURN_IF_ERROR(co_await x.WriteBuffers(buffers, "writing the request body"));
  }
  x.state = Impl::State::kRequestSent;
  co_return OkStatus();
}

Awaitable<Result<ResponseHead>> ClientExchange::ReadResponseHead() {
  Impl& x = *impl_;
  if (x.state != Impl::State::kRequestSent) {
    co_return Error(ErrorCode::kFailedPrecondition,
                    "http client: ReadResponseHead needs a finished request and is called once");
  }
  for (int informational = 0; informational < 8; ++informational) {
    x.parser.emplace();
    x.parser->header_limit(static_cast<std::uint32_t>(std::min<size_t>(
        x.client->options().max_response_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    x.parser->body_limit(boost::none);  // the caller bounds the body (ReadAll) or streams it
    if (x.head_request) x.parser->skip(true);
    while (!x.parser->is_header_done()) {
      x.Arm();
      IoResult r = co_await x.transport->ReadSome(x.buffer, *x.parser);
      bool timed_out = x.timer.Disarm();
      if (r.bytes > 0 || x.parser->got_some()) x.got_response_bytes = true;
      if (r.ec == http::error::need_buffer) r.ec = {};
      if (r.ec == http::error::header_limit) {
        x.state = Impl::State::kBroken;
        co_return Error(ErrorCode::kOutOfRange,
                        "http client: response header is larger than the limit of " +
                            std::to_string(x.client->options().max_response_header_bytes) +
                            " bytes");
      }
      if (r.ec) co_return x.Fail("reading the response header", r.ec, timed_out);
    }
    const auto& res = x.parser->get();
    unsigned status = res.result_int();
    if (status >= 100 && status < 200) continue;  // 100 Continue and friends precede the answer
    ResponseHead head;
    head.status = status;
    for (const auto& field : res) {
      head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    x.keep_alive = x.parser->keep_alive();
    x.state = x.parser->is_done() ? Impl::State::kDone : Impl::State::kReadingBody;
    co_return head;
  }
  x.state = Impl::State::kBroken;
  co_return Error(ErrorCode::kMalformed, "http client: more than 8 informational responses");
}

Awaitable<Result<size_t>> ClientExchange::ReadSome(std::span<uint8_t> out) {
  Impl& x = *impl_;
  if (x.state == Impl::State::kDone) co_return size_t{0};
  if (x.state != Impl::State::kReadingBody) {
    co_return Error(ErrorCode::kFailedPrecondition,
                    "http client: ReadSome needs the response head first (or the exchange failed)");
  }
  if (out.empty()) co_return Error(ErrorCode::kInvalidArgument, "http client: empty read buffer");
  while (true) {
    auto& body = x.parser->get().body();
    body.data = out.data();
    body.size = out.size();
    x.Arm();
    IoResult r = co_await x.transport->ReadSome(x.buffer, *x.parser);
    bool timed_out = x.timer.Disarm();
    size_t got = out.size() - body.size;
    if (r.ec == http::error::need_buffer) r.ec = {};
    if (r.ec) {
      if (r.ec == http::error::partial_message || r.ec == asio::error::eof ||
          r.ec == http::error::end_of_stream) {
        x.state = Impl::State::kBroken;
        co_return Error(ErrorCode::kTruncated,
                        "http client: the server closed the connection before the body was complete");
      }
      co_return x.Fail("reading the response body", r.ec, timed_out);
    }
    if (x.parser->is_done()) x.state = Impl::State::kDone;
    if (got > 0 || x.state == Impl::State::kDone) co_return got;
  }
}

Awaitable<Result<std::string>> ClientExchange::ReadAll(size_t limit) {
  std::string body;
  std::array<uint8_t, 16 * 1024> buf{};
  while (true) {
    Result<size_t> got = co_await ReadSome(buf);
    if (!got.ok()) co_return std::move(got).error();
    if (*got == 0) break;
    if (body.size() + *got > limit) {
      impl_->state = Impl::State::kBroken;
      co_return Error(ErrorCode::kOutOfRange, "http client: response body is larger than the limit of " +
                                                  std::to_string(limit) + " bytes");
    }
    body.append(reinterpret_cast<const char*>(buf.data()), *got);
  }
  co_return body;
}

// ---- Client ----

Result<std::shared_ptr<Client>> Client::Create(asio::any_io_executor executor,
                                               ClientOptions options) {
  auto client = std::make_shared<Client>(PrivateTag{}, std::move(executor), std::move(options));
  if (!client->options_.ca_file.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(client->pool_->tls, detail::MakeClientTlsContext(client->options_.ca_file));
  }
  return client;
}

Client::Client(PrivateTag, asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)), pool_(std::make_unique<Pool>()) {}

Client::~Client() = default;

size_t Client::idle_connections() const {
  std::lock_guard lock(pool_->mu);
  size_t n = 0;
  for (const auto& [origin, list] : pool_->idle) n += list.size();
  return n;
}

uint64_t Client::connections_opened() const { return pool_->opened.load(); }

Awaitable<Result<ClientExchange>> Client::Start(ClientRequest request,
                                                std::optional<uint64_t> content_length) {
  co_return co_await StartImpl(request, content_length, true);
}

Awaitable<Result<ClientExchange>> Client::StartImpl(const ClientRequest& request,
                                                    std::optional<uint64_t> content_length,
                                                    bool allow_reuse) {
  OPENPCC_CO_ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
  if (!detail::IsToken(request.method)) {
    co_return Error(ErrorCode::kInvalidArgument, "http client: method is not an HTTP token");
  }
  bool loopback = IsLoopbackHost(url.host);
  if (!url.tls() && !loopback && !options_.allow_plaintext_non_loopback) {
    co_return Error(ErrorCode::kFailedPrecondition,
                    "http client: refusing plain http to non-loopback host " + url.host +
                        ": use https (or set allow_plaintext_non_loopback)");
  }
  std::string head = request.method + " " + url.target + " HTTP/1.1\r\nHost: " + url.HostHeader() +
                     "\r\n";
  for (const auto& [name, value] : request.headers) {
    if (!detail::IsToken(name) || detail::IsFramingHeader(name) || !detail::IsFieldValue(value)) {
      co_return Error(ErrorCode::kInvalidArgument,
                      "http client: request header " + name +
                          " is not a valid field or is set by the client itself");
    }
    head += name + ": " + value + "\r\n";
  }
  bool bodiless_method = request.method == "GET" || request.method == "HEAD";
  if (!content_length) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (*content_length > 0 || !bodiless_method) {
    head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  }
  head += "\r\n";

  asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto impl = std::make_unique<ClientExchange::Impl>(shared_from_this(), executor);
  impl->origin = url.Origin();
  impl->deadline = Clock::now() + options_.total_timeout;
  impl->content_length = content_length;
  impl->head_request = request.method == "HEAD";
  if (allow_reuse) impl->transport = pool_->Take(impl->origin, options_.pool_idle_timeout);
  impl->reused = impl->transport != nullptr;

  if (!impl->transport) {
    Clock::time_point connect_deadline =
        std::min(Clock::now() + options_.connect_timeout, impl->deadline);
    // Resolve (numeric hosts need no lookup); loopback names may only reach loopback addresses.
    tcp::resolver resolver(executor_);
    impl->timer.Arm(connect_deadline, [&resolver] { resolver.cancel(); });
    auto [rec, results] =
        co_await resolver.async_resolve(url.host, std::to_string(url.port), kAsTuple);
    if (impl->timer.Disarm()) co_return TimeoutError("connect (resolve)", options_.connect_timeout);
    if (rec) {
      co_return Error(ErrorCode::kFailedPrecondition,
                      "http client: cannot resolve " + url.host + ": " + rec.message());
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
      if (!loopback || entry.endpoint().address().is_loopback()) endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty()) {
      co_return Error(ErrorCode::kFailedPrecondition,
                      "http client: loopback host " + url.host + " resolves to no loopback address");
    }
    tcp::socket socket(executor_);
    impl->timer.Arm(connect_deadline, [&socket] {
      beast::error_code ignored;
      socket.close(ignored);
    });
    auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, kAsTuple);
    if (impl->timer.Disarm()) co_return TimeoutError("connect", options_.connect_timeout);
    if (cec) {
      co_return Error(ErrorCode::kFailedPrecondition,
                      "http client: cannot connect to " + impl->origin + ": " + cec.message());
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (url.tls()) {
      Result<std::shared_ptr<asio::ssl::context>> tls = pool_->Tls(options_.ca_file);
      if (!tls.ok()) co_return tls.error();
      impl->transport = std::make_unique<detail::TransportImpl<detail::TlsStream>>(
          detail::TlsStream(beast::tcp_stream(std::move(socket)), **tls));
      OPENPCC_CO_RETURN_IF_ERROR(detail::RequireServerName(impl->transport->native_ssl(), url.host));
      Transport* t = impl->transport.get();
      impl->timer.Arm(connect_deadline, [t] {
        beast::error_code ignored_ec;
        t->socket().cancel(ignored_ec);
      });
      // Computed before the co_await: g++ 12 destroys temporaries of a conditional expression
      // inside a co_await twice.
      std::string sni = detail::IsIpLiteral(url.host) ? std::string() : url.host;
      beast::error_code hec = co_await impl->transport->Handshake(false, sni);
      if (impl->timer.Disarm()) co_return TimeoutError("TLS handshake", options_.connect_timeout);
      if (hec) {
        co_return Error(ErrorCode::kAuthenticationFailed,
                        "http client: TLS handshake with " + impl->origin + " failed: " +
                            hec.message());
      }
    } else {
      impl->transport = std::make_unique<detail::TransportImpl<detail::PlainStream>>(
          beast::tcp_stream(std::move(socket)));
    }
    pool_->opened.fetch_add(1);
  }

  std::array<asio::const_buffer, 1> buffers{asio::buffer(head)};
  OPENPCC_CO_RETURN_IF_ERROR(co_await impl->WriteBuffers(buffers, "writing the request header"));
  co_return ClientExchange(std::move(impl));
}

Awaitable<Result<Client::Opened>> Client::Send(ClientRequest request, std::string_view body) {
  for (int attempt = 0;; ++attempt) {
    Result<ClientExchange> started = co_await StartImpl(request, body.size(), attempt == 0);
    if (!started.ok()) co_return std::move(started).error();
    ClientExchange& exchange = *started;
    // No co_await inside a conditional expression: g++ 12 miscompiles it.
    Status sent = co_await exchange.Write(body);
    if (sent.ok()) sent = co_await exchange.FinishRequest();
    Result<ResponseHead> head = sent.error();
    if (sent.ok()) head = co_await exchange.ReadResponseHead();
    // A pooled connection the server closed just before our request: retry once on a new one.
    if (!head.ok() && exchange.reused_connection() && attempt == 0 &&
        !exchange.impl_->got_response_bytes) {
      continue;
    }
    if (!head.ok()) co_return std::move(head).error();
    co_return Opened{std::move(exchange), std::move(head).value()};
  }
}

Awaitable<Result<ClientResponse>> Client::Fetch(ClientRequest request, std::string_view body,
                                                size_t max_response_bytes) {
  OPENPCC_CO_ASSIGN_OR_RETURN(Opened opened, co_await Send(std::move(request), body));
  OPENPCC_CO_ASSIGN_OR_RETURN(std::string response_body,
                              co_await opened.exchange.ReadAll(max_response_bytes));
  co_return ClientResponse{opened.head.status, std::move(opened.head.headers),
                           std::move(response_body)};
}

// ---- BlockingClient ----

struct BlockingClient::Io {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{asio::make_work_guard(ioc)};
  std::thread thread;

  template <typename T, typename MakeCoroutine>
  Result<T> Run(MakeCoroutine make) {
    std::optional<Result<T>> result;
    std::future<void> done = asio::co_spawn(
        ioc,
        [&]() -> Awaitable<void> { result.emplace(co_await make()); },
        asio::use_future);
    try {
      done.get();
    } catch (const std::exception& e) {
      return Error(ErrorCode::kInternal, std::string("http client: ") + e.what());
    }
    return std::move(*result);
  }
};

BlockingClient::BlockingClient() : io_(std::make_unique<Io>()) {}

BlockingClient::~BlockingClient() {
  io_->work.reset();
  client_.reset();
  io_->ioc.stop();
  if (io_->thread.joinable()) io_->thread.join();
}

Result<std::unique_ptr<BlockingClient>> BlockingClient::Create(ClientOptions options) {
  std::unique_ptr<BlockingClient> blocking(new BlockingClient());
  Io* io = blocking->io_.get();
  OPENPCC_ASSIGN_OR_RETURN(blocking->client_,
                           Client::Create(io->ioc.get_executor(), std::move(options)));
  io->thread = std::thread([io] { io->ioc.run(); });
  return blocking;
}

Result<ClientResponse> BlockingClient::Fetch(const ClientRequest& request, std::string_view body,
                                             size_t max_response_bytes) {
  return io_->Run<ClientResponse>(
      [&]() { return client_->Fetch(request, body, max_response_bytes); });
}

Result<ResponseHead> BlockingClient::FetchStreaming(
    const ClientRequest& request, std::string_view body,
    const std::function<Status(std::string_view)>& on_chunk) {
  auto run = [&]() -> Awaitable<Result<ResponseHead>> {
    OPENPCC_CO_ASSIGN_OR_RETURN(Client::Opened opened, co_await client_->Send(request, body));
    std::array<uint8_t, 16 * 1024> buf{};
    while (true) {
      OPENPCC_CO_ASSIGN_OR_RETURN(size_t n, co_await opened.exchange.ReadSome(buf));
      if (n == 0) break;
      OPENPCC_CO_RETURN_IF_ERROR(on_chunk(std::string_view(reinterpret_cast<const char*>(buf.data()), n)));
    }
    co_return std::move(opened.head);
  };
  return io_->Run<ResponseHead>(run);
}

}  // namespace openpcc::net
