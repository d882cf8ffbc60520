#include "openpcc/engine/llama_engine.h"

#include <llama.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "openpcc/crypto/random.h"
#include "openpcc/engine/text_filter.h"

namespace openpcc::engine {
namespace {

using crypto::SecretString;
using crypto::WipingAllocator;
// Token ids of prompts and completions are as private as their text.
using TokenVector = std::vector<llama_token, WipingAllocator<llama_token>>;
using CharVector = std::vector<char, WipingAllocator<char>>;

constexpr const char* kFallbackTemplate = "chatml";

// ---- llama.cpp's process-wide state: backend and log ----

std::mutex g_log_mu;
std::function<void(std::string_view)> g_log_sink;

void LogCallback(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) return;
  std::lock_guard lock(g_log_mu);
  if (g_log_sink && text != nullptr) g_log_sink(text);
}

void InitLlamaOnce(std::function<void(std::string_view)> sink) {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(LogCallback, nullptr);  // before anything else can print
    llama_backend_init();
  });
  std::lock_guard lock(g_log_mu);
  g_log_sink = std::move(sink);
}

struct ModelFree {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextFree {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct SamplerFree {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelFree>;
using ContextPtr = std::unique_ptr<llama_context, ContextFree>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerFree>;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, "engine: " + message); }

// Applies a chat template; nullopt if llama.cpp does not support it.
std::optional<CharVector> ApplyTemplate(const char* tmpl, const std::vector<ChatMessage>& messages) {
  std::vector<llama_chat_message> chat;
  size_t total = 0;
  chat.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    chat.push_back({m.role.c_str(), m.content.c_str()});
    total += m.role.size() + m.content.size();
  }
  CharVector buffer(2 * total + 256);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int32_t n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), /*add_ass=*/true,
                                                buffer.data(), static_cast<int32_t>(buffer.size()));
    if (n < 0) return std::nullopt;
    if (static_cast<size_t>(n) <= buffer.size()) {
      buffer.resize(static_cast<size_t>(n));
      return buffer;
    }
    buffer.resize(static_cast<size_t>(n));
  }
  return std::nullopt;
}

Result<TokenVector> Tokenize(const llama_vocab* vocab, std::string_view text, bool parse_special) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2)) {
    return Error(ErrorCode::kOutOfRange, "engine: the prompt is too large to tokenize");
  }
  // Byte-level BPE: at most one token per byte, plus the begin/end tokens the model adds.
  TokenVector tokens(text.size() + 8);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), /*add_special=*/true, parse_special);
  if (n < 0) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                       static_cast<int32_t>(tokens.size()), true, parse_special);
  }
  if (n < 0) return Error(ErrorCode::kInternal, "engine: tokenization failed");
  tokens.resize(static_cast<size_t>(n));
  return tokens;
}

// Raw bytes of a token's text (special tokens render as nothing).
void AppendPiece(const llama_vocab* vocab, llama_token token, SecretString* out) {
  char buffer[256];
  int32_t n = llama_token_to_piece(vocab, token, buffer, sizeof(buffer), 0, /*special=*/false);
  if (n >= 0) {
    out->append(buffer, static_cast<size_t>(n));
  } else {
    CharVector big(static_cast<size_t>(-n));
    n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
    if (n > 0) out->append(big.data(), static_cast<size_t>(n));
  }
  crypto::Wipe({reinterpret_cast<uint8_t*>(buffer), sizeof(buffer)});
}

SamplerPtr MakeSampler(const SamplingParams& params, uint32_t seed) {
  SamplerPtr chain(llama_sampler_chain_init(llama_sampler_chain_default_params()));
  if (params.temperature <= 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (params.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(params.top_k));
  if (params.top_p < 1.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(params.top_p, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(params.temperature));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed));
  return chain;
}

float TopTwoGap(const float* logits, int32_t n) {
  float best = -std::numeric_limits<float>::infinity();
  float second = best;
  for (int32_t i = 0; i < n; ++i) {
    const float v = logits[i];
    if (v > best) {
      second = best;
      best = v;
    } else if (v > second) {
      second = v;
    }
  }
  return best - second;
}

}  // namespace

// A request waiting for a slot: already formatted, tokenized and checked against the context.
struct Pending {
  std::shared_ptr<StreamChannel> channel;
  TokenVector prompt;
  uint32_t max_tokens = 0;
  SamplingParams sampling;
  uint32_t seed = 0;
  std::vector<SecretString> stop;
};

