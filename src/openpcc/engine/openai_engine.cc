#include "openpcc/engine/openai_engine.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/engine/openai_api.h"
#include "openpcc/net/beast.h"
#include "openpcc/net/sse.h"
#include "openpcc/net/url.h"

namespace openpcc::engine {
namespace {

namespace json = boost::json;
using net::asio::awaitable;


void WipeString(std::string& s) {
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  s.clear();
}

void AppendNumber(crypto::SecretString& out, double value) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.6g", value);
  out.append(buf, static_cast<size_t>(n > 0 ? n : 0));
}

Error UpstreamError(std::string message) {
  return Error(ErrorCode::kFailedPrecondition, "openai engine: " + std::move(message));
}

// Only short, fixed vocabulary from an upstream's error body reaches our message: its `type` and
// `code` when they are plain identifiers (a message text could quote the prompt).
std::string ErrorClassOf(std::string_view body) {
  json::error_code ec;
  WipingJsonResource resource;  // upstream JSON carries completion text
  json::value v = json::parse(body, ec, json::storage_ptr(&resource));
  if (ec || !v.is_object()) return {};
  const json::value* err = v.as_object().if_contains("error");
  if (err == nullptr || !err->is_object()) return {};
  std::string out;
  for (const char* key : {"type", "code"}) {
    const json::value* f = err->as_object().if_contains(key);
    std::string text;
    if (f != nullptr && f->is_string()) text = std::string(f->as_string());
    if (f != nullptr && f->is_int64()) text = std::to_string(f->as_int64());
    const bool plain = !text.empty() && text.size() <= 64 &&
                       text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-.") == std::string::npos;
    if (plain) out += std::string(out.empty() ? "" : ", ") + key + " " + text;
  }
  return out;
}

}  // namespace

