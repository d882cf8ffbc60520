// The confidential path under attack and failure, every hop a real process on loopback (issue 8):
// the client library (client/client.h) → `openpcc relay` → `openpcc gateway` → `openpcc node` (sim
// TEE, the tiny llama model), with log, witness and issuer.
//
// 1. A malicious gateway→node hop: each node registers with --advertise-url pointing at a
//    forwarder in this process, which relays /v1/infer to the node after rewriting the sealed
//    request (DESIGN §2.2): a candidate stripped, candidates reordered, the request sent to a node
//    outside the client's candidates, body chunks of one request spliced under another's header.
//    Each fault is refused by the node's named check before its engine is called (the node logs
//    `infer refused check=...` and never `infer`), and the client's call fails; the same forwarder
//    without a fault passes requests, so the checks can fail.
// 2. A node SIGKILLed after the first streamed piece: the client reports a truncated answer.
// 3. TLS on the gateway→node hop with a test CA; a node whose certificate another CA issued is
//    never used and the gateway's health check names the verification failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/this_coro.hpp>

#include "openpcc/client/client.h"
#include "openpcc/crypto/aead.h"
#include "openpcc/crypto/hpke.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/clock.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"
#include "support/sealed_client.h"
#include "support/stack_process.h"
#include "support/test_pki.h"

namespace openpcc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- the sealed request's prelude, as a gateway that wants to tamper with it would parse it ----

struct SealedParts {
  uint8_t version = 0;
  uint16_t body_aead = 0;
  std::vector<Bytes> node_ids;
  Bytes body_nonce;
  std::vector<Bytes> candidates;  // each Candidate entry, in node_id order
  Bytes chunks;                   // everything after the candidates

  static Result<SealedParts> Parse(ByteView bytes) {
    SealedParts p;
    wire::ByteReader r(bytes);
    uint8_t count = 0;
    if (!r.ReadU8(&p.version) || !r.ReadU16(&p.body_aead) || !r.ReadU8(&count)) {
      return Error(ErrorCode::kMalformed, "test: short header");
    }
    for (uint8_t i = 0; i < count; ++i) {
      ByteView id;
      if (!r.ReadBytes(32, &id)) return Error(ErrorCode::kMalformed, "test: short node_id");
      p.node_ids.push_back(ToBytes(id));
    }
    const auto body_aead = static_cast<crypto::AeadId>(p.body_aead);
    ByteView nonce;
    if (!r.ReadBytes(crypto::AeadNonceLength(body_aead), &nonce)) return Error(ErrorCode::kMalformed, "test: nonce");
    p.body_nonce = ToBytes(nonce);
    for (uint8_t i = 0; i < count; ++i) {
      const size_t start = bytes.size() - r.remaining();
      uint16_t kem = 0, kdf = 0, aead = 0;
      if (!r.ReadU16(&kem) || !r.ReadU16(&kdf) || !r.ReadU16(&aead)) return Error(ErrorCode::kMalformed, "test: suite");
      auto suite = crypto::HpkeSuiteFromIds(kem, kdf, aead);
      if (!suite.ok()) return suite.error();
      ByteView enc, wrapped;
      if (!r.ReadBytes(crypto::KemPublicKeyLength(suite->kem), &enc) ||
          !r.ReadBytes(crypto::AeadKeyLength(body_aead) + crypto::AeadTagLength(suite->aead), &wrapped)) {
        return Error(ErrorCode::kMalformed, "test: short candidate");
      }
      p.candidates.push_back(ToBytes(bytes.subspan(start, bytes.size() - r.remaining() - start)));
    }
    ByteView rest;
    if (!r.ReadBytes(r.remaining(), &rest)) return Error(ErrorCode::kMalformed, "test: rest");
    p.chunks = ToBytes(rest);
    return p;
  }

  Bytes Prelude() const {
    Bytes out = {version, static_cast<uint8_t>(body_aead >> 8), static_cast<uint8_t>(body_aead & 0xff),
                 static_cast<uint8_t>(node_ids.size())};
    for (const Bytes& id : node_ids) out.insert(out.end(), id.begin(), id.end());
    out.insert(out.end(), body_nonce.begin(), body_nonce.end());
    for (const Bytes& c : candidates) out.insert(out.end(), c.begin(), c.end());
    return out;
  }
  Bytes Encode() const {
    Bytes out = Prelude();
    out.insert(out.end(), chunks.begin(), chunks.end());
    return out;
  }
};