// What the engine thread and the other threads share. Held by shared_ptr so a stream's producer
// wake stays valid even if its consumer outlives the engine.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool wake = false;
  bool stopping = false;
  std::deque<Pending> pending;
  void Wake() {
    {
      std::lock_guard lock(mu);
      wake = true;
    }
    cv.notify_one();
  }
};

struct Slot {
  llama_seq_id seq = 0;
  bool busy = false;
  std::shared_ptr<StreamChannel> channel;
  TokenVector prompt;
  size_t prefilled = 0;  // prompt tokens decoded so far
  llama_pos n_past = 0;  // tokens in this slot's KV cache
  std::optional<llama_token> next;  // sampled, streamed, not yet decoded
  uint32_t generated = 0;
  uint32_t max_tokens = 0;
  SamplerPtr sampler;
  Utf8Holder utf8;
  StopMatcher stop{{}};
  int32_t batch_index = -1;  // where this slot's logits are in the current batch
  int32_t prefill_count = 0;  // prompt tokens in the current batch
  bool decoding = false;      // had its next token in the current batch
};

struct LlamaEngine::Impl {
  LlamaEngineOptions options;
  EngineInfo info;
  ModelPtr model;
  ContextPtr ctx;
  const llama_vocab* vocab = nullptr;
  std::string chat_template;  // empty: use kFallbackTemplate
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::atomic<uint64_t> next_id{1};

  // Engine thread only.
  std::vector<Slot> slots;
  llama_batch batch{};
  std::thread thread;

  // Statistics, read from any thread.
  std::atomic<uint64_t> decode_calls{0};
  std::atomic<uint64_t> tokens_sampled{0};
  std::atomic<uint32_t> max_sequences{0};
  std::atomic<uint32_t> busy_slots{0};

  ~Impl() {
    if (batch.token != nullptr) {
      crypto::Wipe({reinterpret_cast<uint8_t*>(batch.token), options.batch_tokens * sizeof(llama_token)});
      llama_batch_free(batch);
    }
  }

  Result<CharVector> FormatChat(const std::vector<ChatMessage>& messages) const {
    const char* tmpl = chat_template.empty() ? kFallbackTemplate : chat_template.c_str();
    auto text = ApplyTemplate(tmpl, messages);
    if (!text) return Error(ErrorCode::kInternal, "engine: the chat template could not be applied");
    return std::move(*text);
  }

  void Run();
  void Admit(Pending p, Slot& slot);
  void FinishSlot(Slot& slot, FinishReason reason, std::optional<Error> error = std::nullopt);
  void Emit(Slot& slot, std::string_view text);
  void EmitFlush(Slot& slot);
  void HandleToken(Slot& slot, llama_token token);
  void ClearSequence(llama_seq_id seq) { llama_memory_seq_rm(llama_get_memory(ctx.get()), seq, -1, -1); }
};

