// The `openai` engine against llama.cpp's own server (built by scripts/setup from the pinned
// source), started by the test on 127.0.0.1 with a tiny model made by `openpcc model make-tiny`,
// and against a scripted upstream for the cases a real server does not produce on demand.
#include "openpcc/engine/openai_engine.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "openpcc/net/server.h"
#include "openpcc/util/subprocess.h"
#include "support/cli.h"

namespace openpcc::engine {
namespace {

using namespace std::chrono_literals;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct Collected {
  std::string text;
  int pieces = 0;
  Finish finish;
};

Collected Drain(Stream& stream) {
  Collected c;
  while (true) {
    std::optional<StreamEvent> e = stream.NextFor(60s);
    if (!e) {
      c.finish.reason = FinishReason::kError;
      c.finish.error = Error(ErrorCode::kInternal, "test: no event within 60 s");
      return c;
    }
    if (!e->text.empty()) {
      c.text.append(e->text.data(), e->text.size());
      ++c.pieces;
    }
    if (e->finish) {
      c.finish = *e->finish;
      return c;
    }
  }
}

GenerationRequest Chat(uint32_t max_tokens) {
  GenerationRequest r;
  r.kind = RequestKind::kChat;
  r.messages.push_back({"user", crypto::SecretString("Tell me a story about a node.")});
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  return r;
}

class LlamaServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("openai-engine-test-" + std::to_string(getpid())));
    std::filesystem::create_directories(*dir_);
    const std::string model = (*dir_ / "tiny.gguf").string();
    testing::CliResult made = testing::RunCli({"model", "make-tiny", model});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    port_ = FreePort();
    SubprocessOptions options;
    options.argv = {OPENPCC_LLAMA_SERVER, "-m", model, "--host", "127.0.0.1", "--port",
                    std::to_string(port_), "-c", "2048", "-np", "2", "-t", "2", "--no-webui"};
    options.log_path = (*dir_ / "llama-server.log").string();
    auto started = Subprocess::Start(options);
    ASSERT_TRUE(started.ok()) << started.error().message();
    server_ = new Subprocess(std::move(started).value());
    // Ready when /health answers 200.
    auto client = net::BlockingClient::Create({});
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 600; ++i) {
      auto health = (*client)->Fetch(
          net::ClientRequest("GET", "http://127.0.0.1:" + std::to_string(port_) + "/health"), "", 4096);
      if (health.ok() && health->status == 200) return;
      ASSERT_TRUE(server_->Running()) << "llama-server exited; see " << options.log_path;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "llama-server did not become healthy";
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  std::unique_ptr<OpenAiEngine> Make(uint32_t cap = 64, std::string path = "") {
    OpenAiEngineOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port_) + path;
    o.model = "tiny";
    o.max_tokens_cap = cap;
    auto e = OpenAiEngine::Create(o);
    EXPECT_TRUE(e.ok()) << e.error().message();
    return std::move(e).value();
  }

  static inline std::filesystem::path* dir_ = nullptr;
  static inline Subprocess* server_ = nullptr;
  static inline uint16_t port_ = 0;
};

TEST_F(LlamaServerTest, StreamsAChatCompletionWithUsage) {
  auto engine = Make();
  auto stream = engine->Submit(Chat(24));
  ASSERT_TRUE(stream.ok()) << stream.error().message();
  Collected c = Drain(*stream);
  ASSERT_TRUE(c.finish.reason == FinishReason::kLength || c.finish.reason == FinishReason::kStop)
      << (c.finish.error ? c.finish.error->message() : "");
  EXPECT_GT(c.pieces, 1) << "streamed piece by piece";
  EXPECT_GT(c.finish.usage.prompt_tokens, 5u);
  EXPECT_GE(c.finish.usage.completion_tokens, static_cast<uint32_t>(c.pieces > 0 ? 1 : 0));
  EXPECT_LE(c.finish.usage.completion_tokens, 24u);
}

// llama-server closes its connection after each stream while announcing keep-alive; the engine's
// pooled connection must not turn that into a failed request.
TEST_F(LlamaServerTest, SequentialStreamsOnOneEngineAllFinish) {
  auto engine = Make();
  for (int i = 0; i < 4; ++i) {
    auto stream = engine->Submit(Chat(4));
    ASSERT_TRUE(stream.ok()) << stream.error().message();
    Collected c = Drain(*stream);
    EXPECT_TRUE(c.finish.reason == FinishReason::kLength || c.finish.reason == FinishReason::kStop)
        << "request " << i << ": " << (c.finish.error ? c.finish.error->message() : "");
  }
}

TEST_F(LlamaServerTest, CompletionsAndTheMaxTokensCap) {
  auto engine = Make(/*cap=*/6);
  GenerationRequest r;
  r.kind = RequestKind::kCompletion;
  r.prompt = "Once upon a time";
  r.sampling.temperature = 0;
  r.max_tokens = 500;  // clamped to 6
  auto stream = engine->Submit(std::move(r));
  ASSERT_TRUE(stream.ok());
  Collected c = Drain(*stream);
  ASSERT_NE(c.finish.reason, FinishReason::kError) << c.finish.error->message();
  EXPECT_LE(c.finish.usage.completion_tokens, 6u);
  if (c.finish.reason == FinishReason::kLength) {
    EXPECT_EQ(c.finish.usage.completion_tokens, 6u);
  }
}

TEST_F(LlamaServerTest, GreedyRequestsAreDeterministic) {
  auto engine = Make();
  auto a = engine->Submit(Chat(12));
  auto b = engine->Submit(Chat(12));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Drain(*a).text, Drain(*b).text);
}

