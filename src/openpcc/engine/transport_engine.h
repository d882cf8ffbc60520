// engine/transport_engine.h — the `transport-only` engine: FOR TESTS AND BENCHMARKS ONLY.
//
// It runs no model and answers no prompt. Every request, whatever it asks, gets `max_tokens`
// (clamped to the cap) copies of one fixed piece of text (" tok" by default), with a configurable
// pause between consecutive pieces, then FinishReason::kLength and usage counts. It exists so that
// tests can watch a completion travel token by token through every hop (node → gateway → relay →
// client) with known timing, and so that benchmarks can measure what the transport itself costs
// without an inference engine's time in the figures. A node serving it says so: its engine name
// is "transport-only", and `openpcc node --engine transport-only` warns at start.
//
// Pacing: each request runs on its own thread, which pushes a piece, waits `delay`, pushes the
// next. The wait is interrupted when the consumer cancels (the request ends at once with
// kCancelled). Backpressure follows token_stream.h: while the consumer has `stream_capacity`
// pieces unread the request waits for it. Tests replace the wait with `options.sleep` to see the
// requested delays without depending on the clock.
//
// The prompt is never read beyond counting whitespace-separated words for usage.prompt_tokens (a
// stand-in: there is no tokenizer).
//
// Thread safety: Submit and info may be called from any thread. The destructor cancels the
// requests still running and joins their threads; each ends with FinishReason::kError.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "openpcc/engine/engine.h"

namespace openpcc::engine {

inline constexpr std::string_view kTransportEngineName = "transport-only";

struct TransportEngineOptions {
  std::string model;                          // the name requests use (required)
  std::string piece = " tok";                 // the text of every piece: non-empty, valid UTF-8
  std::chrono::microseconds delay{0};         // between consecutive pieces
  uint32_t max_tokens_cap = 512;
  uint32_t max_concurrent = 256;              // requests running at once; more are refused
  size_t stream_capacity = 64;
  // Test hook: when set, called instead of waiting `delay` between pieces (cancellation is then
  // seen after it returns). Must be thread-safe: requests call it concurrently.
  std::function<void(std::chrono::microseconds)> sleep;
};

class TransportEngine final : public Engine {
 public:
  static Result<std::unique_ptr<TransportEngine>> Create(TransportEngineOptions options);
  ~TransportEngine() override;
  TransportEngine(const TransportEngine&) = delete;
  TransportEngine& operator=(const TransportEngine&) = delete;

  const EngineInfo& info() const override;
  Result<Stream> Submit(GenerationRequest request) override;

  struct Impl;

 private:
  explicit TransportEngine(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace openpcc::engine
