// The llama engine on generated tiny models (engine/tiny_model.h): loading, streaming with usage
// and finish reasons, determinism, stop sequences, batching, cancellation, backpressure, context
// limits, the chat-template fallback, and that nothing of a prompt or completion reaches stderr.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "openpcc/engine/llama_engine.h"
#include "openpcc/engine/text_filter.h"
#include "openpcc/engine/tiny_model.h"

namespace openpcc::engine {
namespace {

namespace fs = std::filesystem;
using crypto::SecretString;
using std::chrono::seconds;

fs::path TempDir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("openpcc-llama-engine-test-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// One tiny model per variant for the whole binary.
const fs::path& TinyModel(bool with_template = true) {
  static const fs::path with = [] {
    const fs::path p = TempDir() / "tiny.gguf";
    const Status s = MakeTinyModel({}, p);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return p;
  }();
  static const fs::path without = [] {
    const fs::path p = TempDir() / "tiny-no-template.gguf";
    TinyModelOptions o;
    o.chat_template = false;
    const Status s = MakeTinyModel(o, p);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return p;
  }();
  return with_template ? with : without;
}

class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(TempDir(), ec);
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new TempDirCleanup);

std::unique_ptr<LlamaEngine> MakeEngine(LlamaEngineOptions o = {}) {
  if (o.model_path.empty()) o.model_path = TinyModel();
  // One thread: ggml's worker threads spin-wait, which is slow on a shared, busy CI machine.
  if (o.threads == 0) o.threads = 1;
  auto engine = LlamaEngine::Create(std::move(o));
  EXPECT_TRUE(engine.ok()) << engine.error().ToString();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

GenerationRequest ChatRequest(std::string text, uint32_t max_tokens, float temperature = 0.0f) {
  GenerationRequest r;
  r.messages.push_back({"system", SecretString("You are a test.")});
  r.messages.push_back({"user", SecretString(text.c_str())});
  r.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  return r;
}

struct Completion {
  std::string text;
  std::vector<std::string> pieces;
  Finish finish;
};

Completion Drain(Stream& stream) {
  Completion c;
  for (;;) {
    auto event = stream.NextFor(std::chrono::seconds(60));
    if (!event) {
      ADD_FAILURE() << "no event within 60 s";
      return c;
    }
    if (event->finish) {
      c.finish = *event->finish;
      return c;
    }
    EXPECT_FALSE(event->text.empty());
    c.pieces.emplace_back(event->text.begin(), event->text.end());
    c.text += c.pieces.back();
  }
}

Completion Complete(Engine& engine, GenerationRequest request) {
  auto stream = engine.Submit(std::move(request));
  EXPECT_TRUE(stream.ok()) << stream.error().ToString();
  if (!stream.ok()) return {};
  return Drain(*stream);
}

TEST(TinyModelTest, BenchShapeHasAbout100MillionParameters) {
  TinyModelOptions o;
  o.layers = kBenchLayers;
  o.width = kBenchWidth;
  const auto shape = TinyModelShapeFor(o);
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ(shape->heads, 8u);
  EXPECT_EQ(shape->kv_heads, 2u);
  EXPECT_EQ(shape->head_dim, 64u);
  EXPECT_EQ(shape->ffn, 2048u);
  // 128256 x 512 tied embedding + 8 x (2 norms + q,k,v,o + gate,up,down) + output norm.
  EXPECT_EQ(shape->parameters, 65667072u + 8u * (1024u + 262144u + 2u * 65536u + 262144u + 3u * 1048576u) + 512u);
  EXPECT_EQ(shape->parameters, 96084480u);
  const auto tiny = TinyModelShapeFor({});
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->parameters, 8208384u + 2u * (128u + 4u * 4096u + 3u * 16384u) + 64u);
}

TEST(TinyModelTest, RefusesUnusableShapesNamingTheOption) {
  TinyModelOptions o;
  o.width = 100;
  auto s = TinyModelShapeFor(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("--width 100 is not a multiple of 32"), std::string::npos);
  o = {};
  o.layers = 0;
  s = TinyModelShapeFor(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("--layers 0 is not in [1, 64]"), std::string::npos);
  o = {};
  o.vocab_path = TempDir() / "missing.gguf";
  const Status made = MakeTinyModel(o, TempDir() / "never.gguf");
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message().find("cannot read the vocabulary GGUF"), std::string::npos);
  EXPECT_FALSE(fs::exists(TempDir() / "never.gguf"));
}

TEST(TinyModelTest, SameSeedWritesTheSameFile) {
  TinyModelOptions o;
  o.layers = 1;
  o.width = 32;
  o.seed = 9;
  ASSERT_TRUE(MakeTinyModel(o, TempDir() / "a.gguf").ok());
  ASSERT_TRUE(MakeTinyModel(o, TempDir() / "b.gguf").ok());
  o.seed = 10;
  ASSERT_TRUE(MakeTinyModel(o, TempDir() / "c.gguf").ok());
  const auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(TempDir() / "a.gguf"), read(TempDir() / "b.gguf"));
  EXPECT_NE(read(TempDir() / "a.gguf"), read(TempDir() / "c.gguf"));
}

