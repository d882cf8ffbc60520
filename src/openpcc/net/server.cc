#include "openpcc/net/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

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

// A refusal the server answers itself: status, the `code` naming the limit or check, a message.
struct Refusal {
  unsigned status;
  std::string code;
  std::string message;
};

const char* ErrorType(unsigned status) {
  if (status == 408 || status == 413 || status == 431 || status == 503) return "limit_exceeded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

Duration Since(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration_cast<Duration>(end - start);
}

class ServerImpl;

}  // namespace

std::string ErrorJson(std::string_view type, std::string_view code, std::string_view message) {
  return "{\"error\":{\"message\":\"" + detail::JsonEscape(message) + "\",\"type\":\"" +
         detail::JsonEscape(type) + "\",\"code\":\"" + detail::JsonEscape(code) + "\"}}";
}

std::string FormatAccessLog(const AccessLogEntry& e) {
  std::string out = "id=" + std::to_string(e.request_id) + " " + e.method + " " + e.route + " " +
                    std::to_string(e.status) + " in=" + std::to_string(e.request_bytes) +
                    " out=" + std::to_string(e.response_bytes) +
                    " ttfb=" + std::to_string(e.time_to_first_byte.count()) + "ms" +
                    " total=" + std::to_string(e.total_time.count()) + "ms";
  if (!e.limit.empty()) out += " limit=" + e.limit;
  return out;
}

namespace {

class Connection;

}  // namespace

namespace detail {

// The state of one request/response on a connection, reached by Request and Response.
class ServerExchange {
 public:
  ServerExchange(Connection& connection, uint64_t request_id) : conn(connection), id(request_id) {}

  Connection& conn;
  const uint64_t id;
  std::string method;
  std::string target;
  CancelSource cancel;

  // Request body.
  bool body_done = false;
  bool expect_continue = false;
  uint64_t body_bytes = 0;
  std::optional<Error> body_error;
  std::optional<Refusal> refusal;  // a limit the body hit, answered if the handler did not

  // Response.
  enum class State { kNone, kStreaming, kDone, kFailed };
  State state = State::kNone;
  std::string extra_headers;
  unsigned status = 0;
  bool keep_alive = false;
  uint64_t response_bytes = 0;
  Clock::time_point header_time{};
  Clock::time_point first_byte_time{};
};

}  // namespace detail

namespace {

using detail::ServerExchange;

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(ServerOptions options, Router router)
      : options_(std::move(options)),
        router_(std::move(router)),
        work_(asio::make_work_guard(ioc_)),
        acceptor_(asio::make_strand(ioc_)) {}
  ~ServerImpl() override { Shutdown(Duration(0)); }

  Status Listen();
  void Run();

  uint16_t port() const override { return port_; }
  asio::any_io_executor executor() override { return ioc_.get_executor(); }
  void Shutdown(Duration grace) override;
  size_t active_streams() const override { return streams_.load(); }
  size_t active_connections() const override { return connections_.load(); }

  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  bool stopping() const { return stopping_.load(); }
  uint64_t NextRequestId() { return next_request_id_.fetch_add(1); }
  bool TryAddStream() {
    size_t n = streams_.load();
    while (n < options_.limits.max_streams) {
      if (streams_.compare_exchange_weak(n, n + 1)) return true;
    }
    return false;
  }
  void RemoveStream() { streams_.fetch_sub(1); }
  void Unregister(uint64_t id, bool counted);
  void Log(const AccessLogEntry& entry) {
    if (options_.access_log) options_.access_log(entry);
  }

 private:
  Awaitable<void> AcceptLoop();
  template <typename Fn>
  void ForEachConnection(Fn fn);

  ServerOptions options_;
  Router router_;
  std::shared_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;

  std::atomic<size_t> connections_{0};  // counted against max_connections
  std::atomic<size_t> refused_{0};      // connections being answered 503
  std::atomic<size_t> streams_{0};
  std::atomic<uint64_t> next_request_id_{1};
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable all_closed_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_by_id_;
  uint64_t next_connection_id_ = 1;
  bool shut_down_ = false;