// ---- the fault-injecting forwarder: what a malicious gateway can do on the gateway→node hop ----

enum class Fault { kNone, kRecord, kStrip, kReorder, kOutsider, kSplice };

struct FaultPlan {
  std::mutex mu;
  Fault fault = Fault::kNone;
  // Every node as (node_id, URL): kOutsider sends the request to one that is not its candidate.
  std::vector<std::pair<Bytes, std::string>> nodes;
  Bytes recorded_chunks;     // kRecord keeps the body chunks of the request it passes on
  std::atomic<int> faulted{0};
  std::atomic<int> passed{0};
  std::string error;         // the last request the forwarder could not rewrite
};

class Forwarder {
 public:
  explicit Forwarder(FaultPlan& plan) : plan_(plan) {
    net::Router router;
    router.Handle("POST", "/v1/infer", [this](net::Request& req, net::Response& res) { return Infer(req, res); });
    router.Handle("GET", "/healthz", [this](net::Request& req, net::Response& res) { return Pass(req, res); });
    router.Handle("POST", "/v1/attest", [this](net::Request& req, net::Response& res) { return Pass(req, res); });
    auto server = net::Server::Start(net::ServerOptions{}, std::move(router));
    EXPECT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void SetTarget(std::string url, Bytes node_id) {
    std::lock_guard lock(mu_);
    target_ = std::move(url);
    own_id_ = std::move(node_id);
  }

 private:
  net::Awaitable<void> Pass(net::Request& req, net::Response& res) {
    std::string target;
    {
      std::lock_guard lock(mu_);
      target = target_;
    }
    Result<std::string> body = co_await req.ReadAll(1 << 16);
    if (!body.ok() || target.empty()) {
      (void)co_await res.SendError(503, "no_target", "forwarder: no node yet");
      co_return;
    }
    // Named locals, not temporaries, around co_await (the g++ 12 pitfall of docs/architecture.md).
    const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
    const net::ClientOptions client_options;
    auto client = net::Client::Create(executor, client_options);
    net::ClientRequest request(std::string(req.method()), target + std::string(req.target()),
                               {{"Content-Type", "application/json"}});
    Result<net::ClientResponse> answer = co_await (*client)->Fetch(std::move(request), *body, 1 << 20);
    if (!answer.ok()) {
      (void)co_await res.SendError(502, "node", "forwarder: the node did not answer");
      co_return;
    }
    const std::string type = answer->header("Content-Type").value_or("application/json");
    (void)co_await res.Send(answer->status, answer->body, type);
  }

  // Rewrites `body` for the planned fault; the URL to send it to.
  std::string Rewrite(std::string& body) {
    std::string target;
    Bytes own;
    {
      std::lock_guard lock(mu_);
      target = target_;
      own = own_id_;
    }
    std::lock_guard lock(plan_.mu);
    if (plan_.fault == Fault::kNone) {
      ++plan_.passed;
      return target;
    }
    auto parts = SealedParts::Parse(AsBytes(body));
    if (!parts.ok()) {
      plan_.error = parts.error().message();
      return target;
    }
    if (plan_.fault == Fault::kOutsider) {
      // The request unchanged, to a node the client did not pick (K < N).
      for (const auto& [id, url] : plan_.nodes) {
        if (std::find(parts->node_ids.begin(), parts->node_ids.end(), id) != parts->node_ids.end()) continue;
        ++plan_.faulted;
        return url;
      }
      plan_.error = "every node is a candidate: no outsider to forward to";
      return target;
    }
    switch (plan_.fault) {
      case Fault::kRecord:
        plan_.recorded_chunks = parts->chunks;
        ++plan_.passed;
        return target;
      case Fault::kStrip:
        // Removes a candidate that is not this node: its node_id and its Candidate entry, count
        // adjusted. Everything this node needs to open the request is still there.
        for (size_t i = 0; i < parts->node_ids.size(); ++i) {
          if (parts->node_ids[i] == own) continue;
          parts->node_ids.erase(parts->node_ids.begin() + static_cast<std::ptrdiff_t>(i));
          parts->candidates.erase(parts->candidates.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
        break;
      case Fault::kReorder:
        // The same candidates, each node_id still with its own entry, in reverse order.
        std::reverse(parts->node_ids.begin(), parts->node_ids.end());
        std::reverse(parts->candidates.begin(), parts->candidates.end());
        break;
      case Fault::kSplice:
        // This request's header and candidates, the recorded request's body chunks.
        parts->chunks = plan_.recorded_chunks;
        break;
      default:
        break;
    }
    ++plan_.faulted;
    const Bytes rewritten = parts->Encode();
    body.assign(AsChars(rewritten));
    return target;
  }

  net::Awaitable<void> Infer(net::Request& req, net::Response& res) {
    Result<std::string> read = co_await req.ReadAll(2 << 20);
    if (!read.ok()) co_return;
    std::string body = std::move(read).value();
    const std::string target = Rewrite(body);
    // Named locals, not temporaries, around co_await (the g++ 12 pitfall of docs/architecture.md).
    const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
    const net::ClientOptions client_options;
    auto client = net::Client::Create(executor, client_options);
    net::ClientRequest request("POST", target + "/v1/infer",
                               {{"Content-Type", std::string(wire::kSealedRequestMediaType)}});
    const std::optional<uint64_t> length = body.size();
    Result<net::ClientExchange> exchange = co_await (*client)->Start(std::move(request), length);
    if (!exchange.ok()) {
      (void)co_await res.SendError(502, "node", "forwarder: the node is unreachable");
      co_return;
    }
    const std::string_view view(body);
    Status sent = co_await exchange->Write(view);
    if (sent.ok()) sent = co_await exchange->FinishRequest();
    Result<net::ResponseHead> head = Error(ErrorCode::kInternal, "not read");
    if (sent.ok()) head = co_await exchange->ReadResponseHead();
    if (!head.ok()) {
      (void)co_await res.SendError(502, "node", "forwarder: the node did not answer");
      co_return;
    }
    const std::string type = head->header("Content-Type").value_or("application/json");
    if (head->status != 200) {
      Result<std::string> answer = co_await exchange->ReadAll(1 << 16);
      const std::string text = answer.ok() ? *answer : std::string();
      (void)co_await res.Send(head->status, text, type);
      co_return;
    }
    Status started = co_await res.StartStream(200, type);
    if (!started.ok()) co_return;
    std::vector<uint8_t> buffer(16 * 1024);
    while (true) {
      const std::span<uint8_t> span(buffer);
      Result<size_t> n = co_await exchange->ReadSome(span);
      if (!n.ok()) co_return;  // the node broke off: so does this hop
      if (*n == 0) break;
      Status wrote = co_await res.Write(ByteView(buffer.data(), *n));
      if (!wrote.ok()) co_return;
    }
    (void)co_await res.Finish();
  }

  FaultPlan& plan_;
  std::mutex mu_;
  std::string target_;
  Bytes own_id_;
  std::unique_ptr<net::Server> server_;
};

// ---- helpers ----

// The node's current key id, from its own /v1/attest (the bundle's key configuration).
Bytes NodeIdOf(const std::string& node_url, const std::string& ca_file = "") {
  net::ClientOptions options;
  options.ca_file = ca_file;
  auto http = net::BlockingClient::Create(options);
  EXPECT_TRUE(http.ok());
  const std::string body = "{\"nonce\":\"" + Base64UrlEncode(Bytes(32, 7)) + "\"}";
  auto r = (*http)->Fetch(net::ClientRequest("POST", node_url + "/v1/attest"), body, 1 << 20);
  EXPECT_TRUE(r.ok() && r->status == 200) << node_url;
  if (!r.ok()) return {};
  auto config = testing::KeyConfigFromBundleJson(r->body);
  EXPECT_TRUE(config.ok());
  if (!config.ok()) return {};
  return *wire::NodeIdOf(*config);
}

// Counts of a node's log lines: requests refused before the engine (with a given check) and
// requests that authenticated and were served (`msg=infer`).
struct NodeLogCounts {
  size_t refused = 0;  // any check
  size_t refused_with_check = 0;
  size_t served = 0;
};

NodeLogCounts CountLog(const std::string& log, const std::string& check) {
  NodeLogCounts c;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + start, end - start);
    if (line.find("msg=\"infer refused\"") != std::string_view::npos) {
      ++c.refused;
      if (line.find(" check=" + check + " ") != std::string_view::npos ||
          line.ends_with(" check=" + check)) {
        ++c.refused_with_check;
      }
    } else if (line.find(" msg=infer ") != std::string_view::npos) {
      ++c.served;
    }
    start = end + 1;
  }
  return c;
}

class RecordingSink final : public client::AnswerSink {
 public:
  std::function<void()> on_first_piece;
  Bytes node_id;
  std::string content;
  size_t pieces = 0;

