#include "openpcc/engine/transport_engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "openpcc/engine/text_filter.h"

namespace openpcc::engine {
namespace {

uint32_t CountWords(std::string_view text) {
  uint32_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

uint32_t PromptWords(const GenerationRequest& request) {
  uint32_t words = CountWords(request.prompt);
  for (const ChatMessage& m : request.messages) words += CountWords(m.content);
  return words;
}

// One running request: its channel and what wakes its thread (the consumer reading or cancelling,
// the engine stopping).
struct Running {
  std::shared_ptr<StreamChannel> channel;
  std::mutex mu;
  std::condition_variable cv;
  bool poked = false;

  void Poke() {
    {
      std::lock_guard lock(mu);
      poked = true;
    }
    cv.notify_all();
  }
};

}  // namespace

struct TransportEngine::Impl {
  TransportEngineOptions options;
  EngineInfo info;
  std::atomic<uint64_t> next_id{1};
  std::mutex mu;
  std::condition_variable idle;
  std::set<std::shared_ptr<Running>> running;
  bool stopping = false;

  bool Stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Waits until `deadline` or until poked; true when the request must end (cancel or stop).
  bool WaitUntil(Running& r, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(r.mu);
    r.cv.wait_until(lock, deadline, [&] { return r.poked && (r.channel->cancelled() || Stopping()); });
    r.poked = false;
    return r.channel->cancelled() || Stopping();
  }

  void Run(const std::shared_ptr<Running>& r, uint32_t pieces, uint32_t prompt_tokens) {
    StreamChannel& channel = *r->channel;
    Finish finish;
    finish.usage.prompt_tokens = prompt_tokens;
    finish.reason = FinishReason::kLength;
    for (uint32_t i = 0; i < pieces; ++i) {
      if (i > 0 && options.delay.count() > 0) {
        if (options.sleep) {
          options.sleep(options.delay);
        } else if (WaitUntil(*r, std::chrono::steady_clock::now() + options.delay)) {
          // Cancelled or stopping: decided below.
        }
      }
      // Backpressure: wait (without a deadline) while the consumer has a full channel unread.
      while (!channel.cancelled() && !Stopping() && !channel.WantsMore()) {
        std::unique_lock lock(r->mu);
        r->cv.wait(lock, [&] { return r->poked; });
        r->poked = false;
      }
      if (channel.cancelled()) {
        finish.reason = FinishReason::kCancelled;
        break;
      }
      if (Stopping()) {
        finish.reason = FinishReason::kError;
        finish.error = Error(ErrorCode::kFailedPrecondition,
                             "transport-only engine: the engine stopped before the request finished");
        break;
      }
      channel.PushText(crypto::SecretString(options.piece));
      ++finish.usage.completion_tokens;
    }
    channel.SetProducerWake(nullptr);
    channel.Finish(std::move(finish));
    std::lock_guard lock(mu);
    running.erase(r);
    if (running.empty()) idle.notify_all();
  }
};

TransportEngine::TransportEngine(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<TransportEngine>> TransportEngine::Create(TransportEngineOptions options) {
  if (options.model.empty()) {
    return Error(ErrorCode::kInvalidArgument, "transport-only engine: the served model name is empty");
  }
  if (options.piece.empty() || !IsValidUtf8(options.piece)) {
    return Error(ErrorCode::kInvalidArgument, "transport-only engine: piece must be non-empty UTF-8");
  }
  if (options.max_tokens_cap == 0) {
    return Error(ErrorCode::kInvalidArgument, "transport-only engine: max_tokens_cap must be >= 1");
  }
  if (options.delay.count() < 0) {
    return Error(ErrorCode::kInvalidArgument, "transport-only engine: delay must be >= 0");
  }
  if (options.max_concurrent == 0 || options.stream_capacity == 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "transport-only engine: max_concurrent and stream_capacity must be >= 1");
  }
  auto impl = std::make_shared<Impl>();
  impl->options = std::move(options);
  impl->info.name = std::string(kTransportEngineName);
  impl->info.model = impl->options.model;
  impl->info.limits.max_tokens_cap = impl->options.max_tokens_cap;
  impl->info.limits.context_tokens = 0;  // no model, no context
  impl->info.slots = impl->options.max_concurrent;
  impl->info.chat_template = "none (transport-only: answers no prompt)";
  return std::unique_ptr<TransportEngine>(new TransportEngine(std::move(impl)));
}

TransportEngine::~TransportEngine() {
  std::set<std::shared_ptr<Running>> left;
  std::unique_lock lock(impl_->mu);
  impl_->stopping = true;
  left = impl_->running;
  lock.unlock();
  for (const auto& r : left) r->Poke();
  lock.lock();
  impl_->idle.wait(lock, [&] { return impl_->running.empty(); });
}

const EngineInfo& TransportEngine::info() const { return impl_->info; }

Result<Stream> TransportEngine::Submit(GenerationRequest request) {
  OPENPCC_RETURN_IF_ERROR(ValidateRequest(request, impl_->info));
  const uint32_t pieces =
      std::min(request.max_tokens.value_or(impl_->options.max_tokens_cap), impl_->options.max_tokens_cap);
  const uint32_t prompt_tokens = PromptWords(request);
  auto r = std::make_shared<Running>();
  r->channel = std::make_shared<StreamChannel>(impl_->next_id++, impl_->options.stream_capacity);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) {
      return Error(ErrorCode::kFailedPrecondition, "transport-only engine: the engine is stopping");
    }
    if (impl_->running.size() >= impl_->options.max_concurrent) {
      return Error(ErrorCode::kOutOfRange,
                   "transport-only engine: " + std::to_string(impl_->options.max_concurrent) +
                       " requests are already running");
    }
    impl_->running.insert(r);
  }
  r->channel->SetProducerWake([weak = std::weak_ptr<Running>(r)] {
    if (auto running = weak.lock()) running->Poke();
  });
  // The thread holds Impl: the destructor waits for every request to leave `running`.
  std::thread([impl = impl_, r, pieces, prompt_tokens] { impl->Run(r, pieces, prompt_tokens); }).detach();
  return Stream(r->channel);
}

}  // namespace openpcc::engine
