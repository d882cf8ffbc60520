#include "openpcc/net/chunk_channel.h"

#include <algorithm>

#include "openpcc/net/beast.h"

namespace openpcc::net {

// A suspended Next(): the coroutine's completion handler and the executor it resumes on.
class ChunkChannel::Waiter {
 public:
  Waiter(asio::any_io_executor ex, asio::any_completion_handler<void()> h)
      : executor(std::move(ex)), handler(std::move(h)) {}
  asio::any_io_executor executor;
  asio::any_completion_handler<void()> handler;
};

std::shared_ptr<ChunkChannel> ChunkChannel::Create(size_t capacity) {
  return std::make_shared<ChunkChannel>(PrivateTag{}, capacity);
}

ChunkChannel::ChunkChannel(PrivateTag, size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

ChunkChannel::~ChunkChannel() = default;

void ChunkChannel::WakeConsumerLocked(std::unique_lock<std::mutex>& lock) {
  std::unique_ptr<Waiter> waiter = std::move(waiter_);
  lock.unlock();
  if (waiter) asio::post(waiter->executor, std::move(waiter->handler));
}

Status ChunkChannel::Push(std::string chunk, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (cancelled_) {
    return Error(ErrorCode::kFailedPrecondition, "channel: the consumer cancelled the stream");
  }
  if (closed_ || error_) {
    return Error(ErrorCode::kFailedPrecondition, "channel: push after the producer closed the stream");
  }
  if (!room_.wait_for(lock, timeout, [&] { return cancelled_ || queue_.size() < capacity_; })) {
    return Error(ErrorCode::kFailedPrecondition,
                 "channel: the consumer took no chunk for " + std::to_string(timeout.count()) +
                     " ms (push timed out)");
  }
  if (cancelled_) {
    return Error(ErrorCode::kFailedPrecondition, "channel: the consumer cancelled the stream");
  }
  queue_.push_back(std::move(chunk));
  WakeConsumerLocked(lock);
  return OkStatus();
}

void ChunkChannel::Close() {
  std::unique_lock lock(mu_);
  if (closed_ || error_) return;
  closed_ = true;
  WakeConsumerLocked(lock);
}

void ChunkChannel::Fail(Error error) {
  std::unique_lock lock(mu_);
  if (closed_ || error_) return;
  error_ = std::move(error);
  WakeConsumerLocked(lock);
}

void ChunkChannel::Cancel() {
  std::unique_lock lock(mu_);
  if (cancelled_) return;
  cancelled_ = true;
  queue_.clear();
  room_.notify_all();
  WakeConsumerLocked(lock);
}

void ChunkChannel::CancelOn(const CancelToken& token) {
  token.OnCancel([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->Cancel();
  });
}

bool ChunkChannel::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

Awaitable<Result<std::optional<std::string>>> ChunkChannel::Next() {
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cancelled_) {
        co_return Error(ErrorCode::kFailedPrecondition, "channel: the stream was cancelled");
      }
      if (!queue_.empty()) {
        std::string chunk = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
        co_return std::optional<std::string>(std::move(chunk));
      }
      if (error_) co_return *error_;
      if (closed_) co_return std::optional<std::string>();
    }
    // Suspend until a producer call wakes us; re-check under the lock so no wake-up is lost.
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this, executor](asio::any_completion_handler<void()> handler) {
          std::unique_lock lock(mu_);
          if (cancelled_ || !queue_.empty() || error_ || closed_) {
            lock.unlock();
            asio::post(executor, std::move(handler));
            return;
          }
          waiter_ = std::make_unique<Waiter>(executor, std::move(handler));
        },
        asio::use_awaitable);
  }
}

}  // namespace openpcc::net