  Status OnVerified(const client::VerificationReport& report) override {
    node_id = report.node_id;
    return OkStatus();
  }
  Status OnHead(const client::InnerResponseHead&) override { return OkStatus(); }
  Status OnContent(ByteView piece) override {
    content.append(AsChars(piece));
    if (++pieces == 1 && on_first_piece) on_first_piece();
    return OkStatus();
  }
};

std::string ChatBody(int max_tokens, const std::string& prompt = "hello path") {
  return R"({"model":"tiny","stream":true,"temperature":0,"max_tokens":)" + std::to_string(max_tokens) +
         R"(,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

// A client of the stack, bootstrapped (the directory lists `nodes` nodes) with tokens in its wallet.
std::unique_ptr<client::Client> ReadyClient(testing::Stack& stack, size_t nodes) {
  auto config = client::ClientConfig::Load(stack.WriteClientConfig(nodes));
  EXPECT_TRUE(config.ok()) << config.error().message();
  if (!config.ok()) return nullptr;
  auto made = client::Client::Create(std::move(config).value(), SystemClock::Instance());
  EXPECT_TRUE(made.ok()) << made.error().message();
  if (!made.ok()) return nullptr;
  std::unique_ptr<client::Client> c = std::move(made).value();
  // The gateway publishes its first directory a few seconds after it starts.
  std::string last = "no attempt";
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool bootstrapped = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto trusted = c->Bootstrap("tiny");
    if (trusted.ok() && trusted->Candidates().size() == nodes) {
      bootstrapped = true;
      break;
    }
    last = trusted.ok() ? std::to_string(trusted->Candidates().size()) + " nodes listed" : trusted.error().message();
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(bootstrapped) << last << "\n" << stack.gateway().log();
  if (!bootstrapped) return nullptr;
  while (c->tokens() == 0 && std::chrono::steady_clock::now() < deadline + 30s) {
    auto added = c->TickWallet();
    if (!added.ok()) last = added.error().message();
    if (c->tokens() == 0) std::this_thread::sleep_for(300ms);
  }
  EXPECT_GT(c->tokens(), 0u) << last;
  return c;
}

// ---- 1. the malicious gateway→node hop ----

// Three nodes, K = 2: every request has a node that is not its candidate.
constexpr size_t kFaultNodes = 3;
constexpr size_t kFaultK = 2;

class PathFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    plan_ = new FaultPlan;
    for (size_t i = 0; i < kFaultNodes; ++i) forwarders_.push_back(std::make_unique<Forwarder>(*plan_));
    stack_ = new testing::Stack(fs::temp_directory_path() / ("path-fault-test-" + std::to_string(getpid())));
    testing::StackOptions options;
    for (size_t i = 0; i < kFaultNodes; ++i) {
      options.nodes.push_back({"127.0.0.1:0", {"--advertise-url", forwarders_[i]->url()}, true});
    }
    options.gateway_flags = {"--k", std::to_string(kFaultK)};
    auto started = stack_->Start(options);
    ASSERT_TRUE(started);
    for (size_t i = 0; i < kFaultNodes; ++i) {
      const Bytes id = NodeIdOf(stack_->node(i).url());
      forwarders_[i]->SetTarget(stack_->node(i).url(), id);
      plan_->nodes.emplace_back(id, stack_->node(i).url());
    }
    client_ = ReadyClient(*stack_, kFaultNodes).release();
    ready_ = client_ != nullptr;
  }
  static void TearDownTestSuite() {
    delete client_;
    delete stack_;
    forwarders_.clear();
    delete plan_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }
  void TearDown() override {
    std::lock_guard lock(plan_->mu);
    plan_->fault = Fault::kNone;
  }

