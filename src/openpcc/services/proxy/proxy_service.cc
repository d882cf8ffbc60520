#include "openpcc/services/proxy/proxy_service.h"

#include <mutex>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "openpcc/net/chunk_channel.h"
#include "openpcc/net/server.h"
#include "openpcc/net/sse.h"
#include "openpcc/services/await_callback.h"
#include "openpcc/util/log.h"
#include "openpcc/util/stopwatch.h"
#include "openpcc/wire/jcs.h"

namespace openpcc::services {
namespace {

namespace json = boost::json;
constexpr std::string_view kLog = "proxy";

// Channel items: 'V' (the verified node, stored beside), 'H' + status + ' ' + content type,
// 'C' + content bytes.
struct CallShared {
  std::mutex mu;
  std::optional<client::VerificationReport> report;
};

class ChannelSink final : public client::AnswerSink {
 public:
  ChannelSink(std::shared_ptr<net::ChunkChannel> channel, std::shared_ptr<CallShared> shared,
              std::chrono::milliseconds timeout)
      : channel_(std::move(channel)), shared_(std::move(shared)), timeout_(timeout) {}
  Status OnVerified(const client::VerificationReport& report) override {
    std::lock_guard lock(shared_->mu);
    shared_->report = report;
    return OkStatus();
  }
  Status OnHead(const client::InnerResponseHead& head) override {
    std::string item = "H" + std::to_string(head.status) + " " + head.header("content-type").value_or("application/json");
    return channel_->Push(std::move(item), timeout_);
  }
  Status OnContent(ByteView piece) override {
    std::string item = "C";
    item.append(AsChars(piece));
    return channel_->Push(std::move(item), timeout_);
  }

