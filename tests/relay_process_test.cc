// `openpcc relay` as a real process on loopback, in front of a test gateway (a net::Server in this
// process): client headers stripped both ways, streaming in both directions without whole-message
// buffering (each side waits for the other to see a first piece before sending the second), every
// limit refused with its name, 415 for other media types, 502 when the gateway is down, a cut
// upstream stream seen as truncated, the key-config passthrough, connection pooling and metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/net/url.h"
#include "support/cli.h"
#include "support/relay_process.h"
#include "support/test_pki.h"

namespace openpcc {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using net::Awaitable;
using net::Duration;
using testing::RelayProcess;

Awaitable<void> Sleep(Duration d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

// Waits (without blocking the strand) until `flag` is set or `limit` passes.
Awaitable<bool> WaitFor(const std::atomic<bool>& flag, Duration limit) {
  const auto end = SteadyClock::now() + limit;
  while (!flag.load()) {
    if (SteadyClock::now() > end) co_return false;
    co_await Sleep(2ms);
  }
  co_return true;
}

// The client headers a relay must never pass on, and one of its own that it must not add.
constexpr const char* kPrivateHeaders[] = {"x-forwarded-for", "cookie",   "authorization",
                                           "user-agent",      "forwarded", "via",
                                           "x-real-ip",       "x-request-id", "accept-language"};

// The upstream: what a gateway would be, with one route per behaviour under test.
class TestGateway {
 public:
  explicit TestGateway(std::optional<net::TlsServerFiles> tls = std::nullopt) : tls_(tls.has_value()) {
    net::Router router;
    router.Handle("POST", "/echo", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
      ++echo_requests;
      {
        std::lock_guard lock(mu_);
        seen_.clear();
        for (const char* name : kPrivateHeaders) {
          if (req.header(name)) seen_[name] = std::string(*req.header(name));
        }
        for (const char* name : {"content-type", "incremental"}) {
          if (req.header(name)) seen_[name] = std::string(*req.header(name));
        }
      }
      Result<std::string> body = co_await req.ReadAll(1 << 20);
      if (!body.ok()) co_return;
      (void)res.SetHeader("Set-Cookie", "gateway-session=1");
      (void)res.SetHeader("X-Gateway-Instance", "gw-7");
      (void)co_await res.Send(200, *body, "message/ohttp-res");
    });
    router.Handle("POST", "/stream", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
      (void)co_await req.ReadAll(1 << 20);
      (void)res.SetHeader("Incremental", "?1");
      if (!(co_await res.StartStream(200, "message/ohttp-chunked-res")).ok()) co_return;
      if (!(co_await res.Write(std::string_view("chunk-1"))).ok()) co_return;
      // Chunk 2 only once the client has chunk 1 (or after 10 s, which fails the test): a relay
      // that held the response whole would make the client wait for the timeout.
      client_saw_chunk1_before_chunk2 = co_await WaitFor(client_has_chunk1, 10s);
      if (!(co_await res.Write(std::string_view("chunk-2"))).ok()) co_return;
      (void)co_await res.Finish();
    });
    router.Handle("POST", "/upload", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
      std::string body;
      std::vector<uint8_t> buffer(4096);
      while (true) {
        Result<size_t> n = co_await req.ReadSome(std::span<uint8_t>(buffer));
        if (!n.ok()) co_return;
        if (*n == 0) break;
        body.append(reinterpret_cast<const char*>(buffer.data()), *n);
        if (body.find("piece-1") != std::string::npos) upstream_has_piece1 = true;
      }
      (void)co_await res.Send(200, body, "message/ohttp-chunked-res");
    });
    router.Handle("POST", "/hold", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
      (void)co_await req.ReadAll(1 << 20);
      held = true;
      (void)co_await WaitFor(release, 20s);
      (void)co_await res.Send(200, "released", "message/ohttp-res");
    });
    router.Handle("POST", "/cut", [](net::Request& req, net::Response& res) -> Awaitable<void> {
      (void)co_await req.ReadAll(1 << 20);
      if (!(co_await res.StartStream(200, "message/ohttp-chunked-res")).ok()) co_return;
      (void)co_await res.Write(std::string_view("partial"));
      // Returns without Finish: the stream is aborted, as when a node dies mid-answer.
    });
    router.Handle("GET", "/ohttp-keys", [](net::Request&, net::Response& res) -> Awaitable<void> {
      (void)res.SetHeader("Set-Cookie", "gateway-session=1");
      (void)co_await res.Send(200, std::string_view("\x00\x05keys!", 7), "application/ohttp-keys");
    });
    net::ServerOptions options;
    options.tls = std::move(tls);
    Result<std::unique_ptr<net::Server>> server = net::Server::Start(std::move(options), std::move(router));
    EXPECT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
  }

  std::string Url(std::string_view path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(server_->port()) +
           std::string(path);
  }
  std::map<std::string, std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  std::atomic<int> echo_requests{0};
  std::atomic<bool> client_has_chunk1{false};
  std::atomic<bool> client_saw_chunk1_before_chunk2{false};
  std::atomic<bool> upstream_has_piece1{false};
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};

 private:
  const bool tls_;
  std::mutex mu_;
  std::map<std::string, std::string> seen_;
  std::unique_ptr<net::Server> server_;
};