  static void SetFault(Fault fault) {
    std::lock_guard lock(plan_->mu);
    plan_->fault = fault;
  }

  std::vector<NodeLogCounts> Counts(const std::string& check) {
    std::vector<NodeLogCounts> out;
    for (size_t i = 0; i < stack_->node_count(); ++i) out.push_back(CountLog(stack_->node(i).log(), check));
    return out;
  }

  // One call with `fault` injected: it fails naming `client_error`; the nodes log refusals with
  // `check` and serve nothing (the engine was never called).
  void ExpectRefused(Fault fault, const std::vector<std::string>& client_error, const std::string& check) {
    const auto before = Counts(check);
    const int faulted_before = plan_->faulted.load();
    SetFault(fault);
    RecordingSink sink;
    auto result = client_->Chat(ChatBody(8), sink);
    SetFault(Fault::kNone);
    EXPECT_TRUE(plan_->error.empty()) << plan_->error;
    EXPECT_GT(plan_->faulted.load(), faulted_before) << "no request went through the forwarder";
    ASSERT_FALSE(result.ok()) << "a faulted request was answered";
    for (const std::string& part : client_error) {
      EXPECT_NE(result.error().message().find(part), std::string::npos) << result.error().message();
    }
    EXPECT_EQ(sink.pieces, 0u);
    // The node's log line is written before its answer leaves: it is there by now.
    const auto after = Counts(check);
    size_t refused_with_check = 0;
    for (size_t i = 0; i < after.size(); ++i) {
      refused_with_check += after[i].refused_with_check - before[i].refused_with_check;
      EXPECT_EQ(after[i].served, before[i].served) << stack_->node(i).name << " served a faulted request\n"
                                                   << stack_->node(i).log();
    }
    EXPECT_GE(refused_with_check, 1u) << "no node logged `infer refused check=" << check << "`";
  }

