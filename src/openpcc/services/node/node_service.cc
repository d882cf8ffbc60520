#include "openpcc/services/node/node_service.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/engine/openai_api.h"
#include "openpcc/net/beast.h"
#include "openpcc/net/server.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/http_date.h"
#include "openpcc/util/log.h"
#include "openpcc/util/stopwatch.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::services::node {
namespace {

namespace bhttp = wire::bhttp;
namespace asio = net::asio;
using Bell = asio::experimental::concurrent_channel<void(net::beast::error_code)>;

template <typename Container>
ByteView AsBytes(const Container& c) {
  return ByteView(reinterpret_cast<const uint8_t*>(c.data()), c.size());
}

size_t VarintLength(uint64_t v) { return v < 64 ? 1 : v < 16384 ? 2 : v < (uint64_t{1} << 30) ? 4 : 8; }

// One BHTTP content chunk carrying `sse`, preceded by an SSE comment line (":" + spaces + "\n",
// which every SSE reader ignores) sized so that `prefix` bytes plus the encoded chunk are a
// multiple of kResponsePadding.
Result<crypto::SecretVector> PaddedContent(bhttp::StreamEncoder& encoder, size_t prefix,
                                           std::string_view sse) {
  const size_t minimum = prefix + 1 + sse.size() + 2;
  for (size_t target = (minimum + kResponsePadding - 1) / kResponsePadding * kResponsePadding;;
       target += kResponsePadding) {
    for (size_t vl : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
      if (target < prefix + vl + sse.size() + 2) continue;
      const size_t comment = target - prefix - vl - sse.size();
      if (VarintLength(sse.size() + comment) != vl) continue;
      crypto::SecretString piece;
      piece.reserve(comment + sse.size());
      piece += ':';
      piece.append(comment - 2, ' ');
      piece += '\n';
      piece.append(sse);
      return encoder.Content(AsBytes(piece));
    }
  }
}

// The decrypted inner request: its head, and its content in wiped memory.
class InnerRequest final : public bhttp::StreamVisitor {
 public:
  explicit InnerRequest(size_t max_content) : max_content_(max_content) {}
  Status OnRequestHead(bhttp::RequestHead head) override {
    head_ = std::move(head);
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    if (content_.size() + piece.size() > max_content_) {
      return Error(ErrorCode::kOutOfRange, "inner request: content exceeds the limit of " +
                                               std::to_string(max_content_) + " bytes");
    }
    content_.insert(content_.end(), piece.begin(), piece.end());
    return OkStatus();
  }
  Status OnTrailers(bhttp::Fields) override { return OkStatus(); }

