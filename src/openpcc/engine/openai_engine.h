// engine/openai_engine.h — the `openai` engine: forwards requests to an OpenAI-compatible server
// (vLLM, SGLang, llama.cpp's llama-server) running inside the same TEE (DESIGN §5).
//
// Each request becomes one `POST {base}/v1/chat/completions` or `/v1/completions` with
// `"stream": true` and `stream_options.include_usage`; the upstream's server-sent events are
// decoded as they arrive (net::SseDecoder) and each piece of text goes into the request's Stream at
// once — nothing waits for the whole response. The upstream's finish_reason ("stop", "length")
// and usage become the Stream's Finish; an upstream that answers with another status, or whose
// stream ends before a finish reason, ends the Stream with FinishReason::kError and a message
// naming the upstream status (never the upstream's body, which might quote the prompt).
//
// Trust: the upstream sees the prompt, so it must be inside the TEE: the base URL's host must be
// loopback (net::IsLoopbackHost) unless `allow_non_loopback` is set — an operator decision the
// node records in its evidence claims. The upstream's responses are bounded (SSE line and event
// sizes, error body size) and parsed strictly.
//
// Backpressure and cancellation follow token_stream.h: when the consumer has `stream_capacity`
// events unread the engine stops reading from the upstream (TCP backpressure reaches it); when the
// consumer cancels or goes away, the upstream connection is closed after the upstream's next
// piece of output (or at once if the engine was waiting on the consumer), which stops generation
// in vLLM and llama-server.
//
// Plaintext: request bodies are built in wiping strings; decoded event data is wiped after use.
//
// Thread safety: Submit and info may be called from any thread. Requests run on one I/O thread
// owned by the engine; the destructor ends those still running with FinishReason::kError.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "openpcc/engine/engine.h"
#include "openpcc/net/client.h"

namespace openpcc::engine {

struct OpenAiEngineOptions {
  std::string base_url;          // e.g. "http://127.0.0.1:8000" (a path prefix is kept)
  std::string model;             // the name requests use and the node serves
  std::string upstream_model;    // the name sent upstream; empty: `model`
  bool allow_non_loopback = false;
  uint32_t max_tokens_cap = 512;
  uint32_t context_tokens = 0;   // informational (the upstream enforces its context); 0: unknown
  size_t stream_capacity = 64;
  size_t max_error_body_bytes = 16 * 1024;
  net::ClientOptions client;     // timeouts, CA file for https upstreams
};

class OpenAiEngine final : public Engine {
 public:
  // Checks the URL (strict parse, loopback rule) and starts the I/O thread. Does not contact the
  // upstream: it may start after the node.
  static Result<std::unique_ptr<OpenAiEngine>> Create(OpenAiEngineOptions options);
  ~OpenAiEngine() override;
  OpenAiEngine(const OpenAiEngine&) = delete;
  OpenAiEngine& operator=(const OpenAiEngine&) = delete;

  const EngineInfo& info() const override;
  Result<Stream> Submit(GenerationRequest request) override;

  struct Impl;

 private:
  explicit OpenAiEngine(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The JSON body sent upstream for `request` with `max_tokens` already planned (tests use it).
crypto::SecretString UpstreamRequestJson(const GenerationRequest& request,
                                         std::string_view upstream_model, uint32_t max_tokens);

}  // namespace openpcc::engine