TEST(LlamaEngineTest, LoadsTheTinyModelWithItsChatTemplate) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->info().name, "llama");
  EXPECT_EQ(engine->info().model, "tiny");
  EXPECT_EQ(engine->info().chat_template, "model");
  EXPECT_EQ(engine->info().limits.context_tokens, 2048u);
  EXPECT_EQ(engine->info().limits.max_tokens_cap, 512u);
  EXPECT_EQ(engine->info().slots, 4u);
}

TEST(LlamaEngineTest, RefusesAMissingModelNamingTheFile) {
  LlamaEngineOptions o;
  o.model_path = TempDir() / "absent.gguf";
  auto engine = LlamaEngine::Create(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.error().message().find("cannot load the GGUF model"), std::string::npos);
  EXPECT_NE(engine.error().message().find("absent.gguf"), std::string::npos);
}

TEST(LlamaEngineTest, ChatStreamsTokensWithUsageAndStopsAtMaxTokens) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  const Completion c = Complete(*engine, ChatRequest("Tell me a story.", 12));
  EXPECT_EQ(c.finish.reason, FinishReason::kLength);
  EXPECT_FALSE(c.finish.error.has_value());
  EXPECT_EQ(c.finish.usage.completion_tokens, 12u);
  EXPECT_GT(c.finish.usage.prompt_tokens, 10u);  // system + user turns with header tokens
  EXPECT_GE(c.pieces.size(), 2u);                // streamed, not delivered at once
  EXPECT_TRUE(IsValidUtf8(c.text));
  for (const auto& piece : c.pieces) EXPECT_TRUE(IsValidUtf8(piece));
}

TEST(LlamaEngineTest, CompletionRequestsUsePlainPrompts) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  GenerationRequest r;
  r.kind = RequestKind::kCompletion;
  r.prompt = "Once upon a time";
  r.max_tokens = 5;
  r.sampling.temperature = 0.0f;
  const Completion c = Complete(*engine, std::move(r));
  EXPECT_EQ(c.finish.reason, FinishReason::kLength);
  EXPECT_EQ(c.finish.usage.prompt_tokens, 5u);  // <|begin_of_text|> + 4 words
  EXPECT_EQ(c.finish.usage.completion_tokens, 5u);
}

TEST(LlamaEngineTest, MaxTokensIsCappedByConfiguration) {
  LlamaEngineOptions o;
  o.max_tokens_cap = 6;
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  Completion c = Complete(*engine, ChatRequest("hi", 1000));
  EXPECT_EQ(c.finish.reason, FinishReason::kLength);
  EXPECT_EQ(c.finish.usage.completion_tokens, 6u);
  auto r = ChatRequest("hi", 1);
  r.max_tokens.reset();
  c = Complete(*engine, std::move(r));
  EXPECT_EQ(c.finish.usage.completion_tokens, 6u);
}

TEST(LlamaEngineTest, GreedyAndSeededSamplingAreDeterministic) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  const std::string a = Complete(*engine, ChatRequest("Determinism, please.", 16)).text;
  const std::string b = Complete(*engine, ChatRequest("Determinism, please.", 16)).text;
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
  // temperature 0 ignores the seed
  auto greedy_seeded = ChatRequest("Determinism, please.", 16);
  greedy_seeded.sampling.seed = 12345;
  EXPECT_EQ(Complete(*engine, std::move(greedy_seeded)).text, a);

  const auto sampled = [&](uint64_t seed) {
    auto r = ChatRequest("Determinism, please.", 24, 1.0f);
    r.sampling.seed = seed;
    r.sampling.top_k = 1000;
    r.sampling.top_p = 0.95f;
    return Complete(*engine, std::move(r)).text;
  };
  const std::string s1 = sampled(42);
  EXPECT_EQ(sampled(42), s1);
  EXPECT_NE(sampled(43), s1);  // 24 tokens from a 128k vocabulary: equal only by a miracle
}

