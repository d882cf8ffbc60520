// net/cancel.h — one-shot cancellation shared between a request and the code serving it.
//
// The server owns a `CancelSource` per request and cancels it when the client goes away, the
// request's time runs out or the server shuts down. A handler hands `CancelToken`s to whatever
// serves the request — an engine thread polls `cancelled()` between tokens, a `ChunkChannel` is
// closed from an `OnCancel` callback — so generation stops when nobody is listening.
//
// Thread safety: all members may be called from any thread. Callbacks run exactly once, on the
// thread that cancels (or inside OnCancel if already cancelled); they must be short and must not
// block: the server cancels from its I/O threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace openpcc::net {

namespace detail {
struct CancelState {
  std::atomic<bool> cancelled{false};
  std::mutex mu;
  std::vector<std::function<void()>> callbacks;
};
}  // namespace detail

class CancelToken {
 public:
  // A token that is never cancelled.
  CancelToken() = default;

  bool cancelled() const { return state_ && state_->cancelled.load(std::memory_order_acquire); }
  // Runs `fn` once when the token is cancelled; at once if it already is.
  void OnCancel(std::function<void()> fn) const;

 private:
  friend class CancelSource;
  explicit CancelToken(std::shared_ptr<detail::CancelState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::CancelState> state_;
};

class CancelSource {
 public:
  CancelSource() : state_(std::make_shared<detail::CancelState>()) {}

  CancelToken token() const { return CancelToken(state_); }
  bool cancelled() const { return state_->cancelled.load(std::memory_order_acquire); }
  // Idempotent: the first call runs the callbacks, later calls do nothing.
  void Cancel() const;

 private:
  std::shared_ptr<detail::CancelState> state_;
};

}  // namespace openpcc::net
