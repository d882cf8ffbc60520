#include "openpcc/engine/engine.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "openpcc/engine/text_filter.h"

namespace openpcc::engine {
namespace {

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, "engine: " + message); }

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

Status ValidateText(std::string_view text, const std::string& field) {
  // llama.cpp's C interfaces take NUL-terminated strings: an embedded NUL would silently cut text.
  if (HasNul(text)) return Invalid(field + " contains a NUL byte");
  if (!IsValidUtf8(text)) return Invalid(field + " is not valid UTF-8");
  return OkStatus();
}

}  // namespace

Status ValidateRequest(const GenerationRequest& request, const EngineInfo& info) {
  if (!request.model.empty() && request.model != info.model) {
    // The requested name is client data and stays out of the message.
    return Error(ErrorCode::kUnsupported,
                 "engine: the requested model is not served here (this engine serves '" + info.model + "')");
  }
  const SamplingParams& s = request.sampling;
  if (!std::isfinite(s.temperature) || s.temperature < 0.0f || s.temperature > 2.0f) {
    return Invalid("temperature must be in [0, 2]");
  }
  if (!std::isfinite(s.top_p) || s.top_p <= 0.0f || s.top_p > 1.0f) {
    return Invalid("top_p must be in (0, 1]");
  }
  if (s.top_k < 0) return Invalid("top_k must be >= 0");
  if (request.max_tokens && *request.max_tokens == 0) return Invalid("max_tokens must be >= 1");
  if (request.stop.size() > kMaxStopSequences) {
    return Invalid("stop has " + std::to_string(request.stop.size()) + " sequences; at most " +
                   std::to_string(kMaxStopSequences) + " are allowed");
  }
  for (size_t i = 0; i < request.stop.size(); ++i) {
    const std::string field = "stop[" + std::to_string(i) + "]";
    if (request.stop[i].empty()) return Invalid(field + " is empty");
    if (request.stop[i].size() > kMaxStopSequenceBytes) {
      return Invalid(field + " is " + std::to_string(request.stop[i].size()) + " bytes; at most " +
                     std::to_string(kMaxStopSequenceBytes) + " are allowed");
    }
    OPENPCC_RETURN_IF_ERROR(ValidateText(request.stop[i], field));
  }
  if (request.kind == RequestKind::kChat) {
    if (request.messages.empty()) return Invalid("messages is empty");
    if (request.messages.size() > kMaxMessages) {
      return Invalid("messages has " + std::to_string(request.messages.size()) + " entries; at most " +
                     std::to_string(kMaxMessages) + " are allowed");
    }
    for (size_t i = 0; i < request.messages.size(); ++i) {
      const ChatMessage& m = request.messages[i];
      const std::string field = "messages[" + std::to_string(i) + "]";
      if (m.role != "system" && m.role != "user" && m.role != "assistant") {
        return Invalid(field + ".role must be system, user or assistant");
      }
      OPENPCC_RETURN_IF_ERROR(ValidateText(m.content, field + ".content"));
    }
    if (!request.prompt.empty()) return Invalid("prompt is set in a chat request");
  } else {
    OPENPCC_RETURN_IF_ERROR(ValidateText(request.prompt, "prompt"));
    if (!request.messages.empty()) return Invalid("messages is set in a completion request");
  }
  return OkStatus();
}

Result<uint32_t> PlanCompletionTokens(uint32_t prompt_tokens, std::optional<uint32_t> max_tokens,
                                      const EngineLimits& limits) {
  const uint32_t context = limits.context_tokens;
  if (prompt_tokens >= context) {
    return Error(ErrorCode::kOutOfRange,
                 "engine: context limit: the prompt is " + std::to_string(prompt_tokens) +
                     " tokens but the context holds " + std::to_string(context) +
                     " tokens per request, prompt and completion together");
  }
  const uint32_t room = context - prompt_tokens;
  if (!max_tokens) return std::min(limits.max_tokens_cap, room);
  const uint32_t wanted = std::min(*max_tokens, limits.max_tokens_cap);
  if (wanted > room) {
    return Error(ErrorCode::kOutOfRange,
                 "engine: context limit: the prompt is " + std::to_string(prompt_tokens) +
                     " tokens and max_tokens asks for " + std::to_string(wanted) + " more, but the context holds " +
                     std::to_string(context) + " tokens per request (at most " + std::to_string(room) +
                     " completion tokens fit)");
  }
  return wanted;
}

}  // namespace openpcc::engine
