// net/chunk_channel.h — a bounded queue of chunks from a blocking producer thread (an LLM engine)
// to a coroutine consumer (the handler streaming the response).
//
// Backpressure: when `capacity` chunks are queued, `Push` blocks the producer until the consumer
// takes one, the channel is cancelled, or the timeout passes — so a slow client slows generation
// instead of growing memory. Cancellation: the consumer (or a CancelToken callback, when the client
// goes away) calls `Cancel`; a blocked or later `Push` then fails at once and the producer stops.
// The producer ends the stream with `Close` or `Fail`; the consumer then drains what is queued and
// sees the end (or the error).
//
// Thread safety: every member may be called from any thread. At most one coroutine may wait in
// `Next` at a time. A channel exists only inside a std::shared_ptr (`ChunkChannel::Create`): the
// producer thread, the consumer and a cancellation callback each hold it, in any order of exit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "openpcc/net/asio.h"
#include "openpcc/net/cancel.h"
#include "openpcc/util/result.h"

namespace openpcc::net {

class ChunkChannel : public std::enable_shared_from_this<ChunkChannel> {
  struct PrivateTag {};

 public:
  // `capacity` chunks may be queued before Push blocks (at least 1).
  static std::shared_ptr<ChunkChannel> Create(size_t capacity);
  ChunkChannel(PrivateTag, size_t capacity);
  ~ChunkChannel();
  ChunkChannel(const ChunkChannel&) = delete;
  ChunkChannel& operator=(const ChunkChannel&) = delete;

  // ---- Producer (any thread; blocks) ----
  // Queues `chunk`, waiting up to `timeout` for room. Fails (kFailedPrecondition) when the channel
  // was cancelled, already closed, or stayed full for `timeout`; the message says which.
  Status Push(std::string chunk, std::chrono::milliseconds timeout);
  // Ends the stream normally. Idempotent; no effect after Fail.
  void Close();
  // Ends the stream with an error that the consumer receives after the queued chunks.
  void Fail(Error error);

  // ---- Consumer (a coroutine) ----
  // The next chunk; std::nullopt once the producer closed the stream and every chunk was taken;
  // the producer's error after Fail; kFailedPrecondition after Cancel.
  Awaitable<Result<std::optional<std::string>>> Next();
  // Gives up the stream: wakes the producer (its Push fails) and drops queued chunks.
  void Cancel();
  // Cancels this channel when `token` is cancelled.
  void CancelOn(const CancelToken& token);

  bool cancelled() const;

 private:
  class Doorbell;
  void WakeConsumerLocked(std::unique_lock<std::mutex>& lock);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_;  // producer waits here for space
  std::deque<std::string> queue_;
  bool closed_ = false;
  bool cancelled_ = false;
  std::optional<Error> error_;
  // Present while the consumer waits in Next() (on its executor); rung by every producer call.
  std::shared_ptr<Doorbell> doorbell_;
};

}  // namespace openpcc::net
