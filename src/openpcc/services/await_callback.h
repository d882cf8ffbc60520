// services/await_callback.h — lets a request handler (a coroutine on the server's I/O threads) wait
// for work done on a thread of its own: an fsync, a batch append, a witness's durable state.
//
// Handlers must not block (net/router.h). `AwaitCallback<T>(start)` suspends the coroutine and calls
// `start(done)`; whoever holds `done` — typically a worker thread — calls it once with the result,
// from any thread, and the coroutine resumes on its own executor with that value. The worker must
// call `done` before the server's io_context is destroyed (services stop their workers after the
// server has shut down and before they destroy it).
//
// `Deferred<T>` is the same for a result awaited later: the handler starts the work, goes on with
// other work (routing a request while a spend is fsynced), and awaits the result only when it must
// have it.
//
// Deferred<T> needs a T that can be made from an Error (Status, Result<U>).
//
// Thread safety: `done` (and a Deferred's resolver) may be called from any thread, exactly once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "openpcc/net/asio.h"
#include "openpcc/net/beast.h"
#include "openpcc/util/result.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace openpcc::services {

template <typename T>
net::Awaitable<T> AwaitCallback(std::function<void(std::function<void(T)> done)> start) {
  auto initiation = [start = std::move(start)](auto handler) {
    using Handler = decltype(handler);
    // std::function needs a copyable callable; the completion handler is move-only.
    auto shared = std::make_shared<Handler>(std::move(handler));
    start([shared](T value) {
      auto executor = boost::asio::get_associated_executor(*shared);
      boost::asio::post(executor, [shared, value = std::move(value)]() mutable {
        std::move (*shared)(std::move(value));
      });
    });
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(T)>(
      std::move(initiation), boost::asio::use_awaitable);
}

template <typename T>
class Deferred {
 public:
  explicit Deferred(net::asio::any_io_executor executor) : state_(std::make_shared<State>(executor)) {}

  // The function that delivers the result; it may outlive this Deferred.
  std::function<void(T)> Resolver() const {
    return [state = state_](T value) {
      {
        std::lock_guard lock(state->mu);
        state->value.emplace(std::move(value));
      }
      state->bell.try_send(net::beast::error_code{});
    };
  }

  // Suspends until the result was delivered (at once if it already was); call at most once.
  net::Awaitable<T> Get() {
    {
      std::lock_guard lock(state_->mu);
      if (state_->value) co_return std::move(*state_->value);
    }
    (void)co_await state_->bell.async_receive(net::kAsTuple);
    std::lock_guard lock(state_->mu);
    // Only a cancelled wait (the server shutting down) gets here without a value.
    if (!state_->value) co_return T(Error(ErrorCode::kFailedPrecondition, "deferred result: the wait was cancelled"));
    co_return std::move(*state_->value);
  }

 private:
  struct State {
    explicit State(net::asio::any_io_executor executor) : bell(executor, 1) {}
    std::mutex mu;
    std::optional<T> value;
    net::asio::experimental::concurrent_channel<void(net::beast::error_code)> bell;
  };
  std::shared_ptr<State> state_;
};

}  // namespace openpcc::services
