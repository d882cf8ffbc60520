// net/client: connection pooling, TLS verification against a CA made in the test, the blocking API,
// timeouts, and the refusal of plain HTTP off the machine. Real sockets on 127.0.0.1 only.
#include "openpcc/net/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "support/test_pki.h"

namespace openpcc::net {
namespace {

using namespace std::chrono_literals;

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

Router EchoRouter() {
  Router router;
  router.Handle("POST", "/echo", [](Request& req, Response& res) -> Awaitable<void> {
    auto body = co_await req.ReadAll(1 << 20);
    if (body.ok()) (void)co_await res.Send(200, *body, "application/octet-stream");
  });
  router.Handle("GET", "/hello", [](Request&, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.Send(200, "hello", "text/plain");
  });
  router.Handle("GET", "/stream", [](Request&, Response& res) -> Awaitable<void> {
    (void)(void)co_await res.StartStream(200, "text/event-stream");
    for (int i = 0; i < 3; ++i) {
      (void)(void)co_await res.Write("data: " + std::to_string(i) + "\n\n");
      co_await Sleep(10ms);
    }
    (void)(void)co_await res.Finish();
  });
  router.Handle("GET", "/never", [](Request& req, Response& res) -> Awaitable<void> {
    for (int i = 0; i < 500 && !req.cancelled(); ++i) co_await Sleep(10ms);
    (void)(void)co_await res.Send(200, "late", "text/plain");
  });
  return router;
}

std::unique_ptr<Server> StartServer(std::optional<TlsServerFiles> tls = std::nullopt,
                                    ServerLimits limits = {}) {
  ServerOptions options;
  options.tls = std::move(tls);
  options.limits = limits;
  auto server = Server::Start(std::move(options), EchoRouter());
  EXPECT_TRUE(server.ok()) << server.error().ToString();
  return std::move(server).value();
}

std::shared_ptr<Client> MakeClient(boost::asio::io_context& ioc, ClientOptions options = {}) {
  auto client = Client::Create(ioc.get_executor(), std::move(options));
  EXPECT_TRUE(client.ok()) << client.error().ToString();
  return *client;
}

std::string Url(const std::string& scheme, const std::string& host, const Server& server,
                std::string_view path) {
  return scheme + "://" + host + ":" + std::to_string(server.port()) + std::string(path);
}

TEST(NetClient, ReusesPooledConnections) {
  auto server = StartServer();
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      auto r = co_await client->Fetch({"POST", Url("http", "127.0.0.1", *server, "/echo"), {}},
                                      "ping " + std::to_string(i), 1024);
      EXPECT_TRUE(r.ok() && r->status == 200 && r->body == "ping " + std::to_string(i));
    }
  });
  EXPECT_EQ(client->connections_opened(), 1u);
  EXPECT_EQ(client->idle_connections(), 1u);
}

TEST(NetClient, DoesNotPoolAnUnfinishedExchange) {
  auto server = StartServer();
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    {
      auto ex = co_await client->Start({"GET", Url("http", "127.0.0.1", *server, "/stream"), {}}, 0);
      EXPECT_TRUE(ex.ok());
      if (!ex.ok()) co_return;
      (void)co_await ex->FinishRequest();
      auto head = co_await ex->ReadResponseHead();
      EXPECT_TRUE(head.ok());
    }  // dropped before the body was read
    EXPECT_EQ(client->idle_connections(), 0u);
    auto r = co_await client->Fetch({"GET", Url("http", "127.0.0.1", *server, "/stream"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->body == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  });
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST(NetClient, RetriesWholeRequestsWhenThePooledConnectionWasClosed) {
  ServerLimits limits;
  limits.idle_timeout = 100ms;  // the server closes idle connections quickly
  auto server = StartServer(std::nullopt, limits);
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url("http", "127.0.0.1", *server, "/hello"), {}}, "", 1024);
    EXPECT_TRUE(r.ok());
    co_await Sleep(300ms);
    r = co_await client->Fetch({"GET", Url("http", "127.0.0.1", *server, "/hello"), {}}, "", 1024);
    EXPECT_TRUE(r.ok() && r->body == "hello") << (r.ok() ? "" : r.error().ToString());
  });
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST(NetClient, SendRetriesAStreamWhenThePooledConnectionWasClosed) {
  ServerLimits limits;
  limits.idle_timeout = 100ms;
  auto server = StartServer(std::nullopt, limits);
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      auto opened = co_await client->Send({"GET", Url("http", "127.0.0.1", *server, "/hello"), {}}, "");
      EXPECT_TRUE(opened.ok()) << "request " << i << ": " << (opened.ok() ? "" : opened.error().ToString());
      if (!opened.ok()) co_return;
      std::array<uint8_t, 64> buf{};
      std::string body;
      for (;;) {
        auto n = co_await opened->exchange.ReadSome(buf);
        EXPECT_TRUE(n.ok());
        if (!n.ok() || *n == 0) break;
        body.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      EXPECT_EQ(body, "hello");
      co_await Sleep(300ms);  // the server closes the pooled connection meanwhile
    }
  });
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST(NetClient, TlsRoundTripWithATestCa) {
  testing::TestPki pki = testing::MakeTestPki("roundtrip");
  auto server = StartServer(TlsServerFiles{pki.cert_file, pki.key_file});
  ClientOptions options;
  options.ca_file = pki.ca_file;
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc, options);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    // A named array, not a braced list: g++ 12 mishandles initializer_list temporaries that live
    // across a co_await.
    const std::array<std::string, 2> hosts = {"localhost", "127.0.0.1"};
    for (const std::string& host : hosts) {
      auto r = co_await client->Fetch({"POST", Url("https", host, *server, "/echo"), {}},
                                      "over tls", 1024);
      EXPECT_TRUE(r.ok() && r->body == "over tls") << host << " " << (r.ok() ? "" : r.error().ToString());
      auto s = co_await client->Fetch({"GET", Url("https", host, *server, "/stream"), {}}, "", 1024);
      EXPECT_TRUE(s.ok() && s->body == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
    }
  });
  EXPECT_EQ(client->connections_opened(), 2u);  // one per origin, then reused
}