 private:
  std::shared_ptr<net::ChunkChannel> channel_;
  std::shared_ptr<CallShared> shared_;
  std::chrono::milliseconds timeout_;
};

struct MappedError {
  unsigned status;
  std::string code;
};

MappedError Map(const Error& e) {
  const std::string& m = e.message();
  if (m.starts_with("request: ")) return {400, "invalid_request"};
  if (m.starts_with("wallet: ")) return {503, "tokens_unavailable"};
  return {502, "confidential_path_failed"};
}

bool IsLoopbackHost(std::string_view host) {
  for (std::string_view prefix : {"127.0.0.1", "localhost", "[::1]"}) {
    if (host.starts_with(prefix) && (host.size() == prefix.size() || host[prefix.size()] == ':')) return true;
  }
  return false;
}

// A web page must not reach the proxy: browsers send Origin on cross-origin requests, and a
// DNS-rebound name arrives with a non-loopback Host.
std::optional<std::string> Forbidden(const net::Request& req) {
  if (req.header("origin")) return "requests with an Origin header are refused (the proxy is not for web pages)";
  auto host = req.header("host");
  if (!host || !IsLoopbackHost(*host)) return "the Host header must name the loopback address";
  return std::nullopt;
}

std::string ErrorEvent(std::string_view code, std::string_view message) {
  net::SseEvent event;
  event.event = "error";
  event.data = net::ErrorJson("api_error", code, message);
  auto encoded = net::EncodeSseEvent(event);
  return encoded.ok() ? *encoded : std::string("event: error\ndata: {}\n\n");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> VerificationHeaders(const client::VerificationReport& r) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("OpenPCC-Node-Id", HexEncode(r.node_id));
  h.emplace_back("OpenPCC-Node-Platform", r.simulated ? r.platform + " (simulated)" : r.platform);
  h.emplace_back("OpenPCC-Node-Measurement", HexEncode(r.measurement));
  h.emplace_back("OpenPCC-Node-Release", r.release_version + " " + r.release_id);
  h.emplace_back("OpenPCC-Node-Log-Index", std::to_string(r.release_log_index));
  h.emplace_back("OpenPCC-Directory-Epoch", std::to_string(r.directory_epoch));
  h.emplace_back("OpenPCC-Node-Freshness",
                 r.freshness_not_before ? std::to_string(r.FreshnessAgeSeconds()) + "s" : std::string("client-nonce"));
  return h;
}

net::Router ProxyService::Routes() {
  net::Router router;
  for (std::string path : {"/v1/chat/completions", "/v1/completions"}) {
    router.Handle("POST", path, [this, path](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      co_await Complete(req, res, path);
    });
  }
  router.Handle("GET", "/v1/models", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
    co_await Models(req, res);
  });
  router.Handle("GET", std::string(kProxyVerificationPath),
                [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
                  co_await Verification(req, res);
                });
  return router;
}

// GCC 12 reports -Wmismatched-new-delete for these coroutines: Asio allocates large frames with
// aligned_alloc and frees them with its matching operator delete, which GCC cannot pair once both
// are inlined into the frame's ramp (as in services/relay). A false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
net::Awaitable<void> ProxyService::Complete(net::Request& req, net::Response& res, std::string path) {
  if (auto why = Forbidden(req)) {
    (void)co_await res.SendError(403, "forbidden_origin", *why);
    co_return;
  }
  Result<std::string> body = co_await req.ReadAll(config_.max_request_bytes);
  if (!body.ok()) {
    const unsigned status = body.error().code() == ErrorCode::kOutOfRange ? 413 : 400;
    const std::string message = "request body: " + body.error().message();
    (void)co_await res.SendError(status, status == 413 ? "body_size" : "invalid_request", message);
    co_return;
  }
  bool stream = false;
  {
    auto parsed = wire::ParseJson(*body, wire::JsonLimits{config_.max_request_bytes, 64});
    std::string problem;
    if (!parsed.ok() || !parsed->is_object()) {
      problem = "request: the body must be a JSON object";
    } else {
      const json::object& o = parsed->as_object();
      const json::value* model = o.if_contains("model");
      const json::value* s = o.if_contains("stream");
      if (model == nullptr || !model->is_string() || model->as_string().empty()) {
        problem = "request: model: expected a model name";
      } else if (s != nullptr && !s->is_bool() && !s->is_null()) {
        problem = "request: stream: expected true or false";
      } else {
        stream = s != nullptr && s->is_bool() && s->as_bool();
      }
    }
    if (!problem.empty()) {
      (void)co_await res.SendError(400, "invalid_request", problem);
      co_return;
    }
  }

  auto channel = net::ChunkChannel::Create(16);
  channel->CancelOn(req.cancel_token());
  auto shared = std::make_shared<CallShared>();
  client::EngineRequest engine_request;
  engine_request.path = path;
  engine_request.body = std::move(*body);
  work_->Post([this, channel, shared, engine_request = std::move(engine_request)] {
    ChannelSink sink(channel, shared, config_.push_timeout);
    Result<client::VerificationReport> done = client_.Call(engine_request, sink);
    if (done.ok()) {
      channel->Close();
      // Durations only (bench/e2e's split by component); nothing that identifies the call.
      const client::CallTiming& t = done->timing;
      LogInfo(kLog, "call", {{"bootstrap_us", Micros(t.bootstrap)}, {"seal_us", Micros(t.seal)},
                             {"wallet_us", Micros(t.wallet)}, {"open_us", Micros(t.open)},
                             {"first_byte_us", Micros(t.first_byte)}, {"total_us", Micros(t.total)}});
    } else {
      LogInfo(kLog, "call failed", {{"error", done.error().message()}});
      channel->Fail(done.error());
    }
  });

  Result<std::optional<std::string>> first = co_await channel->Next();
  if (!first.ok() || !first->has_value() || (*first)->empty() || (**first)[0] != 'H') {
    const Error e = first.ok() ? Error(ErrorCode::kInternal, "the call ended without an answer") : first.error();
    const MappedError mapped = Map(e);
    (void)co_await res.SendError(mapped.status, mapped.code, e.message());
    co_return;
  }
  const std::string head = (*first)->substr(1);
  const size_t space = head.find(' ');
  const unsigned status = static_cast<unsigned>(std::stoul(head.substr(0, space)));
  const std::string content_type = space == std::string::npos ? "application/json" : head.substr(space + 1);
  {
    std::lock_guard lock(shared->mu);
    if (shared->report) {
      for (const auto& [name, value] : VerificationHeaders(*shared->report)) (void)res.SetHeader(name, value);
    }
  }

  const bool sse = stream && status == 200 && content_type.starts_with("text/event-stream");
  if (!sse) {
    // Held whole: sent only once the final chunk authenticated.
    std::string answer;
    while (true) {
      Result<std::optional<std::string>> next = co_await channel->Next();
      if (!next.ok()) {
        const std::string message = next.error().message();
        (void)co_await res.SendError(502, "confidential_path_failed", message);
        co_return;
      }
      if (!next->has_value()) break;
      if (answer.size() + (*next)->size() > config_.max_answer_bytes) {
        channel->Cancel();
        (void)co_await res.SendError(502, "answer_too_large", "the answer exceeds the proxy's limit");
        co_return;
      }
      answer.append(std::string_view(**next).substr(1));
    }
    (void)co_await res.Send(status, answer, content_type);
    co_return;
  }

  if (!(co_await res.StartStream(200, "text/event-stream")).ok()) {
    channel->Cancel();
    co_return;
  }
  net::SseDecoder decoder;
  while (true) {
    Result<std::optional<std::string>> next = co_await channel->Next();
    if (!next.ok()) {
      const std::string event = ErrorEvent("truncated_response", next.error().message());
      (void)co_await res.Write(event);
      (void)co_await res.Finish();
      co_return;
    }
    if (!next->has_value()) break;
    std::vector<net::SseEvent> events;
    if (Status fed = decoder.Feed(std::string_view(**next).substr(1), events); !fed.ok()) {
      channel->Cancel();
      const std::string event = ErrorEvent("bad_stream", "the node's event stream: " + fed.error().message());
      (void)co_await res.Write(event);
      (void)co_await res.Finish();
      co_return;
    }
    std::string out;
    for (const net::SseEvent& e : events) {
      if (e.event.empty() && e.data == "[DONE]") continue;  // written below, after authentication
      if (e.event.empty()) {
        out += net::EncodeSseData(e.data);
      } else if (auto encoded = net::EncodeSseEvent(net::SseEvent{e.event, e.data, {}}); encoded.ok()) {
        out += *encoded;
      }
    }
    if (!out.empty() && !(co_await res.Write(out)).ok()) {
      channel->Cancel();
      co_return;
    }
  }
  // The whole answer authenticated: only now the end.
  const std::string done(net::kSseDone);
  (void)co_await res.Write(done);
  (void)co_await res.Finish();
}

net::Awaitable<void> ProxyService::Models(net::Request& req, net::Response& res) {
  if (auto why = Forbidden(req)) {
    (void)co_await res.SendError(403, "forbidden_origin", *why);
    co_return;
  }
  client::InferenceClient& c = client_;
  Result<std::string> models =
      co_await RunBlocking<Result<std::string>>(*work_, std::function<Result<std::string>()>([&c] { return c.Models(); }));
  if (!models.ok()) {
    const std::string message = models.error().message();
    (void)co_await res.SendError(502, "confidential_path_failed", message);
    co_return;
  }
  (void)co_await res.Send(200, *models, "application/json");
}

net::Awaitable<void> ProxyService::Verification(net::Request& req, net::Response& res) {
  if (auto why = Forbidden(req)) {
    (void)co_await res.SendError(403, "forbidden_origin", *why);
    co_return;
  }
  std::optional<client::VerificationReport> last = client_.LastVerification();
  if (!last) {
    (void)co_await res.SendError(404, "no_verification", "no request has been answered yet");
    co_return;
  }
  const std::string body = json::serialize(last->ToJson());
  (void)co_await res.Send(200, body, "application/json");
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace openpcc::services
