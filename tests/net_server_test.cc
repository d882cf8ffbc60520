// net/server: routing, streaming in both directions with chunk timing, every listener limit refused
// with its status and name, disconnect cancellation, access logs, exposure rules and shutdown.
// Real sockets on 127.0.0.1 ephemeral ports only.
#include "openpcc/net/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "openpcc/net/chunk_channel.h"
#include "openpcc/net/client.h"

namespace openpcc::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- Helpers -------------------------------------------------------------------------------------

std::unique_ptr<Server> StartServer(Router router, ServerLimits limits = {},
                                    std::function<void(const AccessLogEntry&)> log = nullptr) {
  ServerOptions options;
  options.limits = limits;
  options.access_log = std::move(log);
  Result<std::unique_ptr<Server>> server = Server::Start(std::move(options), std::move(router));
  EXPECT_TRUE(server.ok()) << server.error().ToString();
  return std::move(server).value();
}

std::string Url(const Server& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

// Runs a coroutine on `ioc` (the context of the test's Client) until it completes.
template <typename F>
void RunCoroutine(boost::asio::io_context& ioc, F coroutine) {
  boost::asio::co_spawn(ioc, coroutine(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.restart();
  ioc.run();
}

Awaitable<void> Sleep(Duration d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

// Waits (without blocking the strand) until `flag` is set or `limit` passes.
Awaitable<bool> WaitFor(const std::atomic<bool>& flag, Duration limit) {
  auto end = Clock::now() + limit;
  while (!flag.load()) {
    if (Clock::now() > end) co_return false;
    co_await Sleep(2ms);
  }
  co_return true;
}

std::shared_ptr<Client> MakeClient(boost::asio::io_context& ioc, ClientOptions options = {}) {
  Result<std::shared_ptr<Client>> client = Client::Create(ioc.get_executor(), std::move(options));
  EXPECT_TRUE(client.ok());
  return *client;
}

// A raw TCP connection, for requests our client would never send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { Close(); }
  bool connected() const { return connected_; }
  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Everything until the peer closes or `limit` passes.
  std::string ReadUntilClose(Duration limit = 5s) {
    std::string out;
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

void ExpectRefusal(const std::string& response, unsigned status, std::string_view code) {
  EXPECT_EQ(response.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << response;
  EXPECT_NE(response.find("\"code\":\"" + std::string(code) + "\""), std::string::npos) << response;
}

Handler Text(std::string body) {
  return [body](Request&, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.Send(200, body, "text/plain");
  };
}

// ---- Routing -------------------------------------------------------------------------------------

TEST(NetServer, RoutesExactPathsPrefixesAndMethods) {
  Router router;
  router.Handle("GET", "/v1/models", Text("models"));
  router.Handle("POST", "/v1/infer", Text("infer"));
  router.HandlePrefix("GET", "/v1/tlog/tile/", [](Request& req, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.Send(200, std::string("tile ") + std::string(req.path()), "text/plain");
  });
  router.HandlePrefix("GET", "/v1/tlog/", Text("shorter prefix"));
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url(*server, "/v1/models?ignored=1"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->status == 200 && r->body == "models");
    r = co_await client->Fetch({"GET", Url(*server, "/v1/tlog/tile/0/x/001"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->body == "tile /v1/tlog/tile/0/x/001");
    r = co_await client->Fetch({"GET", Url(*server, "/v1/tlog/checkpoint"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->body == "shorter prefix");
    r = co_await client->Fetch({"POST", Url(*server, "/v1/models"), {}}, "x", 1024);
    EXPECT_TRUE(r.ok() && r->status == 405);
    if (r.ok()) {
      EXPECT_EQ(r->header("Allow"), "GET");
      EXPECT_NE(r->body.find("\"code\":\"method_not_allowed\""), std::string::npos);
    }
    r = co_await client->Fetch({"GET", Url(*server, "/nope"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->status == 404);
    if (r.ok()) {
      EXPECT_NE(r->body.find("\"code\":\"not_found\""), std::string::npos);
    }
  });
}

// ---- Streaming -----------------------------------------------------------------------------------

TEST(NetServer, StreamedChunkReachesTheClientBeforeTheHandlerFinishes) {
  std::atomic<bool> client_saw_first{false};
  std::atomic<bool> handler_finished{false};
  Router router;
  router.Handle("GET", "/stream", [&](Request&, Response& res) -> Awaitable<void> {
    EXPECT_TRUE((co_await res.StartStream(200, "text/event-stream")).ok());
    EXPECT_TRUE((co_await res.Write(std::string_view("data: first\n\n"))).ok());
    // The handler goes on only once the client has the first chunk: if chunks were buffered
    // until the end, this would time out.
    bool seen = co_await WaitFor(client_saw_first, 5000ms);
    EXPECT_TRUE(seen) << "the first chunk did not reach the client while the handler ran";
    EXPECT_TRUE((co_await res.Write(std::string_view("data: second\n\n"))).ok());
    handler_finished = true;
    EXPECT_TRUE((co_await res.Finish()).ok());
  });
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto ex = co_await client->Start({"GET", Url(*server, "/stream"), {}}, 0);
    EXPECT_TRUE(ex.ok());
    if (!ex.ok()) co_return;
    EXPECT_TRUE((co_await ex->FinishRequest()).ok());
    auto head = co_await ex->ReadResponseHead();
    EXPECT_TRUE(head.ok() && head->status == 200);
    EXPECT_EQ(head->header("transfer-encoding"), "chunked");
    std::string body;
    std::array<uint8_t, 256> buf{};
    while (true) {
      auto n = co_await ex->ReadSome(buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      body.append(reinterpret_cast<const char*>(buf.data()), *n);
      if (body == "data: first\n\n") {
        EXPECT_FALSE(handler_finished.load());
        client_saw_first = true;
      }
    }
    EXPECT_EQ(body, "data: first\n\ndata: second\n\n");
  });
}

TEST(NetServer, HandlerReadsARequestBodyAsItArrives) {
  std::atomic<bool> handler_saw_first{false};
  Router router;
  router.Handle("POST", "/upload", [&](Request& req, Response& res) -> Awaitable<void> {
    EXPECT_FALSE(req.content_length().has_value());  // chunked
    std::string got;
    std::array<uint8_t, 1024> buf{};
    while (true) {
      auto n = co_await req.ReadSome(buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
      if (got == "part one;") handler_saw_first = true;
    }
    EXPECT_TRUE(req.body_complete());
    (void)(void)co_await res.Send(200, got, "text/plain");
  });
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto ex = co_await client->Start({"POST", Url(*server, "/upload"), {}}, std::nullopt);
    EXPECT_TRUE(ex.ok());
    if (!ex.ok()) co_return;
    EXPECT_TRUE((co_await ex->Write(std::string_view("part one;"))).ok());
    bool seen = co_await WaitFor(handler_saw_first, 5000ms);
    EXPECT_TRUE(seen) << "the handler did not see the first part before the body ended";
    EXPECT_TRUE((co_await ex->Write(std::string_view("part two"))).ok());
    EXPECT_TRUE((co_await ex->FinishRequest()).ok());
    auto head = co_await ex->ReadResponseHead();
    EXPECT_TRUE(head.ok() && head->status == 200);
    auto body = co_await ex->ReadAll(1024);
    EXPECT_TRUE(body.ok() && *body == "part one;part two");
  });
}

TEST(NetServer, HandlerThatDoesNotFinishItsStreamTruncatesIt) {
  Router router;
  router.Handle("GET", "/cut", [](Request&, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.StartStream(200, "text/plain");
    (void)(void)co_await res.Write(std::string_view("partial"));
  });
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url(*server, "/cut"), {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kTruncated) << r.error().ToString();
    }
  });
}

// ---- Limits --------------------------------------------------------------------------------------

TEST(NetServer, RefusesAnOversizedHeaderWith431) {
  Router router;
  router.Handle("GET", "/", Text("ok"));
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  auto server = StartServer(std::move(router), limits);
  RawConnection conn(server->port());
  conn.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  ExpectRefusal(conn.ReadUntilClose(), 431, "header_size");
}

TEST(NetServer, RefusesAnOversizedBodyWith413) {
  Router router;
  router.Handle("POST", "/", [](Request& req, Response& res) -> Awaitable<void> {
    auto body = co_await req.ReadAll(1 << 20);
    if (body.ok()) (void)co_await res.Send(200, "read", "text/plain");
  });
  ServerLimits limits;
  limits.max_body_bytes = 100;
  auto server = StartServer(std::move(router), limits);
  {  // Declared too long: refused before the handler runs.
    RawConnection conn(server->port());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
    ExpectRefusal(conn.ReadUntilClose(), 413, "body_size");
  }
  {  // Chunked and too long: refused when the limit is crossed.
    RawConnection conn(server->port());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    conn.Send("40\r\n" + std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'b') + "\r\n0\r\n\r\n");
    std::string response = conn.ReadUntilClose();
    ExpectRefusal(response, 413, "body_size");
    EXPECT_NE(response.find("limit of 100 bytes"), std::string::npos);
  }
}

TEST(NetServer, HandlerLimitOnReadAllIsRefusedWith413) {
  Router router;
  router.Handle("POST", "/", [](Request& req, Response& res) -> Awaitable<void> {
    auto body = co_await req.ReadAll(10);
    EXPECT_FALSE(body.ok());
    if (body.ok()) (void)co_await res.Send(200, "read", "text/plain");
  });
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"POST", Url(*server, "/"), {}}, std::string(50, 'x'), 1024);
    EXPECT_TRUE(r.ok() && r->status == 413);
    if (r.ok()) {
      EXPECT_NE(r->body.find("limit of 10 bytes"), std::string::npos);
    }
  });
}