TEST(NetClient, RefusesAServerItCannotVerify) {
  testing::TestPki pki = testing::MakeTestPki("verify");
  testing::TestPki other = testing::MakeTestPki("other-ca");
  testing::TestPki wrong_name = testing::MakeTestPki("wrong-name", "DNS:node.example");
  auto server = StartServer(TlsServerFiles{pki.cert_file, pki.key_file});
  auto misnamed = StartServer(TlsServerFiles{wrong_name.cert_file, wrong_name.key_file});
  boost::asio::io_context ioc;
  ClientOptions trusts_other;
  trusts_other.ca_file = other.ca_file;
  auto untrusting = MakeClient(ioc, trusts_other);
  ClientOptions trusts_wrong_name;
  trusts_wrong_name.ca_file = wrong_name.ca_file;
  auto name_checking = MakeClient(ioc, trusts_wrong_name);
  auto system_store = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    // Signed by a CA the client does not trust.
    auto r = co_await untrusting->Fetch({"GET", Url("https", "localhost", *server, "/hello"), {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kAuthenticationFailed);
      EXPECT_NE(r.error().message().find("TLS handshake"), std::string::npos);
    }
    // Trusted CA, but the certificate names another host.
    r = co_await name_checking->Fetch({"GET", Url("https", "localhost", *misnamed, "/hello"), {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kAuthenticationFailed);
    }
    // The system store does not know the test CA.
    r = co_await system_store->Fetch({"GET", Url("https", "localhost", *server, "/hello"), {}}, "", 1024);
    EXPECT_FALSE(r.ok());
  });
}

TEST(NetClient, RefusesPlainHttpOffLoopbackAndBadInput) {
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", "http://192.0.2.1/", {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("refusing plain http to non-loopback host 192.0.2.1"),
                std::string::npos);
    }
    r = co_await client->Fetch({"GET", "http://127.1/", {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("url:"), std::string::npos);
    }
    ClientRequest framed{"GET", "http://127.0.0.1:1/", {}};
    framed.headers.emplace_back("Content-Length", "3");
    r = co_await client->Fetch(framed, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("set by the client itself"), std::string::npos);
    }
  });
}

TEST(NetClient, IdleTimeoutEndsAnExchangeWithoutAnswer) {
  auto server = StartServer();
  ClientOptions options;
  options.idle_timeout = 150ms;
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc, options);
  auto start = std::chrono::steady_clock::now();
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"GET", Url("http", "127.0.0.1", *server, "/never"), {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("timed out after 150 ms"), std::string::npos);
    }
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(NetClient, ConnectFailureNamesTheOrigin) {
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    // Port 1 on loopback: nothing listens there in the test environment.
    auto r = co_await client->Fetch({"GET", "http://127.0.0.1:1/", {}}, "", 1024);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("cannot connect to http://127.0.0.1:1"), std::string::npos);
    }
  });
}

TEST(NetClient, ResponseBodyLimit) {
  auto server = StartServer();
  boost::asio::io_context ioc;
  auto client = MakeClient(ioc);
  RunCoroutine(ioc, [&]() -> Awaitable<void> {
    auto r = co_await client->Fetch({"POST", Url("http", "127.0.0.1", *server, "/echo"), {}},
                                    std::string(100, 'z'), 50);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("limit of 50 bytes"), std::string::npos);
    }
  });
}

TEST(NetClient, BlockingApiFetchesAndStreams) {
  auto server = StartServer();
  auto blocking = BlockingClient::Create({});
  ASSERT_TRUE(blocking.ok());
  auto r = (*blocking)->Fetch({"POST", Url("http", "127.0.0.1", *server, "/echo"), {}}, "blocking", 1024);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "blocking");
  std::vector<std::string> chunks;
  auto head = (*blocking)->FetchStreaming({"GET", Url("http", "127.0.0.1", *server, "/stream"), {}}, "",
                                          [&](std::string_view chunk) {
                                            chunks.emplace_back(chunk);
                                            return OkStatus();
                                          });
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(head->status, 200u);
  std::string joined;
  for (const auto& c : chunks) joined += c;
  EXPECT_EQ(joined, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  EXPECT_GE(chunks.size(), 2u);  // the chunks came as they were written, not as one body
  auto aborted = (*blocking)->FetchStreaming(
      {"GET", Url("http", "127.0.0.1", *server, "/stream"), {}}, "",
      [](std::string_view) { return Status(Error(ErrorCode::kOutOfRange, "caller: enough")); });
  ASSERT_FALSE(aborted.ok());
  EXPECT_EQ(aborted.error().message(), "caller: enough");
  // One connection throughout: pooled after each complete response, closed after the abort.
  EXPECT_EQ((*blocking)->client().connections_opened(), 1u);
  EXPECT_EQ((*blocking)->client().idle_connections(), 0u);
}

}  // namespace
}  // namespace openpcc::net