  // Declared last but for the acceptor: destroying the io_context destroys the coroutine frames of
  // connections still open, whose destructors reach the members above.
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerImpl& server, uint64_t id, std::unique_ptr<Transport> transport, bool counted)
      : server_(server),
        limits_(server.options().limits),
        id_(id),
        counted_(counted),
        transport_(std::move(transport)),
        executor_(transport_->socket().get_executor()),
        op_timer_(executor_),
        request_timer_(executor_) {}
  ~Connection() { server_.Unregister(id_, counted_); }

  asio::any_io_executor executor() const { return executor_; }
  Awaitable<void> Run();

  // Called on the strand by Server::Shutdown.
  void NudgeIfIdle() {
    if (idle_) CancelIo();
  }
  void ForceClose() {
    if (exchange_) exchange_->cancel.Cancel();
    beast::error_code ignored;
    transport_->socket().close(ignored);
  }

  // For Request and Response.
  Awaitable<Result<size_t>> ReadBody(ServerExchange& ex, std::span<uint8_t> out);
  Awaitable<Status> SendWhole(ServerExchange& ex, unsigned status, std::string_view body,
                              std::string_view content_type);
  Awaitable<Status> StartStream(ServerExchange& ex, unsigned status, std::string_view content_type);
  Awaitable<Status> WriteChunk(ServerExchange& ex, std::string_view chunk);
  Awaitable<Status> FinishStream(ServerExchange& ex);
  bool header_has(std::string_view name, std::optional<std::string_view>* value) const;
  std::optional<uint64_t> content_length() const {
    auto length = parser_->content_length();
    if (!length) return std::nullopt;
    return *length;
  }

 private:
  enum class Phase { kIdle, kRequest };
  void CancelIo() {
    beast::error_code ignored;
    transport_->socket().cancel(ignored);
  }
  // The deadline of the next I/O operation: idle timeout, capped by the request's time.
  Clock::time_point OpDeadline() const {
    Clock::time_point d = Clock::now() + limits_.idle_timeout;
    if (request_deadline_) d = std::min(d, *request_deadline_);
    return d;
  }
  void ArmOpTimer(Clock::time_point deadline);
  // Stops the timer; true if it fired (the operation was cancelled by the timeout).
  bool DisarmOpTimer();
  Refusal TimeoutRefusal() const;
  Awaitable<Status> WriteBuffers(ServerExchange* ex, std::span<const asio::const_buffer> buffers);
  Awaitable<void> Refuse(const Refusal& refusal, ServerExchange* ex);
  std::string ResponseHead(ServerExchange& ex, unsigned status, std::string_view content_type);
  void StartDisconnectWatch();
  Awaitable<bool> ServeOne();

  ServerImpl& server_;
  const ServerLimits limits_;
  const uint64_t id_;
  const bool counted_;
  std::unique_ptr<Transport> transport_;
  asio::any_io_executor executor_;
  detail::OpTimer op_timer_;
  asio::steady_timer request_timer_;
  bool request_timer_fired_ = false;
  bool watching_ = false;
  bool handler_running_ = false;
  bool idle_ = true;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::optional<Clock::time_point> request_deadline_;
  ServerExchange* exchange_ = nullptr;
};

void Connection::ArmOpTimer(Clock::time_point deadline) {
  // `this` outlives the timer's handlers: OpTimer is a member, and a wait completing after it is
  // gone does nothing.
  op_timer_.Arm(deadline, [this] { CancelIo(); });
}

bool Connection::DisarmOpTimer() { return op_timer_.Disarm(); }

Refusal Connection::TimeoutRefusal() const {
  if (request_deadline_ && Clock::now() >= *request_deadline_) {
    return {408, "request_time",
            "request exceeded the time limit of " +
                std::to_string(limits_.max_request_time.count()) + " ms"};
  }
  return {408, "idle_timeout",
          "no data for " + std::to_string(limits_.idle_timeout.count()) + " ms (idle timeout)"};
}

