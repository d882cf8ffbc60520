#include "openpcc/engine/token_stream.h"

#include <utility>

namespace openpcc::engine {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "unknown";
}

StreamChannel::StreamChannel(uint64_t id, size_t capacity)
    : id_(id), capacity_(capacity == 0 ? 1 : capacity) {}

bool StreamChannel::WantsMore() const {
  std::lock_guard lock(mu_);
  return !cancelled_ && !finish_ && events_.size() < capacity_;
}

bool StreamChannel::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void StreamChannel::PushText(crypto::SecretString text) {
  if (text.empty()) return;
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (finish_) return;
    was_empty = events_.empty();
    StreamEvent event;
    event.text = std::move(text);
    events_.push_back(std::move(event));
  }
  readable_.notify_all();
  if (was_empty) WakeConsumer();
}

void StreamChannel::Finish(engine::Finish finish) {
  {
    std::lock_guard lock(mu_);
    if (finish_) return;
    finish_ = finish;
    StreamEvent event;
    event.finish = std::move(finish);
    events_.push_back(std::move(event));
  }
  readable_.notify_all();
  WakeConsumer();
}

void StreamChannel::SetProducerWake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  producer_wake_ = std::move(wake);
}

std::optional<StreamEvent> StreamChannel::PopLocked(std::unique_lock<std::mutex>& lock) {
  if (events_.empty()) {
    if (final_delivered_ && finish_) {
      StreamEvent again;
      again.finish = finish_;
      return again;
    }
    return std::nullopt;
  }
  const bool was_full = events_.size() >= capacity_;
  StreamEvent event = std::move(events_.front());
  events_.pop_front();
  if (event.finish) final_delivered_ = true;
  if (was_full && !finish_) {
    lock.unlock();
    WakeProducer();
  }
  return event;
}

std::optional<StreamEvent> StreamChannel::TryNext() {
  std::unique_lock lock(mu_);
  return PopLocked(lock);
}

StreamEvent StreamChannel::Next() {
  std::unique_lock lock(mu_);
  readable_.wait(lock, [&] { return !events_.empty() || final_delivered_; });
  return *PopLocked(lock);
}

std::optional<StreamEvent> StreamChannel::NextFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!readable_.wait_for(lock, timeout, [&] { return !events_.empty() || final_delivered_; })) {
    return std::nullopt;
  }
  return PopLocked(lock);
}

void StreamChannel::SetConsumerWake(std::function<void()> wake) {
  bool ready = false;
  {
    std::lock_guard lock(mu_);
    consumer_wake_ = std::move(wake);
    ready = !events_.empty();
  }
  if (ready) WakeConsumer();
}

void StreamChannel::Cancel() {
  {
    std::lock_guard lock(mu_);
    if (cancelled_ || finish_) {
      cancelled_ = true;
      return;
    }
    cancelled_ = true;
  }
  WakeProducer();
}

void StreamChannel::WakeProducer() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    wake = producer_wake_;
  }
  if (wake) wake();
}

void StreamChannel::WakeConsumer() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    wake = consumer_wake_;
  }
  if (wake) wake();
}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (channel_) channel_->Cancel();
    channel_ = std::move(other.channel_);
  }
  return *this;
}

Stream::~Stream() {
  if (channel_) channel_->Cancel();
}

}  // namespace openpcc::engine
