// The transport-only engine (tests and benchmarks only): the number of pieces and the usage, the
// delay between pieces (seen through the injected sleep, so no test depends on the clock),
// cancellation mid-stream and while paused, backpressure, and its limits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "openpcc/engine/transport_engine.h"

namespace openpcc::engine {
namespace {

using namespace std::chrono_literals;
using crypto::SecretString;

GenerationRequest Chat(std::optional<uint32_t> max_tokens) {
  GenerationRequest r;
  r.messages.push_back({"user", SecretString("three little words")});
  r.max_tokens = max_tokens;
  return r;
}

// Options by assignment (designated initializers of a partial struct warn under clang's -Wextra).
TransportEngineOptions Opts(uint32_t cap = 512, std::chrono::microseconds delay = 0us) {
  TransportEngineOptions o;
  o.model = "bench";
  o.max_tokens_cap = cap;
  o.delay = delay;
  return o;
}

std::unique_ptr<TransportEngine> Make(TransportEngineOptions options) {
  auto made = TransportEngine::Create(std::move(options));
  EXPECT_TRUE(made.ok()) << made.error().message();
  return std::move(made).value();
}

// Drains a stream: the pieces, then the final event.
std::pair<std::vector<std::string>, Finish> Drain(Stream& stream) {
  std::vector<std::string> pieces;
  while (true) {
    StreamEvent e = stream.Next();
    if (e.finish) return {pieces, *e.finish};
    pieces.emplace_back(e.text.begin(), e.text.end());
  }
}

TEST(TransportEngineTest, StreamsMaxTokensFixedPiecesThenLength) {
  auto engine = Make(Opts(10));
  EXPECT_EQ(engine->info().name, "transport-only");
  EXPECT_EQ(engine->info().model, "bench");
  auto stream = engine->Submit(Chat(6));
  ASSERT_TRUE(stream.ok()) << stream.error().message();
  auto [pieces, finish] = Drain(*stream);
  EXPECT_EQ(pieces, std::vector<std::string>(6, " tok"));
  EXPECT_EQ(finish.reason, FinishReason::kLength);
  EXPECT_EQ(finish.usage.completion_tokens, 6u);
  EXPECT_EQ(finish.usage.prompt_tokens, 3u);  // words, a stand-in for a tokenizer

  // Clamped to the cap, and the cap when absent.
  auto big = engine->Submit(Chat(1000));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(Drain(*big).first.size(), 10u);
  auto absent = engine->Submit(Chat(std::nullopt));
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(Drain(*absent).second.usage.completion_tokens, 10u);
}

TEST(TransportEngineTest, WaitsTheDelayBetweenPiecesNotBeforeTheFirst) {
  std::mutex mu;
  std::vector<std::chrono::microseconds> sleeps;
  TransportEngineOptions o = Opts(512, 200ms);
  o.piece = "é";
  o.sleep = [&](std::chrono::microseconds d) {
    std::lock_guard lock(mu);
    sleeps.push_back(d);
  };
  auto engine = Make(o);
  auto stream = engine->Submit(Chat(5));
  ASSERT_TRUE(stream.ok());
  auto [pieces, finish] = Drain(*stream);
  EXPECT_EQ(pieces, std::vector<std::string>(5, "é"));
  std::lock_guard lock(mu);
  EXPECT_EQ(sleeps, std::vector<std::chrono::microseconds>(4, 200ms));
}

TEST(TransportEngineTest, RealDelaySpreadsPiecesOut) {
  auto engine = Make(Opts(512, 20ms));
  const auto start = std::chrono::steady_clock::now();  // before Submit: the pauses begin at once
  auto stream = engine->Submit(Chat(4));
  ASSERT_TRUE(stream.ok());
  auto [pieces, finish] = Drain(*stream);
  EXPECT_EQ(pieces.size(), 4u);
  // At least three pauses; the upper bound is left to the scheduler.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 60ms);
}

TEST(TransportEngineTest, CancellingInterruptsThePause) {
  auto engine = Make(Opts(512, 10s));
  auto stream = engine->Submit(Chat(3));
  ASSERT_TRUE(stream.ok());
  StreamEvent first = stream->Next();
  EXPECT_FALSE(first.finish);
  const auto start = std::chrono::steady_clock::now();
  stream->Cancel();
  StreamEvent last = stream->Next();
  ASSERT_TRUE(last.finish);
  EXPECT_EQ(last.finish->reason, FinishReason::kCancelled);
  EXPECT_EQ(last.finish->usage.completion_tokens, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the 10 s pause was not interrupted";
}

TEST(TransportEngineTest, DroppingTheStreamEndsTheRequestAndTheEngineStops) {
  std::atomic<int> sleeps{0};
  {
    TransportEngineOptions o = Opts(512, 1ms);
    o.sleep = [&](std::chrono::microseconds) { ++sleeps; };
    auto engine = Make(o);
    {
      auto stream = engine->Submit(Chat(500));
      ASSERT_TRUE(stream.ok());
      (void)stream->Next();
    }  // destroyed: cancelled
    // The destructor returns only after every request thread left.
  }
  EXPECT_LT(sleeps.load(), 499);
}

TEST(TransportEngineTest, PausesWhileTheConsumerIsBehind) {
  // The sleep hook counts the producer's steps: piece 1, (step) piece 2, (step) and then the
  // channel holds its capacity of 2 unread pieces, so the producer waits instead of queueing 50.
  std::atomic<int> steps{0};
  TransportEngineOptions o = Opts(100, 1us);
  o.stream_capacity = 2;
  o.sleep = [&](std::chrono::microseconds) { ++steps; };
  auto engine = Make(o);
  auto stream = engine->Submit(Chat(50));
  ASSERT_TRUE(stream.ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(steps.load(), 2);
  auto [pieces, finish] = Drain(*stream);
  EXPECT_EQ(pieces.size(), 50u);
  EXPECT_EQ(finish.reason, FinishReason::kLength);
  EXPECT_EQ(steps.load(), 49);
}

TEST(TransportEngineTest, RefusesBadOptionsAndRequests) {
  auto refused_with = [](auto change, std::string_view needle) {
    TransportEngineOptions o = Opts();
    change(o);
    auto made = TransportEngine::Create(o);
    ASSERT_FALSE(made.ok()) << needle;
    EXPECT_NE(made.error().message().find(needle), std::string::npos) << made.error().message();
  };
  refused_with([](TransportEngineOptions& o) { o.model.clear(); }, "model name is empty");
  refused_with([](TransportEngineOptions& o) { o.piece.clear(); }, "piece must be non-empty UTF-8");
  refused_with([](TransportEngineOptions& o) { o.piece = "\xC3"; }, "piece must be non-empty UTF-8");
  refused_with([](TransportEngineOptions& o) { o.max_tokens_cap = 0; }, "max_tokens_cap must be >= 1");
  refused_with([](TransportEngineOptions& o) { o.delay = -1us; }, "delay must be >= 0");
  TransportEngineOptions o = Opts(512, 10s);
  o.max_concurrent = 1;
  auto engine = Make(o);
  GenerationRequest other = Chat(2);
  other.model = "llama";
  auto refused = engine->Submit(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not served here"), std::string::npos);
  auto first = engine->Submit(Chat(2));
  ASSERT_TRUE(first.ok());
  auto second = engine->Submit(Chat(2));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("1 requests are already running"), std::string::npos);
}

}  // namespace
}  // namespace openpcc::engine
