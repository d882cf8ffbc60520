// engine/llama_engine.h — the `llama` engine: llama.cpp in process, GGUF models (DESIGN §5).
//
// One engine thread owns the llama context and runs continuous batching over N slots: every step
// it builds one llama_batch holding the next token of each generating request and as much of the
// waiting prompts as fits, decodes it, samples each request's next token with that request's own
// sampler, and streams the text. Each slot is one sequence id in the context, with its own region
// of the KV cache (a non-unified cache of slots x context_per_request cells); a slot's cache
// entries are removed (llama_memory_seq_rm) when its request ends and again before the slot serves
// another. Requests beyond the slots wait in a bounded queue.
//
// Per request: the model's own chat template (llama_chat_apply_template; a model without one, or
// with one llama.cpp does not recognise, falls back to ChatML, and `info().chat_template` says so);
// temperature, top_p, top_k and seed (greedy at temperature 0); stop sequences, cut out of the
// stream without emitting their text; max_tokens capped by configuration; text streamed in whole
// UTF-8 characters. Prompt formatting, tokenization and the context check run in `Submit`, on the
// caller's thread, so a too-long prompt is refused before it reaches the queue.
//
// Backpressure and cancellation follow token_stream.h: a request whose consumer has fallen behind
// is left out of the batch until drained (the engine thread never waits on a consumer), and a
// cancelled request is dropped at the next step, its slot cleared and freed.
//
// Hygiene (DESIGN §6): llama.cpp's own logging is silenced for the process (it can print token
// ids), unless `Options::llama_log` is set for diagnosing model loading; prompts, token ids and
// completions are held only in wiping containers and are never logged.
//
// Thread safety: `Submit`, `info` and `stats` may be called from any thread. The destructor stops
// the engine thread; requests still queued or running finish with FinishReason::kError.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "openpcc/engine/engine.h"

namespace openpcc::engine {

struct LlamaEngineOptions {
  std::filesystem::path model_path;   // a GGUF file
  std::string model_name;             // the name requests use; empty: the file name's stem
  uint32_t slots = 4;                 // requests decoded together, [1, 64]
  uint32_t context_per_request = 2048;  // tokens; llama.cpp rounds up to a multiple of 256 and
                                        // the model's trained context bounds it
  uint32_t max_tokens_cap = 512;      // the ceiling on max_tokens
  uint32_t batch_tokens = 512;        // tokens per llama_decode, >= slots
  int32_t threads = 0;                // CPU threads; 0: hardware concurrency, at most 8
  size_t stream_capacity = 64;        // events a request may have unread before it pauses
  size_t max_queued = 256;            // requests waiting for a slot before Submit refuses

  // Receives llama.cpp's warnings and errors while set. For diagnosing model loading only: some
  // llama.cpp messages carry token ids, so a production node leaves this empty.
  std::function<void(std::string_view)> llama_log;

  // Tests only: called on the engine thread for every sampled token with the gap between the two
  // largest logits, so batched and unbatched greedy runs can be compared where rounding cannot
  // flip the choice. Production code never sets it.
  std::function<void(uint64_t request_id, int32_t token, float top_two_gap)> token_observer_for_testing;
};

class LlamaEngine final : public Engine {
 public:
  // Loads the model and starts the engine thread. Errors name the file or option.
  static Result<std::unique_ptr<LlamaEngine>> Create(LlamaEngineOptions options);
  ~LlamaEngine() override;
  LlamaEngine(const LlamaEngine&) = delete;
  LlamaEngine& operator=(const LlamaEngine&) = delete;

  const EngineInfo& info() const override;
  Result<Stream> Submit(GenerationRequest request) override;

  struct Stats {
    uint64_t decode_calls = 0;
    uint64_t tokens_sampled = 0;
    uint32_t max_sequences_in_one_decode = 0;  // the widest batch so far
    uint32_t busy_slots = 0;
    size_t queued = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit LlamaEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace openpcc::engine
