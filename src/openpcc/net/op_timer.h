// net/op_timer.h — internal to net/: the deadline of one I/O operation at a time on a connection.
//
// Every read and write gets a deadline (the idle timeout, capped by the request's or exchange's),
// and passing it cancels the socket. Re-arming an asio timer per operation costs a timerfd system
// call and a cancelled wait handler each time — per streamed token, at every hop, and system calls
// are expensive in virtual machines (docs/benchmarks.md). This timer re-arms the underlying asio
// timer only when a deadline is earlier than the one it already waits for; a wait that ends
// before the current operation's deadline waits again until it, and Disarm only records that no
// operation is pending. A stream of operations with similar deadlines thus costs about one timer
// wait per idle-timeout period instead of two system calls per operation.
//
// Thread safety: like the asio timer it wraps — use it only from the executor it was made with
// (the connection's strand). Its state is shared with the pending wait, so a wait that completes
// after the OpTimer is gone touches nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "openpcc/net/beast.h"

namespace openpcc::net::detail {

class OpTimer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OpTimer(asio::any_io_executor executor);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

  // Starts an operation: `on_fire` runs on the executor if `deadline` passes before Disarm.
  void Arm(Clock::time_point deadline, std::function<void()> on_fire);
  // Ends the operation; true if its deadline passed (on_fire ran).
  bool Disarm();
  // No more operations for now: cancels the pending wait, so nothing waits on the owner's behalf.
  void Stop();

 private:
  struct State {
    asio::steady_timer* timer = nullptr;  // null once the OpTimer is gone
    bool armed = false;
    bool fired = false;
    Clock::time_point deadline;
    std::function<void()> on_fire;
    bool waiting = false;
    Clock::time_point waiting_until;
    uint64_t wait_generation = 0;  // a replaced or cancelled wait's handler does nothing
  };
  static void Wait(const std::shared_ptr<State>& state, Clock::time_point until);

  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace openpcc::net::detail
