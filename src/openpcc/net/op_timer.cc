#include "openpcc/net/op_timer.h"

#include <utility>

namespace openpcc::net::detail {

OpTimer::OpTimer(asio::any_io_executor executor)
    : timer_(std::move(executor)), state_(std::make_shared<State>()) {
  state_->timer = &timer_;
}

OpTimer::~OpTimer() {
  Stop();
  state_->timer = nullptr;
}

void OpTimer::Arm(Clock::time_point deadline, std::function<void()> on_fire) {
  State& s = *state_;
  s.armed = true;
  s.fired = false;
  s.deadline = deadline;
  s.on_fire = std::move(on_fire);
  // A pending wait that ends no later than this deadline will notice the new one and wait again.
  if (!s.waiting || deadline < s.waiting_until) Wait(state_, deadline);
}

bool OpTimer::Disarm() {
  State& s = *state_;
  s.armed = false;
  s.on_fire = nullptr;
  return s.fired;
}

void OpTimer::Stop() {
  State& s = *state_;
  s.armed = false;
  s.on_fire = nullptr;
  if (s.waiting) {
    ++s.wait_generation;
    s.waiting = false;
    timer_.cancel();
  }
}

void OpTimer::Wait(const std::shared_ptr<State>& state, Clock::time_point until) {
  State& s = *state;
  const uint64_t generation = ++s.wait_generation;
  s.waiting = true;
  s.waiting_until = until;
  s.timer->expires_at(until);  // cancels a later wait, whose handler is now stale
  s.timer->async_wait([state, generation](beast::error_code ec) {
    State& now = *state;
    if (generation != now.wait_generation || now.timer == nullptr) return;  // replaced, stopped, gone
    now.waiting = false;
    if (ec || !now.armed) return;  // no operation pending: the next Arm waits again
    if (Clock::now() < now.deadline) {
      Wait(state, now.deadline);  // the operation pending now started after this wait began
      return;
    }
    now.fired = true;
    std::function<void()> fire = now.on_fire;
    if (fire) fire();
  });
}

}  // namespace openpcc::net::detail