Awaitable<Status> Connection::WriteBuffers(ServerExchange* ex,
                                           std::span<const asio::const_buffer> buffers) {
  ArmOpTimer(OpDeadline());
  IoResult r = co_await transport_->Write(buffers);
  bool timed_out = DisarmOpTimer();
  if (r.ec) {
    if (ex) {
      ex->state = ServerExchange::State::kFailed;
      ex->cancel.Cancel();
    }
    if (timed_out || request_timer_fired_) {
      co_return Error(ErrorCode::kIncomplete, "http: " + TimeoutRefusal().message + " while writing");
    }
    co_return Error(ErrorCode::kIncomplete, "http: writing the response failed: " + r.ec.message());
  }
  co_return OkStatus();
}

std::string Connection::ResponseHead(ServerExchange& ex, unsigned status,
                                     std::string_view content_type) {
  ex.status = status;
  ex.keep_alive = parser_->keep_alive() && ex.body_done && !server_.stopping() && !ex.refusal;
  ex.header_time = Clock::now();
  std::string head = detail::StatusLine(status);
  if (!content_type.empty()) head += "Content-Type: " + std::string(content_type) + "\r\n";
  head += ex.extra_headers;
  if (!ex.keep_alive) head += "Connection: close\r\n";
  return head;
}

Awaitable<Status> Connection::SendWhole(ServerExchange& ex, unsigned status, std::string_view body,
                                        std::string_view content_type) {
  if (ex.state != ServerExchange::State::kNone) {
    co_return Error(ErrorCode::kFailedPrecondition, "http: the response was already started");
  }
  if (status < 200 || status > 999) {
    co_return Error(ErrorCode::kInvalidArgument, "http: response status must be in [200, 999]");
  }
  ex.state = ServerExchange::State::kDone;
  std::string head = ResponseHead(ex, status, content_type);
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.data(), body.size())};
  Status s = co_await WriteBuffers(&ex, buffers);
  if (s.ok()) ex.response_bytes = body.size();
  co_return s;
}

Awaitable<Status> Connection::StartStream(ServerExchange& ex, unsigned status,
                                          std::string_view content_type) {
  if (ex.state != ServerExchange::State::kNone) {
    co_return Error(ErrorCode::kFailedPrecondition, "http: the response was already started");
  }
  if (status < 200 || status > 999 || status == 204 || status == 304) {
    co_return Error(ErrorCode::kInvalidArgument, "http: a streamed response needs a status with a body");
  }
  ex.state = ServerExchange::State::kStreaming;
  std::string head = ResponseHead(ex, status, content_type);
  head += "Transfer-Encoding: chunked\r\n\r\n";
  std::array<asio::const_buffer, 1> buffers{asio::buffer(head)};
  co_return co_await WriteBuffers(&ex, buffers);
}

Awaitable<Status> Connection::WriteChunk(ServerExchange& ex, std::string_view chunk) {
  if (ex.state != ServerExchange::State::kStreaming) {
    co_return Error(ErrorCode::kFailedPrecondition, "http: Write needs a started, unfinished stream");
  }
  if (chunk.empty()) co_return OkStatus();  // an empty chunk would end the body
  if (ex.first_byte_time == Clock::time_point{}) ex.first_byte_time = Clock::now();
  std::string size_line = detail::ChunkSizeLine(chunk.size());
  std::array<asio::const_buffer, 3> buffers{asio::buffer(size_line),
                                            asio::buffer(chunk.data(), chunk.size()),
                                            asio::buffer(detail::kCrlf.data(), detail::kCrlf.size())};
  Status s = co_await WriteBuffers(&ex, buffers);
  if (s.ok()) ex.response_bytes += chunk.size();
  co_return s;
}

Awaitable<Status> Connection::FinishStream(ServerExchange& ex) {
  if (ex.state != ServerExchange::State::kStreaming) {
    co_return Error(ErrorCode::kFailedPrecondition, "http: Finish needs a started, unfinished stream");
  }
  std::array<asio::const_buffer, 1> buffers{
      asio::buffer(detail::kLastChunk.data(), detail::kLastChunk.size())};
  Status s = co_await WriteBuffers(&ex, buffers);
  if (s.ok()) ex.state = ServerExchange::State::kDone;
  co_return s;
}

