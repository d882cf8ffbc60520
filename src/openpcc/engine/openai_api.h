// engine/openai_api.h — the OpenAI HTTP API spoken inside the sealed request (DESIGN §4, §5).
//
// A client's application sends OpenAI-shaped JSON (`POST /v1/chat/completions`,
// `POST /v1/completions`); the node turns it into a `GenerationRequest` and turns the engine's
// stream back into OpenAI's response JSON or server-sent events, byte-compatible with what OpenAI
// sends, so any OpenAI client library can read it after the proxy decrypts it.
//
// The JSON carries the prompt and the completion, so both directions keep plaintext in wiping
// storage: requests are parsed into a Boost.JSON tree whose memory is wiped when freed
// (`WipingJsonResource`), and every formatted piece of output is a `crypto::SecretString`.
// Unsupported options that would change the answer (n > 1, tools, logprobs) are refused by name;
// options that do not (user, metadata, penalties of 0) are accepted and ignored, as
// OpenAI-compatible servers do.
//
// Thread safety: pure functions; a ResponseFormatter belongs to one response.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/container/pmr/memory_resource.hpp>

#include "openpcc/crypto/secret.h"
#include "openpcc/engine/engine.h"
#include "openpcc/engine/token_stream.h"
#include "openpcc/util/result.h"

namespace openpcc::engine {

inline constexpr size_t kMaxApiRequestBytes = size_t{4} << 20;

// Memory for a Boost.JSON tree that holds prompts or completions: wiped when freed. Use it as
// `boost::json::storage_ptr(&resource)` for a tree that does not outlive the resource.
class WipingJsonResource final : public boost::container::pmr::memory_resource {
 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }
};

struct ApiRequest {
  GenerationRequest generation;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Parses the body of POST /v1/chat/completions (kChat) or /v1/completions (kCompletion).
// Errors are kInvalidArgument/kUnsupported and name the JSON field; they never quote content.
Result<ApiRequest> ParseApiRequest(RequestKind kind, std::string_view body);

// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
std::string ApiErrorJson(std::string_view message, std::string_view type,
                         std::string_view param = {}, std::string_view code = {});
// The OpenAI error type for an Error: invalid_request_error for bad input, server_error else.
std::string_view ApiErrorType(const Error& error);
// The HTTP status for an Error: 400 for bad input, 413 for size, 500 otherwise.
int ApiErrorStatus(const Error& error);

// Formats one response. Streaming: Begin(), then Delta() per piece, then End() — which emits the
// final chunk (finish_reason), the usage chunk if asked for, and `data: [DONE]`. Not streaming:
// collect the text and call Whole().
class ResponseFormatter {
 public:
  // `id` like "chatcmpl-<hex>"; `created` in Unix seconds (from the node's clock).
  ResponseFormatter(RequestKind kind, std::string id, std::string model, int64_t created,
                    bool include_usage);

  crypto::SecretString Begin() const;  // chat: the role chunk; completions: empty
  crypto::SecretString Delta(std::string_view text) const;
  crypto::SecretString End(const Finish& finish) const;
  crypto::SecretString Whole(std::string_view text, const Finish& finish) const;
  // An SSE error event for a stream that fails after it began: `data: {"error": ...}`.
  std::string StreamError(std::string_view message) const;

 private:
  void AppendPrefix(crypto::SecretString& out) const;

  RequestKind kind_;
  std::string id_;
  std::string model_;
  int64_t created_;
  bool include_usage_;
};

// OpenAI's finish_reason for a Finish ("stop", "length"); cancelled and error map to null.
std::string_view ApiFinishReason(FinishReason reason);

// Appends `text` as a JSON string literal (quotes included) to a wiping string.
void AppendJsonString(crypto::SecretString& out, std::string_view text);

}  // namespace openpcc::engine