// A raw TCP connection, for requests with exactly the headers a test wants.
class RawConnection {
 public:
  explicit RawConnection(const std::string& url) {
    Result<net::Url> parsed = net::ParseUrl(url);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(parsed->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawConnection() { ::close(fd_); }
  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  std::string ReadUntilClose(Duration limit = 10s) {
    std::string out;
    const auto end = SteadyClock::now() + limit;
    while (SteadyClock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

std::unique_ptr<net::BlockingClient> MakeClient() {
  Result<std::unique_ptr<net::BlockingClient>> client = net::BlockingClient::Create({});
  EXPECT_TRUE(client.ok());
  return std::move(client).value();
}

net::Headers OhttpHeaders() { return {{"Content-Type", "message/ohttp-req"}}; }

std::string Code(std::string_view code) { return "\"code\":\"" + std::string(code) + "\""; }

std::string Metrics(const RelayProcess& relay) {
  auto client = MakeClient();
  Result<net::ClientResponse> r =
      client->Fetch(net::ClientRequest("GET", relay.url() + "/metrics"), "", 1 << 20);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r->body : "";
}

TEST(RelayProcess, PassesOnlyContentTypeAndIncrementalEitherWay) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"));
  ASSERT_TRUE(relay.Start());
  RawConnection conn(relay.url());
  const std::string body = "opaque-ohttp-bytes";
  conn.Send("POST /anything?x=1 HTTP/1.1\r\nHost: relay.example\r\n"
            "Content-Type: message/ohttp-chunked-req\r\nIncremental: ?1\r\n"
            "X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7\r\nX-Real-IP: 203.0.113.7\r\n"
            "Via: 1.1 corp-proxy\r\nCookie: session=secret\r\nAuthorization: Bearer sk-user\r\n"
            "User-Agent: curl/8.0 (alice's laptop)\r\nX-Request-Id: abc\r\nAccept-Language: de\r\n"
            "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string response = conn.ReadUntilClose();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 ", 0), 0u) << response;
  EXPECT_NE(response.find(body), std::string::npos);
  EXPECT_NE(response.find("message/ohttp-res"), std::string::npos);
  // The gateway's own headers do not reach the client either.
  EXPECT_EQ(response.find("Set-Cookie"), std::string::npos) << response;
  EXPECT_EQ(response.find("gw-7"), std::string::npos) << response;

  const std::map<std::string, std::string> seen = gateway.seen();
  EXPECT_EQ(seen.at("content-type"), "message/ohttp-chunked-req");
  EXPECT_EQ(seen.at("incremental"), "?1");
  for (const char* name : kPrivateHeaders) EXPECT_EQ(seen.count(name), 0u) << name << " reached the gateway";
  EXPECT_EQ(relay.Stop(), 0) << relay.log();
}

TEST(RelayProcess, StreamsTheResponseChunkByChunk) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/stream"));
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  std::string received;
  Result<net::ResponseHead> head = client->FetchStreaming(
      net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "request",
      [&](std::string_view chunk) {
        received.append(chunk);
        if (received.find("chunk-1") != std::string::npos) gateway.client_has_chunk1 = true;
        return OkStatus();
      });
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(head->status, 200u);
  EXPECT_EQ(head->header("content-type").value_or(""), "message/ohttp-chunked-res");
  EXPECT_EQ(head->header("incremental").value_or(""), "?1");
  EXPECT_EQ(received, "chunk-1chunk-2");
  EXPECT_TRUE(gateway.client_saw_chunk1_before_chunk2)
      << "chunk 1 reached the client only after chunk 2 was sent: the relay buffered the response";
}

TEST(RelayProcess, StreamsTheRequestBodyAsItArrives) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/upload"));
  ASSERT_TRUE(relay.Start());
  boost::asio::io_context ioc;
  std::shared_ptr<net::Client> client = *net::Client::Create(ioc.get_executor(), {});
  bool piece1_first = false;
  std::string answer;
  auto run = [&]() -> Awaitable<void> {
    net::Headers headers = {{"Content-Type", "message/ohttp-chunked-req"}, {"Incremental", "?1"}};
    net::ClientRequest request("POST", relay.url() + "/", std::move(headers));
    Result<net::ClientExchange> started = co_await client->Start(std::move(request), std::nullopt);
    if (!started.ok()) co_return;
    net::ClientExchange exchange = std::move(started).value();
    (void)co_await exchange.Write(std::string_view("piece-1"));
    // Piece 2 only once the gateway has piece 1: a relay that collected the body first would
    // make this wait time out.
    piece1_first = co_await WaitFor(gateway.upstream_has_piece1, 10s);
    (void)co_await exchange.Write(std::string_view("piece-2"));
    (void)co_await exchange.FinishRequest();
    Result<net::ResponseHead> head = co_await exchange.ReadResponseHead();
    if (!head.ok()) co_return;
    Result<std::string> body = co_await exchange.ReadAll(1 << 20);
    if (body.ok()) answer = *body;
  };
  boost::asio::co_spawn(ioc, run(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
  EXPECT_TRUE(piece1_first) << "the gateway saw piece 1 only after piece 2 was sent";
  EXPECT_EQ(answer, "piece-1piece-2");
}

TEST(RelayProcess, AGatewayStreamCutMidwayReachesTheClientAsTruncated) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/cut"));
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  std::string received;
  Result<net::ResponseHead> head = client->FetchStreaming(
      net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "request",
      [&](std::string_view chunk) {
        received.append(chunk);
        return OkStatus();
      });
  EXPECT_FALSE(head.ok()) << "a cut stream ended cleanly";
  EXPECT_EQ(received, "partial");
  EXPECT_NE(Metrics(relay).find("openpcc_relay_truncated_total 1"), std::string::npos);
}

TEST(RelayProcess, RefusesOtherMediaTypesWith415) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"));
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  for (const char* type : {"application/json", "message/bhttp", ""}) {
    net::Headers headers;
    if (*type != '\0') headers.emplace_back("Content-Type", type);
    Result<net::ClientResponse> r =
        client->Fetch(net::ClientRequest("POST", relay.url() + "/", std::move(headers)), "x", 1 << 16);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, 415u) << type;
    EXPECT_NE(r->body.find(Code("unsupported_media_type")), std::string::npos) << r->body;
  }
  EXPECT_TRUE(gateway.seen().empty()) << "a refused request reached the gateway";
  // Content-Type parameters and case do not matter.
  net::Headers headers = {{"Content-Type", "Message/OHTTP-req; x=1"}};
  Result<net::ClientResponse> ok =
      client->Fetch(net::ClientRequest("POST", relay.url() + "/", std::move(headers)), "x", 1 << 16);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200u);
}