TEST(NetServer, StalledRequestGets408IdleTimeoutAndAnIdleConnectionIsClosed) {
  Router router;
  router.Handle("GET", "/", Text("ok"));
  ServerLimits limits;
  limits.idle_timeout = 200ms;
  auto server = StartServer(std::move(router), limits);
  {  // Half a header, then silence.
    RawConnection conn(server->port());
    conn.Send("GET / HTTP/1.1\r\nHost:");
    auto start = Clock::now();
    ExpectRefusal(conn.ReadUntilClose(), 408, "idle_timeout");
    EXPECT_GE(Clock::now() - start, 150ms);
  }
  {  // Nothing at all: closed without a response.
    RawConnection conn(server->port());
    auto start = Clock::now();
    EXPECT_EQ(conn.ReadUntilClose(), "");
    EXPECT_TRUE(conn.closed());
    EXPECT_LT(Clock::now() - start, 3s);
  }
}

TEST(NetServer, SlowDripRequestGets408RequestTime) {
  Router router;
  router.Handle("GET", "/", Text("ok"));
  ServerLimits limits;
  limits.idle_timeout = 300ms;
  limits.max_request_time = 400ms;
  auto server = StartServer(std::move(router), limits);
  RawConnection conn(server->port());
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  std::string response;
  std::atomic<bool> done{false};
  std::thread dripper([&] {
    for (char c : request) {
      if (done.load()) break;
      conn.Send(std::string_view(&c, 1));
      std::this_thread::sleep_for(50ms);  // each byte well inside the idle timeout
    }
  });
  response = conn.ReadUntilClose();
  done = true;
  dripper.join();
  ExpectRefusal(response, 408, "request_time");
}