TEST_F(LlamaServerTest, CancellingClosesTheUpstreamAndTheServerStaysUsable) {
  auto engine = Make(/*cap=*/1500);
  {
    auto stream = engine->Submit(Chat(1500));
    ASSERT_TRUE(stream.ok());
    auto first = stream->NextFor(60s);
    ASSERT_TRUE(first.has_value());
  }  // destroying the stream cancels
  auto next = engine->Submit(Chat(4));
  ASSERT_TRUE(next.ok());
  EXPECT_NE(Drain(*next).finish.reason, FinishReason::kError);
}

TEST_F(LlamaServerTest, NamesTheUpstreamStatus) {
  auto engine = Make(64, "/no/such/prefix");
  auto stream = engine->Submit(Chat(4));
  ASSERT_TRUE(stream.ok());
  Collected c = Drain(*stream);
  ASSERT_EQ(c.finish.reason, FinishReason::kError);
  EXPECT_NE(c.finish.error->message().find("upstream answered HTTP 404"), std::string::npos)
      << c.finish.error->message();
}

TEST(OpenAiEngineTest, RefusesNonLoopbackUpstreamsUnlessAllowed) {
  OpenAiEngineOptions o;
  o.base_url = "http://10.1.2.3:8000";
  o.model = "m";
  auto refused = OpenAiEngine::Create(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("is not loopback"), std::string::npos);
  o.allow_non_loopback = true;
  EXPECT_TRUE(OpenAiEngine::Create(o).ok());
  o.base_url = "http://127.1:8000";
  EXPECT_FALSE(OpenAiEngine::Create(o).ok());
}

TEST(OpenAiEngineTest, NamesAnUnreachableUpstream) {
  OpenAiEngineOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(FreePort());
  o.model = "m";
  auto engine = OpenAiEngine::Create(o);
  ASSERT_TRUE(engine.ok());
  auto stream = (*engine)->Submit(Chat(4));
  ASSERT_TRUE(stream.ok());
  Collected c = Drain(*stream);
  ASSERT_EQ(c.finish.reason, FinishReason::kError);
  EXPECT_NE(c.finish.error->message().find("cannot reach the upstream"), std::string::npos);
}

// A scripted upstream: answers every completion request with `script` as an SSE body.
class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<std::string> script, unsigned status = 200) {
    net::Router router;
    router.Handle("POST", "/v1/chat/completions",
                  [script, status, this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
                    auto body = co_await req.ReadAll(1 << 20);
                    if (body.ok()) last_body = *body;
                    if (status != 200) {
                      (void)co_await res.SendError(status, "bad", "the prompt was: secret");
                      co_return;
                    }
                    (void)co_await res.StartStream(200, "text/event-stream");
                    for (const std::string& piece : script) {
                      const std::string copy = piece;
                      (void)co_await res.Write(copy);
                    }
                    (void)co_await res.Finish();
                  });
    auto server = net::Server::Start({}, std::move(router));
    EXPECT_TRUE(server.ok());
    server_ = std::move(server).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::string last_body;

 private:
  std::unique_ptr<net::Server> server_;
};

Collected RunAgainst(const ScriptedUpstream& upstream) {
  OpenAiEngineOptions o;
  o.base_url = upstream.url();
  o.model = "m";
  auto engine = OpenAiEngine::Create(o);
  EXPECT_TRUE(engine.ok());
  auto stream = (*engine)->Submit(Chat(4));
  EXPECT_TRUE(stream.ok());
  return Drain(*stream);
}

TEST(OpenAiEngineTest, MapsFinishReasonAndUsageAndSendsStreamingRequests) {
  ScriptedUpstream upstream({
      "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"length\"}]}\n\n",
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n",
      "data: [DONE]\n\n"});
  Collected c = RunAgainst(upstream);
  EXPECT_EQ(c.text, "Hello");
  EXPECT_EQ(c.finish.reason, FinishReason::kLength);
  EXPECT_EQ(c.finish.usage.prompt_tokens, 7u);
  EXPECT_EQ(c.finish.usage.completion_tokens, 2u);
  EXPECT_NE(upstream.last_body.find("\"stream\":true"), std::string::npos);
  EXPECT_NE(upstream.last_body.find("\"include_usage\":true"), std::string::npos);
  EXPECT_NE(upstream.last_body.find("\"max_tokens\":4"), std::string::npos);
}

TEST(OpenAiEngineTest, RefusesAStreamThatEndsBeforeAFinishReason) {
  ScriptedUpstream upstream({"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"});
  Collected c = RunAgainst(upstream);
  ASSERT_EQ(c.finish.reason, FinishReason::kError);
  EXPECT_NE(c.finish.error->message().find("ended before a finish reason"), std::string::npos);
}

TEST(OpenAiEngineTest, UpstreamErrorsNameTheStatusButNotTheBody) {
  ScriptedUpstream upstream({}, 400);
  Collected c = RunAgainst(upstream);
  ASSERT_EQ(c.finish.reason, FinishReason::kError);
  EXPECT_NE(c.finish.error->message().find("upstream answered HTTP 400"), std::string::npos);
  EXPECT_EQ(c.finish.error->message().find("secret"), std::string::npos);
}

TEST(OpenAiEngineTest, MidStreamErrorEventsEndTheStream) {
  ScriptedUpstream upstream({"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
                             "data: {\"error\":{\"message\":\"boom\"}}\n\n"});
  Collected c = RunAgainst(upstream);
  ASSERT_EQ(c.finish.reason, FinishReason::kError);
  EXPECT_NE(c.finish.error->message().find("reported an error"), std::string::npos);
}

}  // namespace
}  // namespace openpcc::engine