Awaitable<Result<size_t>> Connection::ReadBody(ServerExchange& ex, std::span<uint8_t> out) {
  if (ex.body_error) co_return *ex.body_error;
  if (ex.body_done) co_return size_t{0};
  if (out.empty()) {
    co_return Error(ErrorCode::kInvalidArgument, "http: ReadSome needs a non-empty buffer");
  }
  if (ex.expect_continue) {
    ex.expect_continue = false;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    std::array<asio::const_buffer, 1> buffers{asio::buffer(kContinue.data(), kContinue.size())};
    Status s = co_await WriteBuffers(nullptr, buffers);
    if (!s.ok()) {
      ex.body_error = s.error();
      co_return s.error();
    }
  }
  while (true) {
    auto& body = parser_->get().body();
    body.data = out.data();
    body.size = out.size();
    body.more = true;
    ArmOpTimer(OpDeadline());
    IoResult r = co_await transport_->ReadSome(buffer_, *parser_);
    bool timed_out = DisarmOpTimer();
    size_t got = out.size() - body.size;
    if (r.ec == http::error::need_buffer) r.ec = {};
    if (r.ec) {
      if (r.ec == http::error::body_limit) {
        ex.refusal = Refusal{413, "body_size",
                             "request body is larger than the limit of " +
                                 std::to_string(limits_.max_body_bytes) + " bytes"};
        ex.body_error = Error(ErrorCode::kOutOfRange, "http: " + ex.refusal->message);
      } else if (timed_out || request_timer_fired_) {
        ex.refusal = TimeoutRefusal();
        ex.body_error = Error(ErrorCode::kTruncated, "http: " + ex.refusal->message);
      } else if (r.ec == http::error::end_of_stream || r.ec == http::error::partial_message ||
                 r.ec == asio::error::eof || r.ec == asio::error::connection_reset ||
                 r.ec == asio::error::operation_aborted) {
        ex.body_error = Error(ErrorCode::kTruncated,
                              "http: the client closed the connection before the body was complete");
        ex.cancel.Cancel();
      } else {
        ex.refusal = Refusal{400, "bad_request", "malformed request body: " + r.ec.message()};
        ex.body_error = Error(ErrorCode::kMalformed, "http: " + ex.refusal->message);
      }
      co_return *ex.body_error;
    }
    ex.body_bytes += got;
    if (parser_->is_done()) {
      ex.body_done = true;
      StartDisconnectWatch();
    }
    if (got > 0 || ex.body_done) co_return got;
  }
}

bool Connection::header_has(std::string_view name, std::optional<std::string_view>* value) const {
  const auto& fields = parser_->get();
  auto it = fields.find(beast::string_view(name.data(), name.size()));
  if (it == fields.end()) return false;
  *value = std::string_view(it->value().data(), it->value().size());
  return true;
}

// While the handler runs and the body is read, a readable socket means the client closed it (or
// pipelined the next request, which we cannot tell from a TLS record and then stop watching).
void Connection::StartDisconnectWatch() {
  if (watching_ || !handler_running_ || !exchange_) return;
  watching_ = true;
  uint64_t id = exchange_->id;
  transport_->socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), id](beast::error_code ec) {
        self->watching_ = false;
        ServerExchange* ex = self->exchange_;
        if (ec || !ex || ex->id != id) return;
        std::array<char, 1> byte{};
        ssize_t n = ::recv(self->transport_->socket().native_handle(), byte.data(), byte.size(),
                           MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ex->cancel.Cancel();
      });
}

Awaitable<void> Connection::Refuse(const Refusal& refusal, ServerExchange* ex) {
  std::string body = ErrorJson(ErrorType(refusal.status), refusal.code, refusal.message);
  std::string head = detail::StatusLine(refusal.status);
  head += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n";
  if (ex) {
    ex->state = ServerExchange::State::kDone;
    ex->status = refusal.status;
    ex->keep_alive = false;
    ex->response_bytes = body.size();
    ex->header_time = Clock::now();
  }
  // The answer to a refusal gets one idle period, whatever is left of the request's time.
  request_deadline_.reset();
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body)};
  (void)co_await WriteBuffers(nullptr, buffers);
}

