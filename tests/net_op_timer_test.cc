// net/op_timer.h: an operation's deadline fires once it passes and only then; a later operation's
// deadline is honoured even when the underlying wait began for an earlier one; and the timer waits
// again only when it must (no system call per operation).
#include <gtest/gtest.h>

#include <chrono>

#include "openpcc/net/op_timer.h"

namespace openpcc::net::detail {
namespace {

using namespace std::chrono_literals;
using Clock = OpTimer::Clock;

class OpTimerTest : public ::testing::Test {
 protected:
  // Runs the io_context until `until`.
  void RunFor(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  asio::io_context io_;
};

TEST_F(OpTimerTest, FiresOnlyWhenAnArmedOperationOutlivesItsDeadline) {
  OpTimer timer(io_.get_executor());
  int fired = 0;
  timer.Arm(Clock::now() + 30ms, [&] { ++fired; });
  RunFor(80ms);
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(timer.Disarm());

  // Disarmed before its deadline: nothing fires, and the next operation starts clean.
  timer.Arm(Clock::now() + 30ms, [&] { ++fired; });
  EXPECT_FALSE(timer.Disarm());
  RunFor(80ms);
  EXPECT_EQ(fired, 1);
}

TEST_F(OpTimerTest, ALaterOperationGetsItsOwnDeadlineFromAWaitBegunEarlier) {
  OpTimer timer(io_.get_executor());
  int fired = 0;
  const auto start = Clock::now();
  timer.Arm(start + 30ms, [&] { ++fired; });
  EXPECT_FALSE(timer.Disarm());
  // The pending wait ends at start + 30 ms; this operation's deadline is start + 120 ms.
  Clock::time_point fired_at;
  timer.Arm(start + 120ms, [&] {
    ++fired;
    fired_at = Clock::now();
  });
  RunFor(70ms);
  EXPECT_EQ(fired, 0) << "fired at the earlier operation's deadline";
  RunFor(150ms);
  EXPECT_EQ(fired, 1);
  EXPECT_GE(fired_at - start, 120ms);
  EXPECT_TRUE(timer.Disarm());
}

TEST_F(OpTimerTest, AnEarlierDeadlineReplacesALaterWait) {
  OpTimer timer(io_.get_executor());
  int fired = 0;
  const auto start = Clock::now();
  timer.Arm(start + 10s, [&] { ++fired; });
  EXPECT_FALSE(timer.Disarm());
  timer.Arm(start + 30ms, [&] { ++fired; });
  RunFor(100ms);
  EXPECT_EQ(fired, 1);
}

TEST_F(OpTimerTest, StopAndDestructionLeaveNoWaitBehind) {
  int fired = 0;
  {
    OpTimer timer(io_.get_executor());
    timer.Arm(Clock::now() + 10s, [&] { ++fired; });
    EXPECT_FALSE(timer.Disarm());
    timer.Stop();
    // Nothing is pending: run() returns at once instead of waiting 10 s for the timer.
    const auto before = Clock::now();
    io_.restart();
    io_.run();
    EXPECT_LT(Clock::now() - before, 1s);
    timer.Arm(Clock::now() + 10s, [&] { ++fired; });
  }
  const auto before = Clock::now();
  io_.restart();
  io_.run();
  EXPECT_LT(Clock::now() - before, 1s);
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace openpcc::net::detail