  const std::optional<bhttp::RequestHead>& head() const { return head_; }
  std::string_view body() const {
    return std::string_view(reinterpret_cast<const char*>(content_.data()), content_.size());
  }
  std::optional<std::string_view> Header(std::string_view name) const {
    if (!head_) return std::nullopt;
    for (const bhttp::Field& f : head_->headers) {
      if (f.name.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < name.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(f.name[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return std::string_view(f.value.data(), f.value.size());
    }
    return std::nullopt;
  }

 private:
  size_t max_content_;
  std::optional<bhttp::RequestHead> head_;
  bhttp::Content content_;
};

struct Refusal {
  unsigned status;
  std::string code;
};

// The outer refusal for an error before the request authenticated; see the header.
Refusal OuterRefusal(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kUnknownKey: return {421, "unknown_node"};
    case ErrorCode::kReplay:
      if (error.message().find("full") != std::string::npos) return {503, "replay_table_full"};
      return {409, "replay"};
    case ErrorCode::kOutOfRange: return {413, "request_size"};
    default: return {400, "sealed_request"};
  }
}

// A whole inner response, padded so its encoding is a multiple of kResponsePadding.
Result<crypto::SecretVector> WholeResponse(uint16_t status, std::string_view content_type,
                                           std::string_view body) {
  bhttp::Response response;
  response.status = status;
  response.headers.push_back({bhttp::Text("content-type"), bhttp::Text(content_type)});
  response.content.assign(body.begin(), body.end());
  bhttp::EncodeOptions options;
  options.padding.to_multiple = kResponsePadding;
  return bhttp::EncodeResponse(response, options);
}

struct InnerError {
  uint16_t status;
  std::string code;
  std::string message;
  std::string type = "invalid_request_error";
};

InnerError FromEngineError(const Error& error) {
  return {static_cast<uint16_t>(engine::ApiErrorStatus(error)), "", error.message(),
          std::string(engine::ApiErrorType(error))};
}

struct InFlightGuard {
  std::atomic<size_t>& counter;
  bool admitted;
  InFlightGuard(std::atomic<size_t>& c, size_t max) : counter(c) {
    admitted = counter.fetch_add(1) < max;
  }
  ~InFlightGuard() { counter.fetch_sub(1); }
};

}  // namespace

NodeService::NodeService(NodeServiceOptions options, engine::Engine& engine, KeyRing& keys,
                         EvidenceCollector& collector, const Clock& clock)
    : options_(std::move(options)),
      engine_(engine),
      keys_(keys),
      collector_(collector),
      clock_(clock),
      replay_(options_.replay_capacity) {}

Result<attest::EvidenceBundle> NodeService::Bundle(const EpochKeyInfo& key) const {
  BundleInputs inputs;
  OPENPCC_ASSIGN_OR_RETURN(inputs.key_config, wire::EncodeKeyConfig(key.key.config));
  inputs.claims = options_.claims;
  if (options_.freshness) {
    inputs.freshness = options_.freshness();
  } else {
    inputs.freshness.binding.kind = attest::FreshnessKind::kLogCheckpoint;
  }
  return collector_.Collect(inputs);
}

Result<attest::EvidenceBundle> NodeService::BundleWithNonce(const EpochKeyInfo& key,
                                                            ByteView nonce) const {
  if (nonce.size() != 32) {
    return Error(ErrorCode::kInvalidArgument,
                 "attest: nonce is " + std::to_string(nonce.size()) + " bytes, expected 32");
  }
  BundleInputs inputs;
  OPENPCC_ASSIGN_OR_RETURN(inputs.key_config, wire::EncodeKeyConfig(key.key.config));
  inputs.claims = options_.claims;
  inputs.freshness.binding.kind = attest::FreshnessKind::kClientNonce;
  std::copy(nonce.begin(), nonce.end(), inputs.freshness.binding.value.begin());
  return collector_.Collect(inputs);
}

net::Router NodeService::MakeRouter() {
  net::Router router;
  router.Handle("POST", "/v1/infer", [this](net::Request& req, net::Response& res) {
    return Infer(req, res);
  });
  router.Handle("POST", "/v1/attest", [this](net::Request& req, net::Response& res) {
    return Attest(req, res);
  });
  router.Handle("GET", "/healthz", [this](net::Request&, net::Response& res) -> net::Awaitable<void> {
    const std::string body = "{\"status\":\"ok\",\"engine\":\"" + engine_.info().name +
                             "\",\"in_flight\":" + std::to_string(in_flight_.load()) + "}";
    (void)co_await res.Send(200, body);
  });
  return router;
}

net::Awaitable<void> NodeService::Attest(net::Request& req, net::Response& res) {
  Result<std::string> body = co_await req.ReadAll(4096);
  if (!body.ok()) co_return;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(*body, ec);
  const boost::json::value* nonce_field =
      (!ec && v.is_object()) ? v.as_object().if_contains("nonce") : nullptr;
  if (nonce_field == nullptr || !nonce_field->is_string()) {
    (void)co_await res.SendError(400, "nonce", "attest: expected {\"nonce\": base64url of 32 bytes}");
    co_return;
  }
  Result<Bytes> nonce = Base64UrlDecode(std::string_view(nonce_field->as_string()));
  if (!nonce.ok() || nonce->size() != 32) {
    (void)co_await res.SendError(400, "nonce", "attest: nonce must be base64url of exactly 32 bytes");
    co_return;
  }
  std::optional<EpochKeyInfo> key = keys_.Current(clock_.Now());
  if (!key) {
    (void)co_await res.SendError(503, "no_key", "attest: the node has no key for the current epoch");
    co_return;
  }
  Result<attest::EvidenceBundle> bundle = BundleWithNonce(*key, *nonce);
  if (!bundle.ok()) {
    LogWarning(options_.component, "attest failed", {{"id", std::to_string(req.id())},
                                                     {"error", bundle.error().ToString()}});
    (void)co_await res.SendError(500, "evidence", bundle.error().message());
    co_return;
  }
  const std::string json = bundle->Serialize();
  (void)co_await res.Send(200, json);
}

// GCC 12 reports -Wmismatched-new-delete for this coroutine: Asio allocates large frames with
// aligned_alloc and frees them with its matching operator delete, which GCC cannot pair once both
// are inlined into the frame's ramp. A false positive, silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
net::Awaitable<void> NodeService::Infer(net::Request& req, net::Response& res) {
  const auto started = std::chrono::steady_clock::now();
  auto ms_since = [&started] {
    return std::to_string(static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started).count()) / 1000.0);
  };
  const std::string id = std::to_string(req.id());
  InFlightGuard guard(in_flight_, options_.max_concurrent);
  if (!guard.admitted) {
    LogInfo(options_.component, "infer refused", {{"id", id}, {"check", "node_busy"}});
    const std::string message = "node: " + std::to_string(options_.max_concurrent) +
                                " requests are being served (the concurrency limit); try another node";
    (void)co_await res.SendError(503, "node_busy", message);
    co_return;
  }
  const std::optional<std::string_view> content_type = req.header("content-type");
  if (!content_type || *content_type != wire::kSealedRequestMediaType) {
    const std::string message =
        "node: Content-Type must be " + std::string(wire::kSealedRequestMediaType);
    (void)co_await res.SendError(415, "media_type", message);
    co_return;
  }