Awaitable<void> Connection::Run() {
  if (transport_->tls()) {
    ArmOpTimer(Clock::now() + limits_.idle_timeout);
    beast::error_code ec = co_await transport_->Handshake(true, "");
    DisarmOpTimer();
    if (ec) {
      beast::error_code ignored;
      transport_->socket().close(ignored);
      co_return;
    }
  }
  if (!counted_) {
    // Named, not a braced temporary: g++ 12 destroys aggregate temporaries in co_await twice.
    Refusal refusal{503, "max_connections",
                    "the server has " + std::to_string(limits_.max_connections) +
                        " connections open (limit)"};
    co_await Refuse(refusal, nullptr);
  } else {
    while (!server_.stopping()) {
      bool keep_alive = co_await ServeOne();
      if (!keep_alive) break;
    }
  }
  ArmOpTimer(Clock::now() + std::min(limits_.idle_timeout, Duration(1000)));
  co_await transport_->Close();
  DisarmOpTimer();
  op_timer_.Stop();
}

// Serves one request; returns whether the connection may carry another.
Awaitable<bool> Connection::ServeOne() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(limits_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(limits_.max_body_bytes);
  request_deadline_.reset();
  request_timer_fired_ = false;
  idle_ = true;

  Clock::time_point start{};
  auto begin_request = [&] {
    if (request_deadline_) return;
    start = Clock::now();
    request_deadline_ = start + limits_.max_request_time;
    idle_ = false;
  };
  if (buffer_.size() > 0) begin_request();

  // ---- Header ----
  // Raw reads fed to the parser, so that the idle timer restarts with every read: Beast's own
  // read loop would wait for the whole header under one timer.
  while (!parser_->is_header_done()) {
    IoResult r;
    bool timed_out = false;
    if (buffer_.size() > 0) {
      size_t used = parser_->put(buffer_.data(), r.ec);
      buffer_.consume(used);
      if (r.ec == http::error::need_more) r.ec = {};
      if (!r.ec && (used > 0 || parser_->is_header_done())) continue;
    }
    if (!r.ec) {
      ArmOpTimer(OpDeadline());
      r = co_await transport_->ReadRaw(buffer_.prepare(4096));
      timed_out = DisarmOpTimer();
      buffer_.commit(r.bytes);
      if (r.bytes > 0) begin_request();
      if (r.ec == asio::error::eof && r.bytes > 0) r.ec = {};
      if (!r.ec) continue;
    }
    if (!request_deadline_) co_return false;  // idle, closed or shut down between requests
    AccessLogEntry entry;
    entry.request_id = server_.NextRequestId();
    entry.route = "-";
    Refusal refusal{400, "bad_request", "malformed request header: " + r.ec.message()};
    if (timed_out) {
      refusal = TimeoutRefusal();
    } else if (r.ec == http::error::header_limit) {
      refusal = {431, "header_size",
                 "request header is larger than the limit of " +
                     std::to_string(limits_.max_header_bytes) + " bytes"};
    } else if (r.ec == http::error::body_limit) {
      refusal = {413, "body_size",
                 "request body is larger than the limit of " +
                     std::to_string(limits_.max_body_bytes) + " bytes"};
    } else if (r.ec == asio::error::eof || r.ec == http::error::end_of_stream ||
               r.ec == http::error::partial_message || r.ec == asio::error::connection_reset ||
               r.ec == asio::error::operation_aborted) {
      co_return false;
    }
    co_await Refuse(refusal, nullptr);
    entry.status = refusal.status;
    entry.limit = refusal.code;
    entry.total_time = Since(start, Clock::now());
    server_.Log(entry);
    co_return false;
  }
  begin_request();

  // ---- Dispatch ----
  ServerExchange ex(*this, server_.NextRequestId());
  const auto& req = parser_->get();
  ex.method = std::string(req.method_string());
  ex.target = std::string(req.target());
  ex.body_done = parser_->is_done();
  AccessLogEntry entry;
  entry.request_id = ex.id;
  entry.method = detail::IsToken(ex.method) ? ex.method : "-";
  entry.route = "-";

  std::string_view path = std::string_view(ex.target).substr(0, ex.target.find('?'));
  Router::Match match = server_.router().Find(ex.method, path);
  bool stream_counted = false;
  std::optional<Refusal> refusal;
  if (!server_.TryAddStream()) {
    refusal = Refusal{503, "max_streams",
                      "the server is serving " + std::to_string(limits_.max_streams) +
                          " requests (limit)"};
  } else {
    stream_counted = true;
    if (!match.handler) {
      refusal = match.allow.empty()
                    ? Refusal{404, "not_found", "no route for this path"}
                    : Refusal{405, "method_not_allowed", "allowed methods: " + match.allow};
    }
  }

  if (refusal) {
    if (refusal->status == 405) ex.extra_headers = "Allow: " + match.allow + "\r\n";
    if (refusal->status == 404 || refusal->status == 405) {
      // No limit was hit, so the connection may be kept if there is no body left to skip.
      std::string body = ErrorJson(ErrorType(refusal->status), refusal->code, refusal->message);
      (void)co_await SendWhole(ex, refusal->status, body, "application/json");
    } else {
      co_await Refuse(*refusal, &ex);
    }
    entry.limit = refusal->code == "not_found" || refusal->code == "method_not_allowed"
                      ? ""
                      : refusal->code;
  } else {
    entry.route = match.route;
    if (!ex.body_done) {
      std::optional<std::string_view> expect;
      if (header_has("Expect", &expect) && expect && beast::iequals(*expect, "100-continue")) {
        ex.expect_continue = true;
      }
    }
    exchange_ = &ex;
    handler_running_ = true;
    request_timer_.expires_at(*request_deadline_);
    request_timer_.async_wait([self = shared_from_this(), id = ex.id](beast::error_code ec) {
      ServerExchange* current = self->exchange_;
      if (ec || !current || current->id != id) return;
      self->request_timer_fired_ = true;
      current->cancel.Cancel();
      self->CancelIo();
    });
    if (ex.body_done) StartDisconnectWatch();

    Request request(ex);
    Response response(ex);
    bool threw = false;
    try {
      co_await (*match.handler)(request, response);
    } catch (...) {
      threw = true;
    }
    handler_running_ = false;
    request_timer_.cancel();
    if (watching_) CancelIo();
    exchange_ = nullptr;

    if (ex.state == ServerExchange::State::kNone) {
      if (ex.refusal) {
        co_await Refuse(*ex.refusal, &ex);
      } else if (request_timer_fired_) {
        Refusal timeout = TimeoutRefusal();
        co_await Refuse(timeout, &ex);
      } else if (!ex.cancel.cancelled() || threw) {
        Refusal internal{500, "handler_error",
                         threw ? "the handler failed" : "the handler returned without a response"};
        co_await Refuse(internal, &ex);
      }
    }
    if (ex.refusal) entry.limit = ex.refusal->code;
    if (request_timer_fired_ && entry.limit.empty()) entry.limit = "request_time";
  }

  if (stream_counted) server_.RemoveStream();
  Clock::time_point end = Clock::now();
  entry.status = ex.status;
  entry.request_bytes = ex.body_bytes;
  entry.response_bytes = ex.response_bytes;
  if (ex.header_time != Clock::time_point{}) entry.time_to_first_byte = Since(start, ex.header_time);
  entry.total_time = Since(start, end);
  server_.Log(entry);
  co_return ex.state == ServerExchange::State::kDone && ex.keep_alive && !server_.stopping();
}

