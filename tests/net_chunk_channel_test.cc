// net/chunk_channel: a blocking producer thread and a coroutine consumer; backpressure, end,
// failure and cancellation.
#include "openpcc/net/chunk_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace openpcc::net {
namespace {

using namespace std::chrono_literals;

// Runs `coroutine` on a fresh io_context on this thread until it completes.
template <typename F>
void RunCoroutine(F coroutine) {
  boost::asio::io_context ioc;
  boost::asio::co_spawn(ioc, coroutine(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
}

TEST(NetChunkChannel, DeliversChunksInOrderThenTheEnd) {
  auto channel = ChunkChannel::Create(2);
  std::thread producer([channel] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(channel->Push(std::to_string(i), 5000ms).ok());
    channel->Close();
  });
  std::vector<std::string> got;
  RunCoroutine([&]() -> Awaitable<void> {
    while (true) {
      Result<std::optional<std::string>> next = co_await channel->Next();
      EXPECT_TRUE(next.ok());
      if (!next.ok() || !*next) break;
      got.push_back(**next);
    }
  });
  producer.join();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], std::to_string(i));
}

TEST(NetChunkChannel, ProducerBlocksWhenFullAndTimesOut) {
  auto channel = ChunkChannel::Create(2);
  ASSERT_TRUE(channel->Push("a", 10ms).ok());
  ASSERT_TRUE(channel->Push("b", 10ms).ok());
  auto start = std::chrono::steady_clock::now();
  Status third = channel->Push("c", 50ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().message().find("push timed out"), std::string::npos);
}

TEST(NetChunkChannel, BackpressureReleasesWhenTheConsumerTakesAChunk) {
  auto channel = ChunkChannel::Create(1);
  ASSERT_TRUE(channel->Push("first", 10ms).ok());
  std::atomic<bool> second_pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(channel->Push("second", 5000ms).ok());
    second_pushed = true;
    channel->Close();
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(second_pushed.load());  // the channel is full: the producer waits
  std::vector<std::string> got;
  RunCoroutine([&]() -> Awaitable<void> {
    while (true) {
      auto next = co_await channel->Next();
      if (!next.ok() || !*next) break;
      got.push_back(**next);
    }
  });
  producer.join();
  EXPECT_TRUE(second_pushed.load());
  EXPECT_EQ(got, (std::vector<std::string>{"first", "second"}));
}

TEST(NetChunkChannel, FailDeliversTheErrorAfterQueuedChunks) {
  auto channel = ChunkChannel::Create(4);
  ASSERT_TRUE(channel->Push("x", 10ms).ok());
  channel->Fail(Error(ErrorCode::kInternal, "engine: context length exceeded"));
  RunCoroutine([&]() -> Awaitable<void> {
    auto first = co_await channel->Next();
    EXPECT_TRUE(first.ok() && *first && **first == "x");
    auto second = co_await channel->Next();
    EXPECT_FALSE(second.ok());
    if (!second.ok()) {
      EXPECT_EQ(second.error().message(), "engine: context length exceeded");
    }
  });
  Status late = channel->Push("y", 10ms);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message().find("push after the producer closed"), std::string::npos);
}

TEST(NetChunkChannel, CancelWakesABlockedProducerAndAWaitingConsumer) {
  auto channel = ChunkChannel::Create(1);
  ASSERT_TRUE(channel->Push("fill", 10ms).ok());
  Status blocked = OkStatus();
  std::thread producer([&] { blocked = channel->Push("more", 10'000ms); });
  std::this_thread::sleep_for(30ms);
  CancelSource source;
  channel->CancelOn(source.token());
  auto start = std::chrono::steady_clock::now();
  source.Cancel();
  producer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.error().message().find("consumer cancelled the stream"), std::string::npos);

  // A consumer suspended in Next() is woken by Cancel from another thread.
  auto idle = ChunkChannel::Create(1);
  std::thread canceller([idle] {
    std::this_thread::sleep_for(30ms);
    idle->Cancel();
  });
  RunCoroutine([&]() -> Awaitable<void> {
    auto next = co_await idle->Next();
    EXPECT_FALSE(next.ok());
    if (!next.ok()) {
      EXPECT_NE(next.error().message().find("cancelled"), std::string::npos);
    }
  });
  canceller.join();
}

TEST(NetCancel, CallbacksRunOnceAndLateRegistrationsRunAtOnce) {
  CancelSource source;
  CancelToken token = source.token();
  int calls = 0;
  token.OnCancel([&] { ++calls; });
  EXPECT_FALSE(token.cancelled());
  source.Cancel();
  source.Cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(token.cancelled());
  token.OnCancel([&] { ++calls; });
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(CancelToken().cancelled());
}

}  // namespace
}  // namespace openpcc::net