TEST(RelayProcess, RefusesOversizedHeadersAndBodiesNamingTheLimit) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"), {"--max-header-bytes", "1024", "--max-body-bytes", "1024"});
  ASSERT_TRUE(relay.Start());
  {
    RawConnection conn(relay.url());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-req\r\nX-Pad: " +
              std::string(3000, 'a') + "\r\nContent-Length: 1\r\n\r\nx");
    const std::string response = conn.ReadUntilClose();
    EXPECT_EQ(response.rfind("HTTP/1.1 431 ", 0), 0u) << response;
    EXPECT_NE(response.find(Code("header_size")), std::string::npos) << response;
  }
  {  // Declared too long.
    RawConnection conn(relay.url());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-req\r\nContent-Length: 2000\r\n\r\n");
    const std::string response = conn.ReadUntilClose();
    EXPECT_EQ(response.rfind("HTTP/1.1 413 ", 0), 0u) << response;
    EXPECT_NE(response.find(Code("body_size")), std::string::npos) << response;
  }
  {  // Chunked, crossing the limit while being forwarded.
    RawConnection conn(relay.url());
    conn.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-chunked-req\r\n"
              "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) conn.Send("200\r\n" + std::string(512, 'b') + "\r\n");
    conn.Send("0\r\n\r\n");
    const std::string response = conn.ReadUntilClose();
    EXPECT_EQ(response.rfind("HTTP/1.1 413 ", 0), 0u) << response;
    EXPECT_NE(response.find(Code("body_size")), std::string::npos) << response;
  }
  const std::string metrics = Metrics(relay);
  EXPECT_NE(metrics.find("openpcc_relay_refused_total{reason=\"header_size\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("openpcc_relay_refused_total{reason=\"body_size\"} 2"), std::string::npos) << metrics;
}