// ---- ServerImpl ----

Status ServerImpl::Listen() {
  const ServerLimits& l = options_.limits;
  if (options_.threads == 0 || l.max_connections == 0 || l.max_streams == 0 ||
      l.max_header_bytes == 0 || l.idle_timeout <= Duration(0) ||
      l.max_request_time <= Duration(0)) {
    return Error(ErrorCode::kInvalidArgument,
                 "server: threads, limits and timeouts must all be positive");
  }
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.address, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "server: listen address \"" + options_.address + "\" is not an IP address");
  }
  if (!address.is_loopback() && !options_.tls && !options_.allow_insecure_non_loopback) {
    return Error(ErrorCode::kFailedPrecondition,
                 "server: refusing to listen on non-loopback address " + options_.address +
                     " without TLS: configure a certificate and key, or set "
                     "allow_insecure_non_loopback explicitly");
  }
  if (options_.tls) {
    OPENPCC_ASSIGN_OR_RETURN(tls_, detail::MakeServerTlsContext(
                                       options_.tls->certificate_chain_file,
                                       options_.tls->private_key_file));
  }
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kFailedPrecondition, "server: cannot listen on " + options_.address +
                                                     ":" + std::to_string(options_.port) + ": " +
                                                     ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return OkStatus();
}

void ServerImpl::Run() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
  threads_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
}