TEST(LlamaEngineTest, StopSequenceEndsTheCompletionWithoutItsText) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  const Completion full = Complete(*engine, ChatRequest("Stop somewhere.", 24));
  ASSERT_EQ(full.finish.reason, FinishReason::kLength);
  // A stop sequence from the middle of the greedy completion, spanning a piece boundary if we can.
  ASSERT_GE(full.pieces.size(), 4u);
  size_t boundary = 0;
  for (size_t i = 0; i < full.pieces.size() / 2; ++i) boundary += full.pieces[i].size();
  const std::string tail = full.text.substr(boundary - std::min<size_t>(2, full.pieces[full.pieces.size() / 2 - 1].size()));
  // Take whole characters: at most 4 of them.
  size_t len = 0;
  for (int chars = 0; chars < 4 && len < tail.size(); ++chars) {
    ++len;
    while (len < tail.size() && (static_cast<unsigned char>(tail[len]) & 0xC0) == 0x80) ++len;
  }
  const std::string stop = tail.substr(0, len);
  ASSERT_TRUE(IsValidUtf8(stop));
  auto r = ChatRequest("Stop somewhere.", 24);
  r.stop = {SecretString("never appears \x01"), SecretString(stop.c_str())};
  const Completion c = Complete(*engine, std::move(r));
  EXPECT_EQ(c.finish.reason, FinishReason::kStop);
  EXPECT_EQ(c.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_LT(c.finish.usage.completion_tokens, 24u);
}

// Token ids and top-two logit gaps per request id, from the engine's testing hook.
struct TokenLog {
  std::mutex mu;
  std::map<uint64_t, std::vector<std::pair<int32_t, float>>> by_request;
  auto Observer() {
    return [this](uint64_t id, int32_t token, float gap) {
      std::lock_guard lock(mu);
      by_request[id].push_back({token, gap});
    };
  }
};

TEST(LlamaEngineTest, FourRequestsDecodedInOneBatchMatchEachAlone) {
  TokenLog log;
  LlamaEngineOptions o;
  o.token_observer_for_testing = log.Observer();
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  const std::vector<std::string> prompts = {"First question.", "A second, longer question about batching?",
                                            "Third.", "Fourth: tell me about confidential computing."};
  constexpr uint32_t kTokens = 24;
  std::vector<uint64_t> alone_ids;
  std::vector<std::string> alone_text;
  for (const auto& p : prompts) {
    auto s = engine->Submit(ChatRequest(p, kTokens));
    ASSERT_TRUE(s.ok());
    alone_ids.push_back(s->id());
    alone_text.push_back(Drain(*s).text);
  }
  EXPECT_EQ(engine->stats().max_sequences_in_one_decode, 1u);
  std::vector<Stream> streams;
  std::vector<uint64_t> batched_ids;
  for (const auto& p : prompts) {
    auto s = engine->Submit(ChatRequest(p, kTokens));
    ASSERT_TRUE(s.ok());
    batched_ids.push_back(s->id());
    streams.push_back(std::move(s).value());
  }
  std::vector<std::string> batched_text;
  for (auto& s : streams) {
    const Completion c = Drain(s);
    EXPECT_EQ(c.finish.reason, FinishReason::kLength);
    batched_text.push_back(c.text);
  }
  EXPECT_EQ(engine->stats().max_sequences_in_one_decode, 4u);

  // Batching changes floating-point rounding, so a greedy choice may legitimately flip where the
  // two best logits are within 1e-3: compare tokens up to the first such step of either run.
  size_t compared = 0;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const auto& alone = log.by_request[alone_ids[r]];
    const auto& batched = log.by_request[batched_ids[r]];
    ASSERT_EQ(alone.size(), kTokens);
    ASSERT_EQ(batched.size(), kTokens);
    bool close_call = false;
    for (size_t i = 0; i < kTokens; ++i) {
      if (alone[i].second <= 1e-3f || batched[i].second <= 1e-3f) {
        close_call = true;
        break;
      }
      EXPECT_EQ(alone[i].first, batched[i].first) << "request " << r << " token " << i;
      ++compared;
    }
    if (!close_call) {
      EXPECT_EQ(alone_text[r], batched_text[r]) << "request " << r;
    }
  }
  EXPECT_GE(compared, 3u * kTokens) << "too many near-ties to say anything";
}

