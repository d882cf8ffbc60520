// engine/token_stream.h — how a completion travels from an engine to whoever serves it.
//
// Each request gets one `StreamChannel`: a bounded queue of events shared by the engine that
// produces them and the consumer (a network thread, a test, the CLI) that drains them. An event is
// a piece of completion text or, last of all, the finish (reason, token usage, error).
//
// Backpressure without blocking the producer: the engine never waits on a consumer. Before it
// computes another token for a request it asks `WantsMore()`, which is false while `capacity`
// events wait unread — so a slow consumer pauses only its own request, while the engine keeps
// decoding the others. Pushes themselves never block and never drop. When the consumer drains a
// full channel, or cancels, the channel calls the producer's wake function so a paused request
// resumes (or is torn down) at the engine's next step.
//
// Cancellation: the consumer calls `Cancel()`, or simply destroys its `Stream` handle when the
// caller goes away. The engine sees `cancelled()` at its next step, stops, frees the request's slot
// and still queues a final `kCancelled` event (which nobody may read).
//
// The consumer can block (`Next`), poll (`TryNext`), or register a wake function that runs on the
// producer's thread whenever an event becomes available — a network thread posts a handler to its
// event loop from there and drains with `TryNext`.
//
// Text is completion plaintext: it lives in wiping containers and is never logged.
//
// Thread safety: a channel is shared by exactly one producer and one consumer, each of which may
// be on its own thread. Wake functions run without the channel's lock held; they must be quick and
// must not call back into the channel from the producer's thread in a way that waits on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "openpcc/crypto/secret.h"
#include "openpcc/util/result.h"

namespace openpcc::engine {

// Why a completion ended (OpenAI's finish_reason plus the two outcomes it has no name for).
enum class FinishReason : uint8_t {
  kStop,       // end-of-generation token or a stop sequence
  kLength,     // max_tokens reached
  kCancelled,  // the consumer went away
  kError,      // the engine failed; Finish::error says why
};
// "stop", "length", "cancelled", "error".
std::string_view FinishReasonName(FinishReason reason);

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;  // every sampled token, including an end token or stop's last
};

struct Finish {
  FinishReason reason = FinishReason::kStop;
  Usage usage;
  std::optional<Error> error;  // set iff reason == kError
};

struct StreamEvent {
  crypto::SecretString text;     // a piece of the completion: whole UTF-8 characters, never empty
                                 // unless this is the final event
  std::optional<Finish> finish;  // present in the final event only
};

class StreamChannel {
 public:
  StreamChannel(uint64_t id, size_t capacity);
  StreamChannel(const StreamChannel&) = delete;
  StreamChannel& operator=(const StreamChannel&) = delete;

  // The engine's request id: the only thing about a request that logs may carry.
  uint64_t id() const { return id_; }

  // ---- producer side ----
  // False once the consumer cancelled, once finished, or while `capacity` events wait unread.
  bool WantsMore() const;
  bool cancelled() const;
  // Queues a piece of text; empty text is ignored, and so is anything after Finish.
  void PushText(crypto::SecretString text);
  // Queues the final event; only the first call has an effect.
  void Finish(engine::Finish finish);
  // Runs on the consumer's thread when it makes room in a full channel, and when it cancels.
  void SetProducerWake(std::function<void()> wake);

  // ---- consumer side ----
  std::optional<StreamEvent> TryNext();
  // Blocks until an event is available. After the final event it returns that event again.
  StreamEvent Next();
  // As Next, but gives up after `timeout` (a steady-clock duration, not a time of day).
  std::optional<StreamEvent> NextFor(std::chrono::milliseconds timeout);
  // Runs on the producer's thread when an event becomes available (and at once if one already is).
  void SetConsumerWake(std::function<void()> wake);
  void Cancel();

 private:
  std::optional<StreamEvent> PopLocked(std::unique_lock<std::mutex>& lock);
  void WakeProducer();
  void WakeConsumer();

  const uint64_t id_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable readable_;
  std::deque<StreamEvent> events_;
  std::optional<engine::Finish> finish_;  // a copy of the final event, once queued
  bool final_delivered_ = false;
  bool cancelled_ = false;
  std::function<void()> producer_wake_;
  std::function<void()> consumer_wake_;
};

// The consumer's handle on one request: move-only; destroying it cancels the request.
class Stream {
 public:
  explicit Stream(std::shared_ptr<StreamChannel> channel) : channel_(std::move(channel)) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();

  uint64_t id() const { return channel_->id(); }
  std::optional<StreamEvent> TryNext() { return channel_->TryNext(); }
  StreamEvent Next() { return channel_->Next(); }
  std::optional<StreamEvent> NextFor(std::chrono::milliseconds timeout) {
    return channel_->NextFor(timeout);
  }
  void SetWake(std::function<void()> wake) { channel_->SetConsumerWake(std::move(wake)); }
  void Cancel() { channel_->Cancel(); }

 private:
  std::shared_ptr<StreamChannel> channel_;
};

}  // namespace openpcc::engine
