// engine/engine.h — the node's inference engine interface (DESIGN §5).
//
// An `Engine` takes a chat-completion or completion request and streams the completion back as
// text pieces, ending with a finish reason and token usage (token_stream.h). Two implementations:
// `llama` (llama.cpp in process, llama_engine.h) and `openai` (forwards to an OpenAI-compatible
// server on loopback). The request fields mirror OpenAI's schemas; the node translates JSON into
// a `GenerationRequest` and the stream back into SSE chunks.
//
// Limits are the engine's, from its configuration: `max_tokens` is capped (a larger request is
// clamped to the cap, an absent one gets the cap), and a prompt plus its completion must fit the
// context of one request. What the engine can check before generating, `Submit` returns as an
// error; what only shows later arrives as a final event with FinishReason::kError.
//
// Prompts and completions are plaintext: they live in wiping containers, and no error message,
// log line or metric carries them (DESIGN §6). Errors name fields, counts and limits only.
//
// Thread safety: `Engine::Submit` and `info` may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/crypto/secret.h"
#include "openpcc/engine/token_stream.h"
#include "openpcc/util/result.h"

namespace openpcc::engine {

enum class RequestKind : uint8_t { kChat, kCompletion };

struct ChatMessage {
  std::string role;              // "system", "user" or "assistant"
  crypto::SecretString content;
};

struct SamplingParams {
  float temperature = 1.0f;     // [0, 2]; 0 is greedy decoding
  float top_p = 1.0f;           // (0, 1]; 1 is off
  int32_t top_k = 0;            // >= 0; 0 is off
  std::optional<uint64_t> seed;  // absent: a fresh random seed per request
};

struct GenerationRequest {
  RequestKind kind = RequestKind::kChat;
  std::string model;                       // empty: the engine's model
  std::vector<ChatMessage> messages;       // kChat
  crypto::SecretString prompt;             // kCompletion
  SamplingParams sampling;
  std::vector<crypto::SecretString> stop;  // at most kMaxStopSequences, each non-empty UTF-8
  std::optional<uint32_t> max_tokens;      // >= 1; clamped to EngineLimits::max_tokens_cap
};

inline constexpr size_t kMaxStopSequences = 4;     // OpenAI's limit
inline constexpr size_t kMaxStopSequenceBytes = 256;
inline constexpr size_t kMaxMessages = 1024;

struct EngineLimits {
  uint32_t max_tokens_cap = 0;    // configured ceiling on max_tokens
  uint32_t context_tokens = 0;    // prompt + completion of one request
};

struct EngineInfo {
  std::string name;               // "llama" or "openai"
  std::string model;              // the model this engine serves
  EngineLimits limits;
  uint32_t slots = 0;             // requests decoded concurrently (0: decided upstream)
  std::string chat_template;      // where chat formatting comes from, e.g. "model (llama3)"
};

// Checks a request's fields against the OpenAI schema's ranges and the engine's model name.
// Errors (kInvalidArgument / kUnsupported / kOutOfRange) name the field and the allowed range.
Status ValidateRequest(const GenerationRequest& request, const EngineInfo& info);

// The completion budget of a request whose prompt is `prompt_tokens` long: the requested
// max_tokens clamped to the cap, or without a request as much as the cap and the context allow.
// Errors (kOutOfRange) say the numbers: prompt length, requested tokens, context size.
Result<uint32_t> PlanCompletionTokens(uint32_t prompt_tokens, std::optional<uint32_t> max_tokens,
                                      const EngineLimits& limits);

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const EngineInfo& info() const = 0;
  // Validates and queues a request; the completion streams through the returned handle.
  // Destroying the handle cancels the request.
  virtual Result<Stream> Submit(GenerationRequest request) = 0;
};

}  // namespace openpcc::engine