TEST(NetServer, HandlerPastTheRequestTimeIsCancelled) {
  std::atomic<bool> saw_cancel{false};
  Router router;
  router.Handle("GET", "/", [&](Request& req, Response&) -> Awaitable<void> {
    auto end = Clock::now() + 5s;
    while (!req.cancelled() && Clock::now() < end) co_await Sleep(5ms);
    saw_cancel = req.cancelled();
  });
  ServerLimits limits;
  limits.max_request_time = 200ms;
  auto server = StartServer(std::move(router), limits);
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url(*server, "/"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->status == 408);
    if (r.ok()) {
      EXPECT_NE(r->body.find("\"code\":\"request_time\""), std::string::npos);
    }
  });
  EXPECT_TRUE(saw_cancel.load());
}

TEST(NetServer, ConcurrentStreamLimitRefusesWith503) {
  std::atomic<bool> release{false};
  std::atomic<int> inside{0};
  Router router;
  router.Handle("GET", "/", [&](Request&, Response& res) -> Awaitable<void> {
    ++inside;
    co_await WaitFor(release, 5000ms);
    (void)(void)co_await res.Send(200, "done", "text/plain");
  });
  ServerLimits limits;
  limits.max_streams = 1;
  auto server = StartServer(std::move(router), limits);
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  std::thread first([&] {
    boost::asio::io_context first_ioc;
    auto first_client = MakeClient(first_ioc);
    RunCoroutine(first_ioc, [&]() -> Awaitable<void> {
      auto r = co_await first_client->Fetch({"GET", Url(*server, "/"), {}}, "", 1024);
      EXPECT_TRUE(r.ok() && r->status == 200);
    });
  });
  while (inside.load() == 0) std::this_thread::sleep_for(2ms);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url(*server, "/"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->status == 503);
    if (r.ok()) {
      EXPECT_NE(r->body.find("\"code\":\"max_streams\""), std::string::npos);
    }
  });
  release = true;
  first.join();
  EXPECT_EQ(inside.load(), 1);
}