TEST(RelayProcess, RefusesStreamsBeyondTheConcurrencyLimit) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/hold"), {"--max-streams", "1"});
  ASSERT_TRUE(relay.Start());
  unsigned first_status = 0;
  std::thread first([&] {
    auto client = MakeClient();
    Result<net::ClientResponse> r =
        client->Fetch(net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "a", 1 << 16);
    if (r.ok()) first_status = r->status;
  });
  const auto end = SteadyClock::now() + 10s;
  while (!gateway.held && SteadyClock::now() < end) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(gateway.held);
  auto client = MakeClient();
  Result<net::ClientResponse> second =
      client->Fetch(net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "b", 1 << 16);
  gateway.release = true;
  first.join();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->status, 503u);
  EXPECT_NE(second->body.find(Code("max_streams")), std::string::npos) << second->body;
  EXPECT_EQ(first_status, 200u);
}

TEST(RelayProcess, AnUnreachableGatewayIs502NamingTheStep) {
  uint16_t port = 0;
  {  // A port that was just free: nothing listens there now.
    Result<std::unique_ptr<net::Server>> server = net::Server::Start(net::ServerOptions{}, net::Router{});
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }
  RelayProcess relay("http://127.0.0.1:" + std::to_string(port) + "/gateway");
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  Result<net::ClientResponse> r =
      client->Fetch(net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "x", 1 << 16);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 502u);
  EXPECT_NE(r->body.find(Code("bad_gateway")), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("(connect)"), std::string::npos) << r->body;
  EXPECT_NE(Metrics(relay).find("openpcc_relay_upstream_errors_total{step=\"connect\"} 1"),
            std::string::npos);
}