  static FaultPlan* plan_;
  static std::vector<std::unique_ptr<Forwarder>> forwarders_;
  static testing::Stack* stack_;
  static client::Client* client_;
  static bool ready_;
};

FaultPlan* PathFaultTest::plan_ = nullptr;
std::vector<std::unique_ptr<Forwarder>> PathFaultTest::forwarders_;
testing::Stack* PathFaultTest::stack_ = nullptr;
client::Client* PathFaultTest::client_ = nullptr;
bool PathFaultTest::ready_ = false;

TEST_F(PathFaultTest, TheForwarderWithoutAFaultPassesRequests) {
  const auto before = Counts("-");
  const int passed_before = plan_->passed.load();
  RecordingSink sink;
  auto result = client_->Chat(ChatBody(8), sink);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << stack_->gateway().log();
  EXPECT_GT(plan_->passed.load(), passed_before);
  EXPECT_EQ(result->candidates, kFaultK);
  EXPECT_NE(sink.content.find("data: [DONE]"), std::string::npos) << sink.content;
  // The node logs a served request once its stream has ended, which may be just after the client
  // read the last chunk: wait for the line (so that the next test's counts start settled).
  size_t served = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    const auto after = Counts("-");
    served = 0;
    for (size_t i = 0; i < after.size(); ++i) served += after[i].served - before[i].served;
    if (served >= 1) break;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(served, 1u);
}

TEST_F(PathFaultTest, AStrippedCandidateFailsTheWrappedDek) {
  ExpectRefused(Fault::kStrip, {"HTTP 400 (sealed_request)", "wrapped_dek does not open"}, "sealed_request");
}

TEST_F(PathFaultTest, ReorderedCandidatesFailTheWrappedDek) {
  ExpectRefused(Fault::kReorder, {"HTTP 400 (sealed_request)", "wrapped_dek does not open"}, "sealed_request");
}

TEST_F(PathFaultTest, ANodeOutsideTheCandidatesFindsNoOwnNodeId) {
  // The node answers 421 unknown_node ("sealed: no candidate is this node"); the gateway takes
  // that as a failed candidate and tries the other, which the forwarder sends to the outsider
  // too, so the client hears that every candidate failed.
  ExpectRefused(Fault::kOutsider, {"HTTP 502 (nodes_failed)"}, "unknown_node");
}

TEST_F(PathFaultTest, ChunksSplicedUnderAnotherRequestsHeaderDoNotAuthenticate) {
  SetFault(Fault::kRecord);
  RecordingSink first;
  auto recorded = client_->Chat(ChatBody(8, "the first request"), first);
  ASSERT_TRUE(recorded.ok()) << recorded.error().message();
  {
    std::lock_guard lock(plan_->mu);
    ASSERT_FALSE(plan_->recorded_chunks.empty());
  }
  ExpectRefused(Fault::kSplice, {"HTTP 400 (sealed_request)", "chunk", "does not authenticate"}, "sealed_request");
}