  // ---- Read and open the sealed request as it arrives ----
  wire::ChunkLimits limits;
  limits.max_total = options_.max_request_bytes;
  wire::SealedRequestReader reader(keys_.OpeningKeys(clock_.Now()), limits,
                                   [this](ByteView enc) { return replay_.Insert(enc, clock_.Now()); });
  bhttp::DecodeLimits decode_limits;
  decode_limits.max_content_bytes = options_.max_inner_content;
  bhttp::StreamDecoder decoder(bhttp::MessageKind::kRequest, decode_limits);
  InnerRequest inner(options_.max_inner_content);
  std::optional<Error> refusal;      // before authentication: answered in the clear
  std::optional<Error> inner_error;  // after: answered sealed
  std::vector<uint8_t> buf(16 * 1024);
  crypto::SecretBytes plain;
  uint64_t received = 0;
  // Cryptography time (util/stopwatch.h), logged with the answer for bench/e2e's split by
  // component: opening is unwrapping the DEK and decrypting the body, sealing is every chunk.
  std::chrono::microseconds open_time{0};
  std::chrono::microseconds seal_time{0};
  while (true) {
    const std::span<uint8_t> span(buf);
    Result<size_t> n = co_await req.ReadSome(span);
    if (!n.ok()) {
      // Over the listener's body limit the server answers 413 itself; otherwise the client broke off.
      LogInfo(options_.component, "infer refused", {{"id", id}, {"check", "body"},
                                                    {"error", n.error().ToString()}});
      co_return;
    }
    if (*n == 0) break;
    received += *n;
    Status pushed = OkStatus();
    {
      ScopedTime opening(open_time);
      pushed = reader.Push(ByteView(buf.data(), *n), plain);
    }
    if (!pushed.ok()) {
      refusal = std::move(pushed).error();
      break;
    }
    if (!plain.empty() && !inner_error) {
      Status decoded = decoder.Push(plain.view(), inner);
      if (!decoded.ok()) inner_error = std::move(decoded).error();
    }
    plain.Clear();
  }
  if (!refusal) {
    ScopedTime opening(open_time);
    Status finished = reader.Finish(plain);
    if (!finished.ok()) refusal = std::move(finished).error();
  }
  if (refusal) {
    const Refusal r = OuterRefusal(*refusal);
    LogInfo(options_.component, "infer refused",
            {{"id", id}, {"check", r.code}, {"in", std::to_string(received)}});
    (void)co_await res.SendError(r.status, r.code, refusal->message());
    co_return;
  }
  if (!inner_error && !plain.empty()) {
    Status decoded = decoder.Push(plain.view(), inner);
    if (!decoded.ok()) inner_error = std::move(decoded).error();
  }
  plain.Clear();
  if (!inner_error) {
    Status decoded = decoder.Finish(inner);
    if (!decoded.ok()) inner_error = std::move(decoded).error();
  }