LlamaEngine::LlamaEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<LlamaEngine>> LlamaEngine::Create(LlamaEngineOptions options) {
  if (options.slots < 1 || options.slots > 64) {
    return Invalid("slots " + std::to_string(options.slots) + " is not in [1, 64]");
  }
  if (options.max_tokens_cap < 1) return Invalid("max_tokens_cap must be >= 1");
  if (options.context_per_request < 16) return Invalid("context_per_request must be >= 16");
  if (options.batch_tokens < options.slots) {
    return Invalid("batch_tokens " + std::to_string(options.batch_tokens) + " is less than slots " +
                   std::to_string(options.slots));
  }
  if (options.stream_capacity < 1) return Invalid("stream_capacity must be >= 1");
  InitLlamaOnce(options.llama_log);

  auto impl = std::make_unique<Impl>();
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  impl->model.reset(llama_model_load_from_file(options.model_path.c_str(), mp));
  if (!impl->model) {
    return Error(ErrorCode::kInvalidArgument,
                 "engine: cannot load the GGUF model " + options.model_path.string());
  }
  impl->vocab = llama_model_get_vocab(impl->model.get());

  const int32_t trained = llama_model_n_ctx_train(impl->model.get());
  uint32_t per_request = options.context_per_request;
  if (trained > 0) per_request = std::min(per_request, static_cast<uint32_t>(trained));
  int32_t threads = options.threads;
  if (threads <= 0) {
    threads = static_cast<int32_t>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = per_request * options.slots;
  cp.n_batch = options.batch_tokens;
  cp.n_ubatch = options.batch_tokens;
  cp.n_seq_max = options.slots;
  cp.kv_unified = false;  // each slot its own cache stream: no cross-request attention, own limit
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.no_perf = true;
  impl->ctx.reset(llama_init_from_model(impl->model.get(), cp));
  if (!impl->ctx) {
    return Error(ErrorCode::kInternal, "engine: cannot create a llama context of " +
                                           std::to_string(cp.n_ctx) + " tokens for " +
                                           std::to_string(options.slots) + " slots");
  }

  // The model's own chat template if llama.cpp can apply it; ChatML otherwise, said in info().
  std::string source;
  if (const char* tmpl = llama_model_chat_template(impl->model.get(), nullptr); tmpl != nullptr) {
    std::vector<ChatMessage> probe;
    probe.push_back({"user", SecretString("x")});
    if (ApplyTemplate(tmpl, probe)) {
      impl->chat_template = tmpl;
      source = "model";
    } else {
      source = "chatml (fallback: llama.cpp does not support the model's chat template)";
    }
  } else {
    source = "chatml (fallback: the model has no chat template)";
  }

  impl->options = std::move(options);
  EngineInfo& info = impl->info;
  info.name = "llama";
  info.model = impl->options.model_name.empty() ? impl->options.model_path.stem().string()
                                                : impl->options.model_name;
  info.limits.max_tokens_cap = impl->options.max_tokens_cap;
  info.limits.context_tokens = std::min(llama_n_ctx_seq(impl->ctx.get()), trained > 0
                                                                              ? static_cast<uint32_t>(trained)
                                                                              : UINT32_MAX);
  info.slots = impl->options.slots;
  info.chat_template = source;

  impl->slots.resize(impl->options.slots);
  for (uint32_t i = 0; i < impl->options.slots; ++i) impl->slots[i].seq = static_cast<llama_seq_id>(i);
  impl->batch = llama_batch_init(static_cast<int32_t>(impl->options.batch_tokens), 0, 1);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<LlamaEngine>(new LlamaEngine(std::move(impl)));
}

LlamaEngine::~LlamaEngine() {
  {
    std::lock_guard lock(impl_->shared->mu);
    impl_->shared->stopping = true;
  }
  impl_->shared->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const EngineInfo& LlamaEngine::info() const { return impl_->info; }

LlamaEngine::Stats LlamaEngine::stats() const {
  Stats s;
  s.decode_calls = impl_->decode_calls.load();
  s.tokens_sampled = impl_->tokens_sampled.load();
  s.max_sequences_in_one_decode = impl_->max_sequences.load();
  s.busy_slots = impl_->busy_slots.load();
  std::lock_guard lock(impl_->shared->mu);
  s.queued = impl_->shared->pending.size();
  return s;
}

Result<Stream> LlamaEngine::Submit(GenerationRequest request) {
  Impl& e = *impl_;
  OPENPCC_RETURN_IF_ERROR(ValidateRequest(request, e.info));
  Pending p;
  if (request.kind == RequestKind::kChat) {
    OPENPCC_ASSIGN_OR_RETURN(CharVector text, e.FormatChat(request.messages));
    // The template writes the model's control tokens as text; they must parse as special tokens.
    OPENPCC_ASSIGN_OR_RETURN(p.prompt, Tokenize(e.vocab, {text.data(), text.size()}, true));
  } else {
    // A completion prompt is plain text: control tokens written in it stay text.
    OPENPCC_ASSIGN_OR_RETURN(p.prompt, Tokenize(e.vocab, request.prompt, false));
  }
  if (p.prompt.empty()) return Invalid("the prompt has no tokens");
  OPENPCC_ASSIGN_OR_RETURN(p.max_tokens, PlanCompletionTokens(static_cast<uint32_t>(p.prompt.size()),
                                                              request.max_tokens, e.info.limits));
  p.sampling = request.sampling;
  const uint64_t seed = request.sampling.seed ? *request.sampling.seed : crypto::RandomUniform(UINT64_MAX);
  p.seed = static_cast<uint32_t>(seed ^ (seed >> 32));
  p.stop = std::move(request.stop);
  p.channel = std::make_shared<StreamChannel>(e.next_id.fetch_add(1), e.options.stream_capacity);
  p.channel->SetProducerWake([shared = e.shared] { shared->Wake(); });
  Stream stream(p.channel);
  {
    std::lock_guard lock(e.shared->mu);
    if (e.shared->stopping) return Error(ErrorCode::kFailedPrecondition, "engine: shutting down");
    if (e.shared->pending.size() >= e.options.max_queued) {
      return Error(ErrorCode::kOutOfRange, "engine: " + std::to_string(e.shared->pending.size()) +
                                               " requests are queued, the limit is " +
                                               std::to_string(e.options.max_queued));
    }
    e.shared->pending.push_back(std::move(p));
    e.shared->wake = true;
  }
  e.shared->cv.notify_one();
  return stream;
}

void LlamaEngine::Impl::Admit(Pending p, Slot& slot) {
  ClearSequence(slot.seq);  // nothing of an earlier request may remain in this slot's cache
  slot.busy = true;
  slot.channel = std::move(p.channel);
  slot.prompt = std::move(p.prompt);
  slot.prefilled = 0;
  slot.n_past = 0;
  slot.next.reset();
  slot.generated = 0;
  slot.max_tokens = p.max_tokens;
  slot.sampler = MakeSampler(p.sampling, p.seed);
  slot.utf8 = Utf8Holder();
  slot.stop = StopMatcher(std::move(p.stop));
  busy_slots.fetch_add(1);
}

void LlamaEngine::Impl::FinishSlot(Slot& slot, FinishReason reason, std::optional<Error> error) {
  Finish finish;
  finish.reason = reason;
  finish.usage = {static_cast<uint32_t>(slot.prompt.size()), slot.generated};
  finish.error = std::move(error);
  // The slot is free (and its cache cleared) before the consumer can see the final event.
  std::shared_ptr<StreamChannel> channel = std::move(slot.channel);
  ClearSequence(slot.seq);
  const llama_seq_id seq = slot.seq;
  slot = Slot();  // releases the sampler; the wiping containers wipe prompt and held text
  slot.seq = seq;
  busy_slots.fetch_sub(1);
  channel->Finish(std::move(finish));
}

void LlamaEngine::Impl::Emit(Slot& slot, std::string_view text) {
  if (text.empty()) return;
  StopMatcher::Output out = slot.stop.Push(text);
  slot.channel->PushText(std::move(out.text));
  if (out.stopped) FinishSlot(slot, FinishReason::kStop);
}

void LlamaEngine::Impl::EmitFlush(Slot& slot) {
  SecretString tail = slot.utf8.Flush();
  StopMatcher::Output out = slot.stop.Push(tail);
  slot.channel->PushText(std::move(out.text));
  if (!out.stopped) slot.channel->PushText(slot.stop.Flush());
}

void LlamaEngine::Impl::HandleToken(Slot& slot, llama_token token) {
  ++slot.generated;
  tokens_sampled.fetch_add(1);
  if (llama_vocab_is_eog(vocab, token)) {
    EmitFlush(slot);
    FinishSlot(slot, FinishReason::kStop);
    return;
  }
  SecretString piece;
  AppendPiece(vocab, token, &piece);
  const SecretString text = slot.utf8.Push(piece);
  Emit(slot, text);
  if (!slot.busy) return;  // a stop sequence ended it
  if (slot.generated >= slot.max_tokens) {
    EmitFlush(slot);
    FinishSlot(slot, FinishReason::kLength);
    return;
  }
  slot.next = token;
}

void LlamaEngine::Impl::Run() {
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  for (;;) {
    // Admit waiting requests into free slots; drop those cancelled while waiting.
    std::vector<Pending> admitted;
    std::vector<Pending> dropped;
    bool stopping = false;
    {
      std::lock_guard lock(shared->mu);
      stopping = shared->stopping;
      shared->wake = false;
      size_t free_slots = 0;
      for (const Slot& s : slots) free_slots += s.busy ? 0 : 1;
      auto& q = shared->pending;
      for (auto it = q.begin(); it != q.end();) {
        if (stopping || it->channel->cancelled()) {
          dropped.push_back(std::move(*it));
          it = q.erase(it);
        } else if (admitted.size() < free_slots) {
          admitted.push_back(std::move(*it));
          it = q.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Pending& p : dropped) {
      Finish finish;
      finish.reason = stopping ? FinishReason::kError : FinishReason::kCancelled;
      finish.usage.prompt_tokens = static_cast<uint32_t>(p.prompt.size());
      if (stopping) finish.error = Error(ErrorCode::kFailedPrecondition, "engine: shut down before the request ran");
      p.channel->Finish(std::move(finish));
    }
    if (stopping) {
      for (Slot& s : slots) {
        if (s.busy) {
          FinishSlot(s, FinishReason::kError,
                     Error(ErrorCode::kFailedPrecondition, "engine: shut down before the request finished"));
        }
      }
      return;
    }
    size_t next_free = 0;
    for (Pending& p : admitted) {
      while (slots[next_free].busy) ++next_free;
      Admit(std::move(p), slots[next_free]);
    }
    for (Slot& s : slots) {
      if (s.busy && s.channel->cancelled()) FinishSlot(s, FinishReason::kCancelled);
    }

    // One batch: first the next token of every generating request whose consumer keeps up, then
    // as much of the waiting prompts as fits.
    batch.n_tokens = 0;
    int32_t budget = static_cast<int32_t>(options.batch_tokens);
    uint32_t sequences = 0;
    const auto add = [&](llama_token token, llama_pos pos, llama_seq_id seq, bool logits) {
      const int32_t i = batch.n_tokens++;
      batch.token[i] = token;
      batch.pos[i] = pos;
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = seq;
      batch.logits[i] = logits ? 1 : 0;
      --budget;
      return i;
    };
    for (Slot& s : slots) {
      s.batch_index = -1;
      s.prefill_count = 0;
      s.decoding = false;
      if (!s.busy || !s.next || !s.channel->WantsMore()) continue;
      s.batch_index = add(*s.next, s.n_past, s.seq, true);
      s.decoding = true;
      ++sequences;
    }
    for (Slot& s : slots) {
      if (!s.busy || s.prefilled >= s.prompt.size() || budget <= 0) continue;
      const size_t remaining = s.prompt.size() - s.prefilled;
      const auto n = static_cast<int32_t>(std::min<size_t>(remaining, static_cast<size_t>(budget)));
      for (int32_t k = 0; k < n; ++k) {
        const size_t at = s.prefilled + static_cast<size_t>(k);
        const bool last = at + 1 == s.prompt.size();
        const int32_t i = add(s.prompt[at], s.n_past + k, s.seq, last);
        if (last) s.batch_index = i;
      }
      s.prefill_count = n;
      ++sequences;
    }

    if (batch.n_tokens == 0) {
      std::unique_lock lock(shared->mu);
      shared->cv.wait(lock, [&] {
        if (shared->stopping || shared->wake) return true;
        if (shared->pending.empty()) return false;
        return std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return !s.busy; });
      });
      continue;
    }

    const int32_t rc = llama_decode(ctx.get(), batch);
    decode_calls.fetch_add(1);
    uint32_t widest = max_sequences.load();
    while (sequences > widest && !max_sequences.compare_exchange_weak(widest, sequences)) {
    }
    crypto::Wipe({reinterpret_cast<uint8_t*>(batch.token), static_cast<size_t>(batch.n_tokens) * sizeof(llama_token)});
    if (rc != 0) {
      for (Slot& s : slots) {
        if (s.busy && (s.decoding || s.prefill_count > 0)) {
          FinishSlot(s, FinishReason::kError,
                     Error(ErrorCode::kInternal, "engine: llama_decode failed with code " + std::to_string(rc)));
        }
      }
      continue;
    }
    for (Slot& s : slots) {
      if (!s.busy) continue;
      if (s.decoding) {
        s.n_past += 1;
        s.next.reset();
      }
      s.prefilled += static_cast<size_t>(s.prefill_count);
      s.n_past += s.prefill_count;
      if (s.batch_index < 0) continue;
      if (options.token_observer_for_testing) {
        const float gap = TopTwoGap(llama_get_logits_ith(ctx.get(), s.batch_index), n_vocab);
        const llama_token token = llama_sampler_sample(s.sampler.get(), ctx.get(), s.batch_index);
        options.token_observer_for_testing(s.channel->id(), token, gap);
        HandleToken(s, token);
      } else {
        HandleToken(s, llama_sampler_sample(s.sampler.get(), ctx.get(), s.batch_index));
      }
    }
  }
}

}  // namespace openpcc::engine