// ---- 2. a node killed mid-stream, through relay, gateway and node ----

TEST(PathKillTest, ANodeKilledMidStreamReachesTheClientAsTruncated) {
  testing::Stack stack(fs::temp_directory_path() / ("path-kill-test-" + std::to_string(getpid())));
  testing::StackOptions options;
  options.nodes = {{}, {}};
  options.max_tokens = 4000;
  options.context = 4096;
  ASSERT_TRUE(stack.Start(options));
  std::vector<Bytes> ids;
  for (size_t i = 0; i < stack.node_count(); ++i) ids.push_back(NodeIdOf(stack.node(i).url()));
  auto c = ReadyClient(stack, 2);
  ASSERT_NE(c, nullptr);

  RecordingSink sink;
  std::atomic<int> killed{-1};
  sink.on_first_piece = [&] {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == sink.node_id) {
        stack.node(i).process->Signal(SIGKILL);
        killed = static_cast<int>(i);
      }
    }
  };
  auto result = c->Chat(ChatBody(4000, "tell me a very long story"), sink);
  ASSERT_GE(killed.load(), 0) << "the answering node was not found";
  stack.node(static_cast<size_t>(killed.load())).process->Stop(5s);
  ASSERT_FALSE(result.ok()) << "a stream cut by a killed node ended cleanly (" << sink.pieces << " pieces)";
  EXPECT_GE(sink.pieces, 1u);
  EXPECT_EQ(sink.content.find("data: [DONE]"), std::string::npos);
  const std::string message = result.error().message();
  // The transport sees the outer stream break ("... ended before its authenticated final
  // chunk"); a stream that ended without its final chunk would read "(truncated)". Either way
  // the code says incomplete, never a clean end.
  EXPECT_TRUE(result.error().code() == ErrorCode::kIncomplete || result.error().code() == ErrorCode::kTruncated)
      << message;
  EXPECT_TRUE(message.find("(truncated)") != std::string::npos ||
              message.find("ended before its authenticated final chunk") != std::string::npos)
      << message;
  EXPECT_NE(stack.gateway().log().find("node broke off the stream"), std::string::npos) << stack.gateway().log();
}

// ---- 3. TLS on the gateway→node hop ----

TEST(PathTlsTest, TheGatewayReachesNodesOverTlsAndRefusesAnotherCasCertificate) {
  testing::TestPki pki = testing::MakeTestPki("path-node-ca");
  testing::TestPki other = testing::MakeTestPki("path-other-ca");
  testing::Stack stack(fs::temp_directory_path() / ("path-tls-test-" + std::to_string(getpid())));
  testing::StackOptions options;
  // With --tls-cert a node registers https://LISTEN by itself.
  for (const testing::TestPki* p : {&pki, &other}) {
    options.nodes.push_back({"127.0.0.1:0", {"--tls-cert", p->cert_file, "--tls-key", p->key_file}, true});
  }
  options.gateway_flags = {"--ca-file", pki.ca_file};
  ASSERT_TRUE(stack.Start(options));
  const std::string good_url = "https://" + stack.node(0).address;
  const Bytes good = NodeIdOf(good_url, pki.ca_file);
  auto c = ReadyClient(stack, 2);
  ASSERT_NE(c, nullptr);

  for (int i = 0; i < 3; ++i) {
    RecordingSink sink;
    auto result = c->Chat(ChatBody(8), sink);
    ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << stack.gateway().log();
    EXPECT_EQ(result->candidates, 2u);
    EXPECT_EQ(result->node_id, good) << "answered by the node whose certificate another CA issued";
    EXPECT_NE(sink.content.find("data: [DONE]"), std::string::npos);
  }
  EXPECT_EQ(CountLog(stack.node(0).log(), "-").served, 3u);
  EXPECT_EQ(CountLog(stack.node(1).log(), "-").served, 0u) << stack.node(1).log();
  EXPECT_EQ(CountLog(stack.node(1).log(), "-").refused, 0u);
  // The gateway's health check names the failed verification of the other CA's certificate.
  const std::string gateway_log = stack.gateway().log();
  EXPECT_NE(gateway_log.find("node health check failed"), std::string::npos) << gateway_log;
  EXPECT_NE(gateway_log.find("certificate verify failed"), std::string::npos) << gateway_log;
}

}  // namespace
}  // namespace openpcc
