#include "openpcc/net/chunk_channel.h"

#include <algorithm>

#include "openpcc/net/beast.h"

namespace openpcc::net {

// A one-token, thread-safe channel: try_send from any thread never blocks and never loses a
// ring (a token already waiting is enough), async_receive suspends the consumer until one.
class ChunkChannel::Doorbell {
 public:
  explicit Doorbell(asio::any_io_executor ex) : bell(std::move(ex), 1) {}
  asio::experimental::concurrent_channel<void(beast::error_code)> bell;
};

std::shared_ptr<ChunkChannel> ChunkChannel::Create(size_t capacity) {
  return std::make_shared<ChunkChannel>(PrivateTag{}, capacity);
}

ChunkChannel::ChunkChannel(PrivateTag, size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

ChunkChannel::~ChunkChannel() = default;

// Rung under the lock: try_send never blocks and never runs the consumer inline (its completion
// is posted to the consumer's executor), and the doorbell cannot be destroyed meanwhile.
void ChunkChannel::WakeConsumerLocked(std::unique_lock<std::mutex>& lock) {
  if (doorbell_) doorbell_->bell.try_send(beast::error_code{});
  lock.unlock();
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
    // Wait for the next producer call. The doorbell is installed under the lock and keeps a ring
    // that comes before we start waiting, so no wake-up is lost. It exists only during the wait,
    // so it never outlives the consumer's execution context (the producer may outlive both).
    std::shared_ptr<Doorbell> doorbell;
    {
      std::lock_guard lock(mu_);
      if (cancelled_ || !queue_.empty() || error_ || closed_) continue;
      doorbell_ = std::make_shared<Doorbell>(executor);
      doorbell = doorbell_;
    }
    // Uninstalled on resumption and also if the coroutine is destroyed while suspended here
    // (its io_context shut down), so a late producer never rings a dead context.
    struct Uninstall {
      ChunkChannel* channel;
      ~Uninstall() {
        std::lock_guard lock(channel->mu_);
        channel->doorbell_.reset();
      }
    } uninstall{this};
    co_await doorbell->bell.async_receive(kAsTuple);
  }
}

}  // namespace openpcc::net