  // ---- The request authenticated: from here every answer is sealed ----
  Bytes out;
  Result<wire::SealedResponseWriter> made = Error(ErrorCode::kInternal, "not made");
  {
    ScopedTime opening(open_time);
    made = reader.MakeResponseWriter(out);
  }
  if (!made.ok()) {
    (void)co_await res.SendError(500, "internal", made.error().message());
    co_return;
  }
  wire::SealedResponseWriter writer = std::move(made).value();
  Status set = res.SetHeader("Cache-Control", "no-store");
  (void)set;

  std::optional<InnerError> refuse_inner;
  std::string kind_name = "other";
  engine::RequestKind kind = engine::RequestKind::kChat;
  std::optional<engine::ApiRequest> api;
  const SysTime now = clock_.Now();
  if (inner_error) {
    refuse_inner = InnerError{400, "invalid_request", inner_error->message()};
  } else if (std::optional<std::string_view> date = inner.Header("date"); !date) {
    refuse_inner = InnerError{400, "missing_date", "node: the inner request has no Date field"};
  } else if (Result<std::chrono::sys_seconds> when = ParseHttpDate(*date); !when.ok()) {
    refuse_inner = InnerError{400, "invalid_date", when.error().message()};
  } else {
    const auto skew = std::chrono::abs(std::chrono::duration_cast<std::chrono::seconds>(
        now - std::chrono::time_point_cast<std::chrono::milliseconds>(*when)));
    if (skew > options_.date_window) {
      refuse_inner = InnerError{400, "stale_date",
                                "node: the inner request's Date is " + std::to_string(skew.count()) +
                                    " s from the node's clock (at most " +
                                    std::to_string(options_.date_window.count()) + " s allowed)"};
    }
  }
  if (!refuse_inner) {
    const bhttp::RequestHead& head = *inner.head();
    const std::string_view method(head.method.data(), head.method.size());
    const std::string_view path_full(head.path.data(), head.path.size());
    const std::string_view path = path_full.substr(0, path_full.find('?'));
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
      kind = path == "/v1/chat/completions" ? engine::RequestKind::kChat : engine::RequestKind::kCompletion;
      kind_name = kind == engine::RequestKind::kChat ? "chat" : "completions";
      if (method != "POST") {
        refuse_inner = InnerError{405, "method_not_allowed", "node: " + std::string(path) + " takes POST"};
      } else {
        Result<engine::ApiRequest> parsed = engine::ParseApiRequest(kind, inner.body());
        if (!parsed.ok()) {
          refuse_inner = FromEngineError(parsed.error());
        } else if (!parsed->generation.model.empty() && parsed->generation.model != engine_.info().model) {
          // The requested name is client data: it stays out of the message.
          refuse_inner = InnerError{404, "model_not_found",
                                    "node: the requested model is not served by this node (it serves '" +
                                        engine_.info().model + "')"};
        } else {
          api = std::move(parsed).value();
        }
      }
    } else if (path == "/v1/models" && method == "GET") {
      kind_name = "models";
    } else {
      refuse_inner = InnerError{404, "not_found", "node: no such inner path (the node serves "
                                                  "/v1/chat/completions, /v1/completions, /v1/models)"};
    }
  }

  std::optional<engine::Stream> stream;
  if (!refuse_inner && api) {
    Result<engine::Stream> submitted = engine_.Submit(std::move(api->generation));
    if (!submitted.ok()) {
      refuse_inner = FromEngineError(submitted.error());
    } else {
      stream.emplace(std::move(submitted).value());
    }
  }

  // Whole answers: an error, the model list.
  if (!stream) {
    uint16_t status = 200;
    std::string json;
    if (refuse_inner) {
      status = refuse_inner->status;
      json = engine::ApiErrorJson(refuse_inner->message, refuse_inner->type, "", refuse_inner->code);
    } else {
      crypto::SecretString list = "{\"object\":\"list\",\"data\":[{\"id\":";
      engine::AppendJsonString(list, engine_.info().model);
      list += ",\"object\":\"model\",\"created\":0,\"owned_by\":\"openpcc\"}]}";
      json.assign(list.data(), list.size());
    }
    Result<crypto::SecretVector> whole = WholeResponse(status, "application/json", json);
    Status sealed = OkStatus();
    {
      ScopedTime sealing(seal_time);
      sealed = whole.ok() ? writer.Finish(AsBytes(*whole), out) : Status(whole.error());
    }
    if (!sealed.ok()) {
      (void)co_await res.SendError(500, "internal", sealed.error().message());
      co_return;
    }
    LogInfo(options_.component, "infer", {{"id", id}, {"api", kind_name}, {"status", std::to_string(status)},
                                          {"check", refuse_inner ? refuse_inner->code : "-"},
                                          {"in", std::to_string(received)}, {"out", std::to_string(out.size())},
                                          {"open_us", Micros(open_time)}, {"seal_us", Micros(seal_time)},
                                          {"total_ms", ms_since()}});
    const std::string_view media = wire::kSealedResponseMediaType;
    Status started_stream = co_await res.StartStream(200, media);
    if (!started_stream.ok()) co_return;
    Status wrote = co_await res.Write(ByteView(out));
    if (!wrote.ok()) co_return;
    (void)co_await res.Finish();
    co_return;
  }

  // ---- Stream the completion ----
  const bool streaming = api->stream;
  const uint64_t response_number = next_response_id_++;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(response_number));
  engine::ResponseFormatter formatter(
      kind, std::string(kind == engine::RequestKind::kChat ? "chatcmpl-" : "cmpl-") + hex,
      engine_.info().model, clock_.NowSeconds().time_since_epoch().count(), api->include_usage);

  asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto bell = std::make_shared<Bell>(executor, 1);
  std::weak_ptr<Bell> weak_bell = bell;
  stream->SetWake([weak_bell] {
    if (auto b = weak_bell.lock()) b->try_send(net::beast::error_code{});
  });
  req.cancel_token().OnCancel([weak_bell] {
    if (auto b = weak_bell.lock()) b->try_send(net::beast::error_code{});
  });

  bhttp::StreamEncoder encoder;
  const std::string_view media = wire::kSealedResponseMediaType;
  Status head_sent = co_await res.StartStream(200, media);
  if (!head_sent.ok()) co_return;
  if (streaming) {
    // The first chunk — status, headers and the role chunk — goes out before the first token.
    bhttp::ResponseHead head;
    head.status = 200;
    head.headers.push_back({bhttp::Text("content-type"), bhttp::Text("text/event-stream")});
    Result<crypto::SecretVector> head_bytes = encoder.BeginResponse(head);
    if (!head_bytes.ok()) co_return;
    const crypto::SecretString begin = formatter.Begin();
    Result<crypto::SecretVector> first = PaddedContent(encoder, head_bytes->size(), begin);
    if (!first.ok()) co_return;
    head_bytes->insert(head_bytes->end(), first->begin(), first->end());
    Status sealed = OkStatus();
    {
      ScopedTime sealing(seal_time);
      sealed = writer.Write(AsBytes(*head_bytes), out);
    }
    if (!sealed.ok()) co_return;
    Status wrote = co_await res.Write(ByteView(out));
    out.clear();
    if (!wrote.ok()) co_return;
  } else {
    Status wrote = co_await res.Write(ByteView(out));  // the response prelude
    out.clear();
    if (!wrote.ok()) co_return;
  }

  crypto::SecretString whole_text;
  uint32_t pieces = 0;
  std::string first_token_ms = "-";
  std::optional<engine::Finish> finish;
  crypto::SecretString sse;  // deltas not yet sent; those drained with the finish go in the final chunk
  while (!finish) {
    sse.clear();
    while (std::optional<engine::StreamEvent> event = stream->TryNext()) {
      if (!event->text.empty()) {
        ++pieces;
        if (pieces == 1) first_token_ms = ms_since();
        if (streaming) {
          sse += formatter.Delta(event->text);
        } else {
          whole_text += event->text;
        }
      }
      if (event->finish) {
        finish = event->finish;
        break;
      }
    }
    if (req.cancelled()) {
      stream->Cancel();
      LogInfo(options_.component, "infer cancelled", {{"id", id}, {"pieces", std::to_string(pieces)}});
      co_return;
    }
    if (finish) break;
    if (sse.empty()) {
      co_await bell->async_receive(net::kAsTuple);
      continue;
    }
    Result<crypto::SecretVector> chunk = PaddedContent(encoder, 0, sse);
    Status sealed = OkStatus();
    if (chunk.ok()) {
      ScopedTime sealing(seal_time);
      sealed = writer.Write(AsBytes(*chunk), out);
    }
    if (!chunk.ok() || !sealed.ok()) {
      stream->Cancel();
      co_return;
    }
    Status wrote = co_await res.Write(ByteView(out));
    out.clear();
    if (!wrote.ok()) {
      stream->Cancel();
      co_return;
    }
  }

  // The final chunk: the rest of the stream (or the whole response), authenticated as final.
  crypto::SecretVector final_plain;
  std::string status_text = "200";
  if (streaming) {
    crypto::SecretString tail = std::move(sse);
    if (finish->reason == engine::FinishReason::kError) {
      const std::string err = formatter.StreamError(finish->error ? finish->error->message() : "engine error");
      tail.append(err.data(), err.size());
      status_text = "stream_error";
    } else {
      tail += formatter.End(*finish);
    }
    Result<crypto::SecretVector> content = encoder.Content(AsBytes(tail));
    bhttp::Padding padding;
    padding.to_multiple = kResponsePadding;
    Result<crypto::SecretVector> end = encoder.End(bhttp::Fields{}, padding);
    if (!content.ok() || !end.ok()) co_return;
    final_plain = std::move(*content);
    final_plain.insert(final_plain.end(), end->begin(), end->end());
  } else {
    const bool failed = finish->reason == engine::FinishReason::kError;
    const Error err = finish->error.value_or(Error(ErrorCode::kInternal, "engine error"));
    const crypto::SecretString body =
        failed ? crypto::SecretString() : formatter.Whole(whole_text, *finish);
    Result<crypto::SecretVector> whole =
        failed ? WholeResponse(500, "application/json",
                               engine::ApiErrorJson(err.message(), "server_error", "", "engine_error"))
               : WholeResponse(200, "application/json", std::string_view(body.data(), body.size()));
    if (failed) status_text = "500";
    if (!whole.ok()) co_return;
    final_plain = std::move(*whole);
  }
  Status sealed_final = OkStatus();
  {
    ScopedTime sealing(seal_time);
    sealed_final = writer.Finish(AsBytes(final_plain), out);
  }
  if (!sealed_final.ok()) co_return;
  Status wrote = co_await res.Write(ByteView(out));
  if (!wrote.ok()) co_return;
  (void)co_await res.Finish();
  LogInfo(options_.component, "infer",
          {{"id", id}, {"api", kind_name}, {"status", status_text},
           {"finish", std::string(engine::FinishReasonName(finish->reason))},
           {"prompt_tokens", std::to_string(finish->usage.prompt_tokens)},
           {"completion_tokens", std::to_string(finish->usage.completion_tokens)},
           {"in", std::to_string(received)}, {"open_us", Micros(open_time)}, {"seal_us", Micros(seal_time)},
           {"ttft_ms", first_token_ms}, {"total_ms", ms_since()}});
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace openpcc::services::node