Awaitable<void> ServerImpl::AcceptLoop() {
  while (true) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kAsTuple);
    if (ec) {
      if (!acceptor_.is_open() || stopping_.load()) co_return;
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer backoff(co_await asio::this_coro::executor, Duration(50));
      co_await backoff.async_wait(kAsTuple);
      continue;
    }
    if (stopping_.load()) continue;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);

    bool counted = false;
    size_t n = connections_.load();
    while (n < options_.limits.max_connections) {
      if (connections_.compare_exchange_weak(n, n + 1)) {
        counted = true;
        break;
      }
    }
    // Refusals are answered too (503), but only a bounded number at once; beyond that, close.
    if (!counted) {
      if (refused_.fetch_add(1) >= 64) {
        refused_.fetch_sub(1);
        socket.close(ignored);
        continue;
      }
    }
    std::unique_ptr<Transport> transport;
    if (tls_) {
      transport = std::make_unique<detail::TransportImpl<detail::TlsStream>>(
          detail::TlsStream(beast::tcp_stream(std::move(socket)), *tls_));
    } else {
      transport = std::make_unique<detail::TransportImpl<detail::PlainStream>>(
          beast::tcp_stream(std::move(socket)));
    }
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(mu_);
      uint64_t id = next_connection_id_++;
      conn = std::make_shared<Connection>(*this, id, std::move(transport), counted);
      connections_by_id_[id] = conn;
    }
    asio::co_spawn(conn->executor(), [conn]() -> Awaitable<void> { co_await conn->Run(); },
                   asio::detached);
  }
}

void ServerImpl::Unregister(uint64_t id, bool counted) {
  std::lock_guard lock(mu_);
  connections_by_id_.erase(id);
  if (counted) {
    connections_.fetch_sub(1);
  } else {
    refused_.fetch_sub(1);
  }
  all_closed_.notify_all();
}

template <typename Fn>
void ServerImpl::ForEachConnection(Fn fn) {
  // Collected under the lock, posted and released outside it: dropping the last reference runs
  // ~Connection, which takes the lock to unregister.
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : connections_by_id_) {
      if (auto conn = weak.lock()) conns.push_back(std::move(conn));
    }
  }
  for (auto& conn : conns) asio::post(conn->executor(), [conn, fn] { fn(*conn); });
}

