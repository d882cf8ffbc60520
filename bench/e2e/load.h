// bench/e2e/load.h — the load generator of the end-to-end benchmark (issue 10): the same streamed
// chat requests at a given concurrency against any backend, timed per request.
//
// A backend runs one streamed chat completion and reports when each content token arrived; the
// generator turns that into time to first token (TTFT: request start to first content token) and
// time per output token (TPOT: first to last content token over tokens − 1), and the level's
// aggregate tokens per second (all content tokens over the level's wall time).
//
// Thread safety: a backend is used by one worker thread at a time (the generator creates one per
// worker through the factory).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/net/sse.h"
#include "openpcc/util/result.h"

namespace openpcc::bench {

using SteadyTime = std::chrono::steady_clock::time_point;

struct ChatSettings {
  std::string model;
  uint32_t max_tokens = 64;
  uint64_t seed = 1;
};

// What one request produced: the arrival time of each content token (an SSE chunk with a
// non-empty delta), and whether the stream ended properly.
struct StreamTiming {
  SteadyTime start;
  std::vector<SteadyTime> token_times;
  SteadyTime end{};  // when the stream ended (default: unset; then the last token's time)
};

// The streamed chat request body every mode sends (temperature 0, fixed seed).
std::string ChatBody(const std::string& prompt, const ChatSettings& settings);

// Reads an OpenAI chat stream (SSE) as it arrives and records when each content token came: a
// chunk whose first choice has a non-empty delta.content. Shared by the HTTP backend and the cold
// path's client-library sink.
class ChatStreamParser {
 public:
  Status Feed(std::string_view piece, SteadyTime arrived);
  bool done() const { return done_; }  // data: [DONE] seen
  const std::vector<SteadyTime>& token_times() const { return token_times_; }

 private:
  net::SseDecoder decoder_;
  std::vector<net::SseEvent> events_;
  std::vector<SteadyTime> token_times_;
  bool done_ = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<StreamTiming> StreamChat(const std::string& prompt, const ChatSettings& settings) = 0;
};

using BackendFactory = std::function<Result<std::unique_ptr<Backend>>()>;

struct RequestSample {
  double ttft_ms = 0;
  double tpot_ms = 0;  // 0 when fewer than two tokens arrived
  double total_ms = 0;  // request start to the end of its stream
  uint32_t tokens = 0;
};

struct LevelResult {
  int concurrency = 0;
  std::vector<RequestSample> samples;
  double wall_seconds = 0;
  double tokens_per_second = 0;
  int failures = 0;
  std::string first_error;  // the first failure's message, for the report
};

// Runs `requests_per_worker` sequential requests on each of `concurrency` workers; prompts are
// taken round-robin by request number so every backend sees the same sequence.
LevelResult RunLevel(const BackendFactory& factory, int concurrency, int requests_per_worker,
                     const std::vector<std::string>& prompts, const ChatSettings& settings);

// A backend speaking the OpenAI chat API with `stream: true` over HTTP: llama.cpp's own server,
// or `openpcc proxy`. `base_url` is e.g. http://127.0.0.1:8080 (loopback only).
Result<std::unique_ptr<Backend>> MakeOpenAiHttpBackend(const std::string& base_url);

double Percentile(std::vector<double> values, double p);  // nearest-rank, p in [0, 100]
// "1,4,16" → {1, 4, 16}; false unless every item is an integer in [1, 256].
bool ParseConcurrencyLevels(const std::string& list, std::vector<int>& levels);

}  // namespace openpcc::bench