crypto::SecretString UpstreamRequestJson(const GenerationRequest& request,
                                         std::string_view upstream_model, uint32_t max_tokens) {
  crypto::SecretString out = "{\"model\":";
  AppendJsonString(out, upstream_model);
  if (request.kind == RequestKind::kChat) {
    out += ",\"messages\":[";
    for (size_t i = 0; i < request.messages.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"role\":";
      AppendJsonString(out, request.messages[i].role);
      out += ",\"content\":";
      AppendJsonString(out, request.messages[i].content);
      out += '}';
    }
    out += ']';
  } else {
    out += ",\"prompt\":";
    AppendJsonString(out, request.prompt);
  }
  out += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  out += ",\"max_tokens\":" + std::to_string(max_tokens);
  out += ",\"temperature\":";
  AppendNumber(out, request.sampling.temperature);
  out += ",\"top_p\":";
  AppendNumber(out, request.sampling.top_p);
  if (request.sampling.top_k > 0) out += ",\"top_k\":" + std::to_string(request.sampling.top_k);
  if (request.sampling.seed) out += ",\"seed\":" + std::to_string(*request.sampling.seed);
  if (!request.stop.empty()) {
    out += ",\"stop\":[";
    for (size_t i = 0; i < request.stop.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, request.stop[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

struct OpenAiEngine::Impl {
  OpenAiEngineOptions options;
  net::Url base;
  EngineInfo info;
  net::asio::io_context io{1};
  std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work;
  std::shared_ptr<net::Client> client;
  std::thread thread;
  std::atomic<uint64_t> next_id{1};
  std::mutex mu;
  std::set<std::shared_ptr<StreamChannel>> running;  // ended with an error if the engine stops
  bool stopping = false;

  std::string UrlFor(RequestKind kind) const {
    std::string prefix(base.path());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    // A base URL of ".../v1" (as OpenAI clients take it) and one without are both accepted.
    if (prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/v1") == 0) prefix.resize(prefix.size() - 3);
    return base.scheme + "://" + base.HostHeader() + prefix +
           (kind == RequestKind::kChat ? "/v1/chat/completions" : "/v1/completions");
  }

  void Done(const std::shared_ptr<StreamChannel>& channel, Finish finish) {
    channel->SetProducerWake(nullptr);
    channel->Finish(std::move(finish));
    std::lock_guard lock(mu);
    running.erase(channel);
  }

  awaitable<void> Run(std::shared_ptr<StreamChannel> channel, crypto::SecretString body,
                      RequestKind kind);
};

awaitable<void> OpenAiEngine::Impl::Run(std::shared_ptr<StreamChannel> channel,
                                        crypto::SecretString body, RequestKind kind) {
  // Frames live on `io`, a member of Impl: they are destroyed (in ~io_context) before Impl is.
  Finish finish;
  finish.reason = FinishReason::kError;
  auto fail = [&](std::string message) {
    Finish f;
    f.reason = FinishReason::kError;
    f.error = UpstreamError(std::move(message));
    Done(channel, std::move(f));
  };

  net::asio::any_io_executor executor = co_await net::asio::this_coro::executor;
  auto bell = std::make_shared<net::asio::experimental::concurrent_channel<void(net::beast::error_code)>>(executor, 1);
  channel->SetProducerWake([weak = std::weak_ptr(bell)] {
    if (auto b = weak.lock()) b->try_send(net::beast::error_code{});
  });

  const std::string url = UrlFor(kind);
  net::Headers headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  net::ClientRequest request("POST", url, std::move(headers));
  // Send keeps the body until the response head arrived: it retries once when a pooled
  // connection was closed by the upstream (llama-server closes it after each stream).
  const std::string_view body_view(body.data(), body.size());
  Result<net::Client::Opened> opened = co_await client->Send(std::move(request), body_view);
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(body.data()), body.size()));
  body.clear();
  body.shrink_to_fit();
  if (!opened.ok()) {
    fail("cannot reach the upstream: " + opened.error().message());
    co_return;
  }
  net::ClientExchange exchange = std::move(opened->exchange);
  const net::ResponseHead head = std::move(opened->head);
  if (head.status != 200) {
    Result<std::string> error_body = co_await exchange.ReadAll(options.max_error_body_bytes);
    std::string cls = error_body.ok() ? ErrorClassOf(*error_body) : std::string();
    if (error_body.ok()) WipeString(*error_body);
    fail("upstream answered HTTP " + std::to_string(head.status) +
         (cls.empty() ? std::string() : " (" + cls + ")"));
    co_return;
  }

  net::SseDecoder decoder;
  std::vector<net::SseEvent> events;
  std::array<uint8_t, 16 * 1024> buf;
  std::optional<FinishReason> reason;
  std::optional<Usage> usage;
  uint32_t pieces = 0;
  bool done = false;
  WipingJsonResource resource;  // upstream JSON carries completion text
  while (!done) {
    if (channel->cancelled()) {
      // Dropping the exchange mid-response closes the connection: the upstream stops generating.
      Finish f;
      f.reason = FinishReason::kCancelled;
      Done(channel, std::move(f));
      co_return;
    }
    if (!channel->WantsMore()) {
      co_await bell->async_receive(net::kAsTuple);
      continue;
    }
    const std::span<uint8_t> out(buf);
    Result<size_t> n = co_await exchange.ReadSome(out);
    if (!n.ok()) {
      crypto::Wipe(buf);
      fail("reading the upstream stream failed: " + n.error().message());
      co_return;
    }
    if (*n == 0) {
      Status end = decoder.Finish();
      if (!end.ok() || !reason) {
        fail("the upstream stream ended before a finish reason");
        co_return;
      }
      break;
    }
    Status fed = decoder.Feed(std::string_view(reinterpret_cast<const char*>(buf.data()), *n), events);
    crypto::Wipe(std::span<uint8_t>(buf.data(), *n));
    if (!fed.ok()) {
      for (auto& e : events) WipeString(e.data);
      fail("the upstream's event stream is malformed: " + fed.error().message());
      co_return;
    }
    std::optional<std::string> event_error;
    for (net::SseEvent& event : events) {
      if (done || event_error) {
        WipeString(event.data);
        continue;
      }
      if (event.event == "error") {
        event_error = "the upstream sent an error event";
      } else if (event.data == "[DONE]") {
        done = true;
      } else {
        json::error_code ec;
        json::value v = json::parse(event.data, ec, json::storage_ptr(&resource));
        if (ec || !v.is_object()) {
          event_error = "an upstream event is not a JSON object";
        } else if (v.as_object().contains("error")) {
          event_error = "the upstream reported an error in the stream";
        } else {
          const json::object& o = v.as_object();
          if (const json::value* u = o.if_contains("usage"); u != nullptr && u->is_object()) {
            Usage got;
            auto count = [&](const char* key) -> uint32_t {
              const json::value* f = u->as_object().if_contains(key);
              if (f == nullptr) return 0;
              if (f->is_int64() && f->as_int64() >= 0) return static_cast<uint32_t>(f->as_int64());
              if (f->is_uint64()) return static_cast<uint32_t>(f->as_uint64());
              return 0;
            };
            got.prompt_tokens = count("prompt_tokens");
            got.completion_tokens = count("completion_tokens");
            usage = got;
          }
          const json::value* choices = o.if_contains("choices");
          if (choices != nullptr && choices->is_array() && !choices->as_array().empty()) {
            const json::value& c = choices->as_array().front();
            if (!c.is_object()) {
              event_error = "an upstream choice is not an object";
            } else {
              const json::object& choice = c.as_object();
              const json::value* text = nullptr;
              if (kind == RequestKind::kChat) {
                const json::value* delta = choice.if_contains("delta");
                if (delta != nullptr && delta->is_object()) text = delta->as_object().if_contains("content");
              } else {
                text = choice.if_contains("text");
              }
              if (text != nullptr && text->is_string() && !text->as_string().empty()) {
                const json::string& s = text->as_string();
                channel->PushText(crypto::SecretString(s.data(), s.size()));
                ++pieces;
              }
              const json::value* fr = choice.if_contains("finish_reason");
              if (fr != nullptr && fr->is_string()) {
                reason = fr->as_string() == "length" ? FinishReason::kLength : FinishReason::kStop;
              }
            }
          }
        }
      }
      WipeString(event.data);
    }
    events.clear();
    if (event_error) {
      fail(*event_error);
      co_return;
    }
  }
  if (!reason) {
    fail("the upstream stream ended before a finish reason");
    co_return;
  }
  // Read the rest (after [DONE] there is only the end of the body) so the connection is pooled.
  while (true) {
    const std::span<uint8_t> out(buf);
    Result<size_t> n = co_await exchange.ReadSome(out);
    if (!n.ok() || *n == 0) break;
    crypto::Wipe(std::span<uint8_t>(buf.data(), *n));
  }
  finish.reason = *reason;
  finish.usage = usage.value_or(Usage{0, pieces});
  finish.error.reset();
  Done(channel, std::move(finish));
}

OpenAiEngine::OpenAiEngine(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<OpenAiEngine>> OpenAiEngine::Create(OpenAiEngineOptions options) {
  Result<net::Url> url = net::ParseUrl(options.base_url);
  if (!url.ok()) {
    return Error(ErrorCode::kInvalidArgument, "openai engine: upstream " + url.error().message());
  }
  if (!options.allow_non_loopback && !net::IsLoopbackHost(url->host)) {
    return Error(ErrorCode::kInvalidArgument,
                 "openai engine: the upstream host '" + url->host +
                     "' is not loopback; the upstream must run inside the node's TEE (DESIGN §5). "
                     "Allow it explicitly (--allow-non-loopback-upstream) only if it does");
  }
  if (options.model.empty()) {
    return Error(ErrorCode::kInvalidArgument, "openai engine: the served model name is empty");
  }
  if (options.max_tokens_cap == 0) {
    return Error(ErrorCode::kInvalidArgument, "openai engine: max_tokens_cap must be >= 1");
  }
  auto impl = std::make_shared<Impl>();
  impl->base = std::move(url).value();
  if (options.allow_non_loopback) options.client.allow_plaintext_non_loopback = true;
  impl->options = std::move(options);
  if (impl->options.upstream_model.empty()) impl->options.upstream_model = impl->options.model;
  impl->info.name = "openai";
  impl->info.model = impl->options.model;
  impl->info.limits.max_tokens_cap = impl->options.max_tokens_cap;
  impl->info.limits.context_tokens = impl->options.context_tokens;
  impl->info.slots = 0;
  impl->info.chat_template = "upstream";
  Result<std::shared_ptr<net::Client>> client =
      net::Client::Create(impl->io.get_executor(), impl->options.client);
  if (!client.ok()) return client.error();
  impl->client = std::move(client).value();
  impl->work.emplace(impl->io.get_executor());
  impl->thread = std::thread([raw = impl.get()] { raw->io.run(); });
  return std::unique_ptr<OpenAiEngine>(new OpenAiEngine(std::move(impl)));
}

OpenAiEngine::~OpenAiEngine() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::set<std::shared_ptr<StreamChannel>> left;
  {
    std::lock_guard lock(impl_->mu);
    left.swap(impl_->running);
  }
  for (const auto& channel : left) {
    Finish f;
    f.reason = FinishReason::kError;
    f.error = UpstreamError("the engine stopped before the request finished");
    channel->SetProducerWake(nullptr);
    channel->Finish(std::move(f));
  }
  // Coroutine frames still suspended on the io_context are destroyed with it (they hold Impl).
  impl_->client.reset();
}

const EngineInfo& OpenAiEngine::info() const { return impl_->info; }

Result<Stream> OpenAiEngine::Submit(GenerationRequest request) {
  OPENPCC_RETURN_IF_ERROR(ValidateRequest(request, impl_->info));
  const uint32_t max_tokens =
      std::min(request.max_tokens.value_or(impl_->options.max_tokens_cap), impl_->options.max_tokens_cap);
  crypto::SecretString body = UpstreamRequestJson(request, impl_->options.upstream_model, max_tokens);
  auto channel = std::make_shared<StreamChannel>(impl_->next_id++, impl_->options.stream_capacity);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) {
      return Error(ErrorCode::kFailedPrecondition, "openai engine: the engine is stopping");
    }
    impl_->running.insert(channel);
  }
  net::asio::co_spawn(impl_->io, impl_->Run(channel, std::move(body), request.kind),
                      net::asio::detached);
  return Stream(channel);
}

}  // namespace openpcc::engine