void ServerImpl::Shutdown(Duration grace) {
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  stopping_.store(true);
  if (!threads_.empty()) {
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    ForEachConnection([](Connection& c) { c.NudgeIfIdle(); });
    auto no_connections = [this] { return connections_by_id_.empty(); };
    {
      std::unique_lock lock(mu_);
      all_closed_.wait_for(lock, grace, no_connections);
    }
    ForEachConnection([](Connection& c) { c.ForceClose(); });
    {
      std::unique_lock lock(mu_);
      all_closed_.wait_for(lock, Duration(2000), no_connections);
    }
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace

// ---- Request / Response ----

namespace {
Connection& ConnOf(detail::ServerExchange* ex) { return ex->conn; }
}  // namespace

uint64_t Request::id() const { return exchange_->id; }
std::string_view Request::method() const { return exchange_->method; }
std::string_view Request::target() const { return exchange_->target; }
std::string_view Request::path() const {
  std::string_view t = exchange_->target;
  return t.substr(0, t.find('?'));
}
std::string_view Request::query() const {
  std::string_view t = exchange_->target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}
std::optional<std::string_view> Request::header(std::string_view name) const {
  std::optional<std::string_view> value;
  if (!ConnOf(exchange_).header_has(name, &value)) return std::nullopt;
  return value;
}
std::optional<uint64_t> Request::content_length() const {
  auto length = ConnOf(exchange_).content_length();
  if (!length) return std::nullopt;
  return *length;
}
bool Request::body_complete() const { return exchange_->body_done; }
CancelToken Request::cancel_token() const { return exchange_->cancel.token(); }

Awaitable<Result<size_t>> Request::ReadSome(std::span<uint8_t> out) {
  return ConnOf(exchange_).ReadBody(*exchange_, out);
}

Awaitable<Result<std::string>> Request::ReadAll(size_t limit) {
  detail::ServerExchange& ex = *exchange_;
  auto refuse = [&ex](size_t max) {
    ex.refusal = Refusal{413, "body_size",
                         "request body is larger than the limit of " + std::to_string(max) +
                             " bytes"};
    ex.body_error = Error(ErrorCode::kOutOfRange, "http: " + ex.refusal->message);
    return *ex.body_error;
  };
  std::optional<uint64_t> declared = content_length();
  if (declared && *declared > limit) co_return refuse(limit);
  std::string body;
  if (declared) body.reserve(static_cast<size_t>(*declared));
  std::array<uint8_t, 16 * 1024> buf{};
  while (true) {
    Result<size_t> got = co_await ReadSome(buf);
    if (!got.ok()) co_return std::move(got).error();
    size_t n = *got;
    if (n == 0) break;
    if (body.size() + n > limit) co_return refuse(limit);
    body.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  co_return body;
}

Status Response::SetHeader(std::string_view name, std::string_view value) {
  if (exchange_->state != detail::ServerExchange::State::kNone) {
    return Error(ErrorCode::kFailedPrecondition, "http: SetHeader after the response started");
  }
  if (!detail::IsToken(name)) {
    return Error(ErrorCode::kInvalidArgument, "http: header name is not an HTTP token");
  }
  if (detail::IsFramingHeader(name)) {
    return Error(ErrorCode::kInvalidArgument,
                 "http: header " + std::string(name) + " is set by the server");
  }
  if (!detail::IsFieldValue(value)) {
    return Error(ErrorCode::kInvalidArgument,
                 "http: value of header " + std::string(name) + " contains a control byte");
  }
  exchange_->extra_headers += std::string(name) + ": " + std::string(value) + "\r\n";
  return OkStatus();
}

Awaitable<Status> Response::Send(unsigned status, std::string_view body,
                                 std::string_view content_type) {
  return ConnOf(exchange_).SendWhole(*exchange_, status, body, content_type);
}

Awaitable<Status> Response::SendError(unsigned status, std::string_view code,
                                      std::string_view message) {
  std::string body = ErrorJson(ErrorType(status), code, message);
  co_return co_await ConnOf(exchange_).SendWhole(*exchange_, status, body, "application/json");
}

Awaitable<Status> Response::StartStream(unsigned status, std::string_view content_type) {
  return ConnOf(exchange_).StartStream(*exchange_, status, content_type);
}

Awaitable<Status> Response::Write(std::string_view chunk) {
  return ConnOf(exchange_).WriteChunk(*exchange_, chunk);
}

Awaitable<Status> Response::Finish() { return ConnOf(exchange_).FinishStream(*exchange_); }

bool Response::started() const {
  return exchange_->state != detail::ServerExchange::State::kNone;
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, Router router) {
  auto server = std::make_unique<ServerImpl>(std::move(options), std::move(router));
  OPENPCC_RETURN_IF_ERROR(server->Listen());
  server->Run();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace openpcc::net