TEST(RelayProcess, CutsAResponseAboveItsSizeLimit) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"), {"--max-response-bytes", "16"});
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  Result<net::ResponseHead> head = client->FetchStreaming(
      net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), std::string(64, 'z'),
      [](std::string_view) { return OkStatus(); });
  EXPECT_FALSE(head.ok());
  EXPECT_NE(Metrics(relay).find("openpcc_relay_refused_total{reason=\"response_size\"} 1"),
            std::string::npos);
}

TEST(RelayProcess, PoolsGatewayConnectionsAndCountsOnlyAggregates) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"));
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  for (int i = 0; i < 3; ++i) {
    Result<net::ClientResponse> r =
        client->Fetch(net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "abcd", 1 << 16);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200u);
  }
  const std::string metrics = Metrics(relay);
  EXPECT_NE(metrics.find("openpcc_relay_completed_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("openpcc_relay_request_bytes_total 12"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("openpcc_relay_upstream_connections_opened_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("127.0.0.1"), std::string::npos) << "an address in the metrics";
  // Durations only as sums over the completed requests (bench/e2e reads their means).
  for (const std::string name : {"request_forward", "first_byte", "stream"}) {
    const std::string metric = "\nopenpcc_relay_" + name + "_microseconds_total ";  // the value line
    const size_t at = metrics.find(metric);
    ASSERT_NE(at, std::string::npos) << metrics;
    EXPECT_GT(std::stoull(metrics.substr(at + metric.size())), 0u) << metric;
  }
  EXPECT_EQ(relay.Stop(), 0) << relay.log();
  // No per-request log lines: nothing about the requests beyond startup.
  const std::string log = relay.log();
  EXPECT_EQ(log.find("POST"), std::string::npos) << log;
}

TEST(RelayProcess, PassesTheGatewayKeyConfigsOn) {
  TestGateway gateway;
  RelayProcess relay(gateway.Url("/echo"));  // keys default to the gateway origin's /ohttp-keys
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  Result<net::ClientResponse> r =
      client->Fetch(net::ClientRequest("GET", relay.url() + "/ohttp-keys"), "", 1 << 16);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, std::string("\x00\x05keys!", 7));
  EXPECT_EQ(r->header("content-type").value_or(""), "application/ohttp-keys");
  EXPECT_FALSE(r->header("set-cookie").has_value());
}

TEST(RelayProcess, ReachesAnHttpsGatewayVerifiedAgainstItsCa) {
  testing::TestPki pki = testing::MakeTestPki("relay-gateway");
  testing::TestPki other = testing::MakeTestPki("relay-other-ca");
  TestGateway gateway(net::TlsServerFiles{pki.cert_file, pki.key_file});
  RelayProcess relay(gateway.Url("/echo"), {"--gateway-ca", pki.ca_file});
  ASSERT_TRUE(relay.Start());
  auto client = MakeClient();
  Result<net::ClientResponse> r =
      client->Fetch(net::ClientRequest("POST", relay.url() + "/", OhttpHeaders()), "over-tls", 1 << 16);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "over-tls");

  // A gateway whose certificate the relay's CA did not issue is never reached.
  RelayProcess untrusting(gateway.Url("/echo"), {"--gateway-ca", other.ca_file});
  ASSERT_TRUE(untrusting.Start());
  const int before = gateway.echo_requests.load();
  Result<net::ClientResponse> refused =
      client->Fetch(net::ClientRequest("POST", untrusting.url() + "/", OhttpHeaders()), "x", 1 << 16);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 502u);
  EXPECT_NE(refused->body.find("(connect)"), std::string::npos) << refused->body;
  EXPECT_EQ(gateway.echo_requests.load(), before);
}

TEST(RelayProcess, RefusesAPlainHttpGatewayOffLoopback) {
  testing::CliResult r = testing::RunCli({"relay", "--gateway", "http://gateway.example/gateway"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("https"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace openpcc
