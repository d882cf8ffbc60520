#include "e2e/load.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/net/client.h"
#include "openpcc/net/url.h"

namespace openpcc::bench {
namespace {

using Ms = std::chrono::duration<double, std::milli>;

RequestSample ToSample(const StreamTiming& timing) {
  RequestSample sample;
  sample.tokens = static_cast<uint32_t>(timing.token_times.size());
  const SteadyTime end = timing.end != SteadyTime{} ? timing.end
                         : timing.token_times.empty() ? timing.start
                                                      : timing.token_times.back();
  sample.total_ms = Ms(end - timing.start).count();
  if (timing.token_times.empty()) return sample;
  sample.ttft_ms = Ms(timing.token_times.front() - timing.start).count();
  if (timing.token_times.size() > 1) {
    sample.tpot_ms = Ms(timing.token_times.back() - timing.token_times.front()).count() /
                     static_cast<double>(timing.token_times.size() - 1);
  }
  return sample;
}

class OpenAiHttpBackend final : public Backend {
 public:
  OpenAiHttpBackend(std::unique_ptr<net::BlockingClient> client, std::string url)
      : client_(std::move(client)), url_(std::move(url)) {}

  Result<StreamTiming> StreamChat(const std::string& prompt, const ChatSettings& settings) override {
    const std::string text = ChatBody(prompt, settings);

    StreamTiming timing;
    ChatStreamParser parser;
    timing.start = std::chrono::steady_clock::now();
    auto head = client_->FetchStreaming(
        net::ClientRequest("POST", url_, {{"Content-Type", "application/json"}}), text,
        [&](std::string_view piece) -> Status { return parser.Feed(piece, std::chrono::steady_clock::now()); });
    if (!head.ok()) return head.error();
    if (head->status != 200) {
      return Error(ErrorCode::kFailedPrecondition, "backend answered HTTP " + std::to_string(head->status));
    }
    if (!parser.done()) return Error(ErrorCode::kIncomplete, "stream ended without data: [DONE]");
    timing.token_times = parser.token_times();
    timing.end = std::chrono::steady_clock::now();
    return timing;
  }

 private:
  std::unique_ptr<net::BlockingClient> client_;
  std::string url_;
};

}  // namespace

std::string ChatBody(const std::string& prompt, const ChatSettings& settings) {
  boost::json::object body;
  body["model"] = settings.model;
  body["stream"] = true;
  body["temperature"] = 0;
  body["seed"] = settings.seed;
  body["max_tokens"] = settings.max_tokens;
  body["messages"] = boost::json::array{boost::json::object{{"role", "user"}, {"content", prompt}}};
  return boost::json::serialize(body);
}

Status ChatStreamParser::Feed(std::string_view piece, SteadyTime arrived) {
  events_.clear();
  OPENPCC_RETURN_IF_ERROR(decoder_.Feed(piece, events_));
  for (const net::SseEvent& event : events_) {
    if (event.event == "error") return Error(ErrorCode::kFailedPrecondition, "stream: the backend sent an error event");
    if (event.data == "[DONE]") {
      done_ = true;
      continue;
    }
    boost::system::error_code ec;
    const boost::json::value chunk = boost::json::parse(event.data, ec);
    if (ec) return Error(ErrorCode::kMalformed, "stream: a chunk is not JSON");
    const auto* choices = chunk.is_object() ? chunk.as_object().if_contains("choices") : nullptr;
    if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) continue;
    const auto& choice = choices->as_array()[0];
    const auto* delta = choice.is_object() ? choice.as_object().if_contains("delta") : nullptr;
    const auto* content = delta && delta->is_object() ? delta->as_object().if_contains("content") : nullptr;
    if (content != nullptr && content->is_string() && !content->as_string().empty()) {
      token_times_.push_back(arrived);
    }
  }
  return OkStatus();
}

LevelResult RunLevel(const BackendFactory& factory, int concurrency, int requests_per_worker,
                     const std::vector<std::string>& prompts, const ChatSettings& settings) {
  LevelResult level;
  level.concurrency = concurrency;
  std::mutex mutex;
  std::vector<std::unique_ptr<Backend>> backends;
  for (int i = 0; i < concurrency; ++i) {
    auto backend = factory();
    if (!backend.ok()) {
      level.failures = concurrency * requests_per_worker;
      level.first_error = backend.error().message();
      return level;
    }
    backends.push_back(std::move(backend).value());
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      for (int r = 0; r < requests_per_worker; ++r) {
        const std::string& prompt = prompts[static_cast<size_t>(w * requests_per_worker + r) % prompts.size()];
        auto timing = backends[static_cast<size_t>(w)]->StreamChat(prompt, settings);
        std::lock_guard lock(mutex);
        if (!timing.ok()) {
          if (level.failures++ == 0) level.first_error = timing.error().message();
          continue;
        }
        level.samples.push_back(ToSample(*timing));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  level.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t tokens = 0;
  for (const RequestSample& sample : level.samples) tokens += sample.tokens;
  level.tokens_per_second = level.wall_seconds > 0 ? static_cast<double>(tokens) / level.wall_seconds : 0;
  return level;
}

Result<std::unique_ptr<Backend>> MakeOpenAiHttpBackend(const std::string& base_url) {
  OPENPCC_ASSIGN_OR_RETURN(net::Url url, net::ParseUrl(base_url));
  if (!net::IsLoopbackHost(url.host)) {
    return Error(ErrorCode::kInvalidArgument, "--base-url: the benchmark talks to loopback only");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto client, net::BlockingClient::Create({}));
  std::string endpoint = base_url;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return std::unique_ptr<Backend>(
      std::make_unique<OpenAiHttpBackend>(std::move(client), endpoint + "/v1/chat/completions"));
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : std::min(values.size() - 1, static_cast<size_t>(rank) - 1);
  return values[index];
}

bool ParseConcurrencyLevels(const std::string& list, std::vector<int>& levels) {
  levels.clear();
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    char* end = nullptr;
    const long level = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || level < 1 || level > 256) return false;
    levels.push_back(static_cast<int>(level));
  }
  return !levels.empty();
}

}  // namespace openpcc::bench