TEST(LlamaEngineTest, CancellationFreesTheSlotForTheNextRequest) {
  LlamaEngineOptions o;
  o.slots = 1;
  o.stream_capacity = 1;
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  {
    auto s = engine->Submit(ChatRequest("This request will be abandoned.", 500));
    ASSERT_TRUE(s.ok());
    auto first = s->NextFor(seconds(60));
    ASSERT_TRUE(first && !first->finish);
    s->Cancel();
    Finish finish;
    for (;;) {
      auto e = s->NextFor(seconds(60));
      ASSERT_TRUE(e);
      if (e->finish) {
        finish = *e->finish;
        break;
      }
    }
    EXPECT_EQ(finish.reason, FinishReason::kCancelled);
    EXPECT_LT(finish.usage.completion_tokens, 500u);
  }
  {
    // The caller just goes away: destroying the handle cancels.
    auto s = engine->Submit(ChatRequest("Abandoned by destruction.", 500));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s->NextFor(seconds(60)));
  }
  // With one slot, this only runs once the abandoned requests released it.
  const Completion c = Complete(*engine, ChatRequest("Next one.", 8));
  EXPECT_EQ(c.finish.reason, FinishReason::kLength);
  EXPECT_EQ(c.finish.usage.completion_tokens, 8u);
  EXPECT_EQ(engine->stats().busy_slots, 0u);
}

TEST(LlamaEngineTest, SlowConsumerPausesOnlyItsOwnRequest) {
  TokenLog log;
  LlamaEngineOptions o;
  o.slots = 2;
  o.stream_capacity = 2;
  o.token_observer_for_testing = log.Observer();
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  auto slow = engine->Submit(ChatRequest("I read slowly.", 64));
  ASSERT_TRUE(slow.ok());
  const Completion fast = Complete(*engine, ChatRequest("I read at once.", 64));
  EXPECT_EQ(fast.finish.reason, FinishReason::kLength);
  size_t slow_tokens = 0;
  {
    std::lock_guard lock(log.mu);
    slow_tokens = log.by_request[slow->id()].size();
  }
  EXPECT_LT(slow_tokens, 64u) << "the engine kept generating for a consumer that did not read";
  const Completion rest = Drain(*slow);  // draining resumes it
  EXPECT_EQ(rest.finish.reason, FinishReason::kLength);
  EXPECT_EQ(rest.finish.usage.completion_tokens, 64u);
}

TEST(LlamaEngineTest, OverlongPromptGetsAContextErrorWithTheNumbers) {
  LlamaEngineOptions o;
  o.context_per_request = 256;
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  ASSERT_EQ(engine->info().limits.context_tokens, 256u);
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += " word";
  auto s = engine->Submit(ChatRequest(long_text, 8));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(s.error().message().find("but the context holds 256 tokens per request"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("the prompt is 4"), std::string::npos) << s.error().message();  // 4xx tokens

  std::string medium;
  for (int i = 0; i < 200; ++i) medium += " word";
  s = engine->Submit(ChatRequest(medium, 100));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("max_tokens asks for 100 more"), std::string::npos) << s.error().message();
  // The engine still serves requests that fit.
  EXPECT_EQ(Complete(*engine, ChatRequest("short", 4)).finish.reason, FinishReason::kLength);
}

TEST(LlamaEngineTest, ModelWithoutChatTemplateFallsBackToChatMl) {
  LlamaEngineOptions o;
  o.model_path = TinyModel(false);
  auto engine = MakeEngine(o);
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->info().chat_template, "chatml (fallback: the model has no chat template)");
  EXPECT_EQ(Complete(*engine, ChatRequest("hello", 4)).finish.reason, FinishReason::kLength);
}

TEST(LlamaEngineTest, RefusesInvalidRequestsBeforeQueueing) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine);
  auto r = ChatRequest("x", 4);
  r.sampling.top_p = 1.5f;
  auto s = engine->Submit(std::move(r));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("top_p must be in (0, 1]"), std::string::npos);
  r = ChatRequest("x", 4);
  r.model = "other";
  s = engine->Submit(std::move(r));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnsupported);
}

TEST(LlamaEngineTest, NothingOfThePromptOrCompletionReachesStderr) {
  const std::string canary = "canary-7f3a9c1e-prompt";
  const fs::path capture = TempDir() / "stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  std::FILE* f = std::fopen(capture.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ::dup2(::fileno(f), 2);
  std::string completion;
  {
    auto engine = MakeEngine();  // loading a model writes nothing either
    if (engine) completion = Complete(*engine, ChatRequest(canary, 16)).text;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(f);
  std::ifstream in(capture);
  const std::string written((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(written.find(canary), std::string::npos);
  ASSERT_FALSE(completion.empty());
  EXPECT_EQ(written.find(completion), std::string::npos);
  EXPECT_EQ(written, "") << "llama.cpp printed to stderr";
}

}  // namespace
}  // namespace openpcc::engine