TEST(NetServer, ConnectionLimitRefusesWith503) {
  Router router;
  router.Handle("GET", "/", Text("ok"));
  ServerLimits limits;
  limits.max_connections = 1;
  auto server = StartServer(std::move(router), limits);
  RawConnection held(server->port());
  ASSERT_TRUE(held.connected());
  while (server->active_connections() < 1) std::this_thread::sleep_for(2ms);
  RawConnection refused(server->port());
  ExpectRefusal(refused.ReadUntilClose(), 503, "max_connections");
  held.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(held.ReadUntilClose().rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST(NetServer, MalformedRequestGets400) {
  Router router;
  router.Handle("GET", "/", Text("ok"));
  auto server = StartServer(std::move(router));
  RawConnection conn(server->port());
  conn.Send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  ExpectRefusal(conn.ReadUntilClose(), 400, "bad_request");
}

// ---- Producers, cancellation ---------------------------------------------------------------------

TEST(NetServer, ClientDisconnectMidStreamCancelsTheProducer) {
  std::atomic<bool> producer_stopped{false};
  std::atomic<int> pushed{0};
  std::thread producer;
  Router router;
  router.Handle("GET", "/generate", [&](Request& req, Response& res) -> Awaitable<void> {
    auto channel = ChunkChannel::Create(4);
    channel->CancelOn(req.cancel_token());
    // The "engine": a blocking thread that generates until nobody listens.
    producer = std::thread([channel, &producer_stopped, &pushed] {
      for (int i = 0; i < 100000; ++i) {
        if (!channel->Push("token " + std::to_string(i) + "\n", 5000ms).ok()) break;
        ++pushed;
        std::this_thread::sleep_for(2ms);
      }
      producer_stopped = true;
      channel->Close();
    });
    (void)(void)co_await res.StartStream(200, "text/plain");
    while (true) {
      auto next = co_await channel->Next();
      if (!next.ok() || !*next) break;
      if (!(co_await res.Write(**next)).ok()) break;
    }
    (void)(void)co_await res.Finish();
  });
  auto server = StartServer(std::move(router));
  {
    RawConnection conn(server->port());
    conn.Send("GET /generate HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got = conn.ReadUntilClose(300ms);
    EXPECT_NE(got.find("token 0"), std::string::npos);
  }  // the client goes away mid-stream
  auto deadline = Clock::now() + 5s;
  while (!producer_stopped.load() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(producer_stopped.load()) << "the producer kept generating for a closed connection";
  if (producer.joinable()) producer.join();
  EXPECT_LT(pushed.load(), 5000);
}

// ---- Exposure, logs, shutdown --------------------------------------------------------------------

TEST(NetServer, RefusesANonLoopbackAddressWithoutTls) {
  ServerOptions options;
  options.address = "0.0.0.0";
  Result<std::unique_ptr<Server>> server = Server::Start(options, Router());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(server.error().message().find("non-loopback address 0.0.0.0 without TLS"),
            std::string::npos);
  options.address = "not an address";
  server = Server::Start(options, Router());
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message().find("is not an IP address"), std::string::npos);
}

TEST(NetServer, AccessLogCarriesRouteAndSizesButNoQueryBodyOrCredentials) {
  std::mutex mu;
  std::vector<AccessLogEntry> entries;
  Router router;
  router.Handle("POST", "/v1/infer", [](Request& req, Response& res) -> Awaitable<void> {
    auto body = co_await req.ReadAll(1024);
    (void)(void)co_await res.Send(200, "secret-completion", "text/plain");
  });
  auto server = StartServer(std::move(router), {}, [&](const AccessLogEntry& e) {
    std::lock_guard lock(mu);
    entries.push_back(e);
  });
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    ClientRequest request{"POST", Url(*server, "/v1/infer?api_key=secret-query"), {}};
    request.headers.emplace_back("Authorization", "Bearer secret-token");
    auto r = co_await client->Fetch(request, "secret-prompt", 1024);
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  server->Shutdown(1000ms);
  std::lock_guard lock(mu);
  ASSERT_EQ(entries.size(), 1u);
  const AccessLogEntry& e = entries[0];
  EXPECT_EQ(e.method, "POST");
  EXPECT_EQ(e.route, "/v1/infer");
  EXPECT_EQ(e.status, 200u);
  EXPECT_EQ(e.request_bytes, 13u);
  EXPECT_EQ(e.response_bytes, 17u);
  std::string line = FormatAccessLog(e);
  EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  EXPECT_NE(line.find("POST /v1/infer 200 in=13 out=17"), std::string::npos) << line;
}

TEST(NetServer, ResponseRefusesFramingHeaders) {
  Router router;
  router.Handle("GET", "/", [](Request&, Response& res) -> Awaitable<void> {
    EXPECT_FALSE(res.SetHeader("Content-Length", "5").ok());
    EXPECT_FALSE(res.SetHeader("X-Ok", "a\r\nInjected: 1").ok());
    EXPECT_TRUE(res.SetHeader("X-Node", "n1").ok());
    (void)(void)co_await res.Send(200, "ok", "text/plain");
    EXPECT_FALSE((co_await res.Send(200, "twice", "text/plain")).ok());
  });
  auto server = StartServer(std::move(router));
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url(*server, "/"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->status == 200 && r->body == "ok");
    if (r.ok()) {
      EXPECT_EQ(r->header("x-node"), "n1");
    }
  });
}

TEST(NetServer, ShutdownLetsAStreamInFlightFinish) {
  std::atomic<bool> started{false};
  Router router;
  router.Handle("GET", "/slow", [&](Request&, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.StartStream(200, "text/plain");
    started = true;
    for (int i = 0; i < 5; ++i) {
      co_await Sleep(40ms);
      (void)(void)co_await res.Write(std::string_view("x"));
    }
    (void)(void)co_await res.Finish();
  });
  auto server = StartServer(std::move(router));
  std::thread requester([&] {
    boost::asio::io_context ioc;
    auto client = MakeClient(ioc);
    RunCoroutine(ioc, [&]() -> Awaitable<void> {
      auto r = co_await client->Fetch({"GET", Url(*server, "/slow"), {}}, "", 1024);
      EXPECT_TRUE(r.ok() && r->body == "xxxxx") << (r.ok() ? r->body : r.error().ToString());
    });
  });
  while (!started.load()) std::this_thread::sleep_for(2ms);
  RawConnection idle(server->port());  // an idle keep-alive connection is closed at once
  server->Shutdown(5000ms);
  requester.join();
  EXPECT_EQ(server->active_connections(), 0u);
  RawConnection after(server->port());
  EXPECT_FALSE(after.connected());
}

}  // namespace
}  // namespace openpcc::net
