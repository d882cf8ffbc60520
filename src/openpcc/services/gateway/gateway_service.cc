#include "openpcc/services/gateway/gateway_service.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/crypto/random.h"
#include "openpcc/net/server.h"
#include "openpcc/net/url.h"
#include "openpcc/services/await_callback.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/redeemer.h"
#include "openpcc/tokens/sqlite_spent_store.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/http_date.h"
#include "openpcc/util/log.h"
#include "openpcc/util/stopwatch.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"

// GCC 12 reports -Wmismatched-new-delete for large coroutine frames: Asio allocates them with
// aligned_alloc and frees them with its matching operator delete, which GCC cannot pair once both
// are inlined into the frame's ramp (the same false positive node_service.cc silences). Every
// handler here is a coroutine, so it is silenced for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace openpcc::services::gateway {
namespace {

namespace json = boost::json;
namespace bhttp = wire::bhttp;

constexpr std::string_view kOhttpRequest = "message/ohttp-req";
constexpr std::string_view kOhttpResponse = "message/ohttp-res";
constexpr std::string_view kChunkedRequest = "message/ohttp-chunked-req";
constexpr std::string_view kChunkedResponse = "message/ohttp-chunked-res";
constexpr size_t kMaxNodeErrorBody = 64 * 1024;
constexpr size_t kMaxLogFile = 1 << 20;
constexpr size_t kMaxRegistrationBytes = attest::kMaxBundleBytes + 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type without parameters, lower case.
std::string MediaType(std::optional<std::string_view> value) {
  if (!value) return "";
  std::string_view v = *value;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return Lower(v);
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return net::ErrorJson("invalid_request_error", code, message);
}

int64_t Unix(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

}  // namespace

// ---- the inner request and the sinks that answer it inside OHTTP --------------------------------

struct GatewayService::InnerRequest {
  uint64_t id = 0;
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names; first value wins
  Bytes content;  // ciphertext for /v1/infer (sealed), small JSON otherwise
  std::chrono::microseconds open_time{0};  // OHTTP decapsulation (util/stopwatch.h), for the log

  std::optional<std::string_view> header(std::string_view name) const {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

// Writes the inner response: Begin, Content*, End (or Whole). A sink that is dropped without End
// leaves the outer response unfinished, so the client sees a truncated stream.
class GatewayService::Sink {
 public:
  virtual ~Sink() = default;
  virtual net::Awaitable<Status> Begin(unsigned status, std::string content_type) = 0;
  virtual net::Awaitable<Status> Content(ByteView piece) = 0;
  virtual net::Awaitable<Status> End() = 0;

  net::Awaitable<Status> Whole(unsigned status, std::string content_type, std::string body) {
    Status begun = co_await Begin(status, std::move(content_type));
    if (!begun.ok()) co_return begun;
    Status written = co_await Content(AsBytes(body));
    if (!written.ok()) co_return written;
    co_return co_await End();
  }
  net::Awaitable<Status> Error(unsigned status, std::string code, std::string message) {
    std::string body = ErrorBody(code, message);
    co_return co_await Whole(status, "application/json", std::move(body));
  }
  // Time spent sealing the response so far (util/stopwatch.h), for the log.
  std::chrono::microseconds seal_time() const { return seal_time_; }

 protected:
  std::chrono::microseconds seal_time_{0};
};

namespace {

bhttp::ResponseHead MakeHead(unsigned status, const std::string& content_type) {
  bhttp::ResponseHead head;
  head.status = static_cast<uint16_t>(status);
  bhttp::Field field;
  field.name = "content-type";
  field.value = bhttp::Text(content_type.begin(), content_type.end());
  head.headers.push_back(std::move(field));
  return head;
}

// message/ohttp-chunked-res: the inner response as indeterminate-length BHTTP, each piece its own
// OHTTP chunk, flushed at once.
class ChunkedSink final : public GatewayService::Sink {
 public:
  ChunkedSink(net::Response& res, wire::ChunkedRequestReader::ResponseWriter writer, Bytes prefix)
      : res_(res), writer_(std::move(writer)), pending_(std::move(prefix)) {}

  net::Awaitable<Status> Begin(unsigned status, std::string content_type) override {
    Result<crypto::SecretVector> head = encoder_.BeginResponse(MakeHead(status, content_type));
    if (!head.ok()) co_return std::move(head).error();
    // draft-ietf-ohai-chunked-ohttp: the response is incremental; intermediaries must not buffer it.
    if (Status h = res_.SetHeader("Incremental", "?1"); !h.ok()) co_return h;
    Status started = co_await res_.StartStream(200, kChunkedResponse);
    if (!started.ok()) co_return started;
    co_return co_await Emit(ByteView(head->data(), head->size()), false);
  }
  net::Awaitable<Status> Content(ByteView piece) override {
    if (piece.empty()) co_return OkStatus();
    Result<crypto::SecretVector> bytes = encoder_.Content(piece);
    if (!bytes.ok()) co_return std::move(bytes).error();
    co_return co_await Emit(ByteView(bytes->data(), bytes->size()), false);
  }
  net::Awaitable<Status> End() override {
    bhttp::Fields trailers;
    Result<crypto::SecretVector> bytes = encoder_.End(trailers);
    if (!bytes.ok()) co_return std::move(bytes).error();
    Status last = co_await Emit(ByteView(bytes->data(), bytes->size()), true);
    if (!last.ok()) co_return last;
    co_return co_await res_.Finish();
  }

 private:
  net::Awaitable<Status> Emit(ByteView plaintext, bool final) {
    Bytes out = std::move(pending_);
    pending_.clear();
    Status sealed = OkStatus();
    {
      ScopedTime sealing(seal_time_);
      sealed = final ? writer_.Finish(plaintext, out) : writer_.Write(plaintext, out);
    }
    if (!sealed.ok()) co_return sealed;
    co_return co_await res_.Write(ByteView(out));
  }

  net::Response& res_;
  wire::ChunkedRequestReader::ResponseWriter writer_;
  bhttp::StreamEncoder encoder_;
  Bytes pending_;  // the response nonce, sent with the first chunk
};

// message/ohttp-res: the whole inner response (known-length BHTTP), sealed once at End.
class WholeSink final : public GatewayService::Sink {
 public:
  WholeSink(net::Response& res, wire::OhttpServerContext& context) : res_(res), context_(context) {}

  net::Awaitable<Status> Begin(unsigned status, std::string content_type) override {
    status_ = status;
    content_type_ = std::move(content_type);
    co_return OkStatus();
  }
  net::Awaitable<Status> Content(ByteView piece) override {
    if (body_.size() + piece.size() > kResponseChunkLimitsTotal) {
      co_return openpcc::Error(ErrorCode::kOutOfRange, "gateway: response too large for message/ohttp-res");
    }
    body_.insert(body_.end(), piece.begin(), piece.end());
    co_return OkStatus();
  }
  net::Awaitable<Status> End() override {
    bhttp::Response response;
    static_cast<bhttp::ResponseHead&>(response) = MakeHead(status_, content_type_);
    response.content.assign(body_.begin(), body_.end());
    Result<crypto::SecretVector> encoded = bhttp::EncodeResponse(response);
    if (!encoded.ok()) co_return std::move(encoded).error();
    Result<Bytes> sealed = openpcc::Error(ErrorCode::kInternal, "not sealed");
    {
      ScopedTime sealing(seal_time_);
      sealed = context_.SealResponse(ByteView(encoded->data(), encoded->size()));
    }
    if (!sealed.ok()) co_return std::move(sealed).error();
    std::string_view body = AsChars(*sealed);
    co_return co_await res_.Send(200, body, kOhttpResponse);
  }

 private:
  static constexpr size_t kResponseChunkLimitsTotal = 16 * 1024 * 1024;
  net::Response& res_;
  wire::OhttpServerContext& context_;
  unsigned status_ = 200;
  std::string content_type_;
  crypto::SecretVector body_;
};

}  // namespace

// ---- metrics ------------------------------------------------------------------------------------

std::string GatewayMetrics::Prometheus(size_t nodes, size_t healthy, uint64_t epoch) const {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(value) + "\n";
  };
  auto gauge = [&out](const char* name, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
           std::to_string(value) + "\n";
  };
  counter("openpcc_gateway_ohttp_requests_total", "OHTTP requests received.", ohttp_requests);
  counter("openpcc_gateway_ohttp_errors_total", "OHTTP requests refused before decapsulation succeeded.", ohttp_errors);
  counter("openpcc_gateway_inner_requests_total", "Inner requests decoded.", inner_requests);
  counter("openpcc_gateway_infer_requests_total", "Inner /v1/infer requests.", infer_requests);
  counter("openpcc_gateway_infer_completed_total", "Inference streams forwarded to their end.", infer_ok);
  counter("openpcc_gateway_infer_failovers_total", "Nodes that failed before their first byte.", infer_failovers);
  counter("openpcc_gateway_infer_no_candidate_total", "Requests with no routable candidate.", infer_no_candidate);
  counter("openpcc_gateway_infer_truncated_total", "Streams a node broke off after its first byte.", infer_truncated);
  counter("openpcc_gateway_tokens_redeemed_total", "Tokens redeemed.", tokens_redeemed);
  counter("openpcc_gateway_tokens_refused_total", "Tokens refused (any check, including double spends).", tokens_refused);
  counter("openpcc_gateway_registrations_total", "Accepted node registrations (including keep-alives).", registrations);
  counter("openpcc_gateway_registrations_refused_total", "Refused node registrations.", registrations_refused);
  counter("openpcc_gateway_deregistrations_total", "Node deregistrations.", deregistrations);
  counter("openpcc_gateway_directories_published_total", "Directories signed and logged.", directories_published);
  counter("openpcc_gateway_directory_publish_failures_total", "Failed directory publications.", publish_failures);
  counter("openpcc_gateway_health_check_failures_total", "Failed node health checks.", health_failures);
  gauge("openpcc_gateway_registered_nodes", "Registered node keys.", nodes);
  gauge("openpcc_gateway_healthy_nodes", "Registered node keys that are healthy.", healthy);
  gauge("openpcc_gateway_directory_epoch", "Epoch of the published directory.", epoch);
  return out;
}

// ---- construction -------------------------------------------------------------------------------

GatewayService::GatewayService(GatewayConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {
  Bytes seed(8);
  crypto::RandomBytes(seed);
  uint64_t s = 0;
  for (uint8_t b : seed) s = (s << 8) | b;
  rng_.seed(s);
}

GatewayService::~GatewayService() { Stop(); }

Result<std::unique_ptr<GatewayService>> GatewayService::Create(GatewayConfig config, const Clock& clock) {
  if (config.ohttp_keys.empty() || config.ohttp_keys.size() > 2) {
    return Error(ErrorCode::kInvalidArgument, "gateway: expected one or two OHTTP keys");
  }
  if (!config.directory_key) return Error(ErrorCode::kInvalidArgument, "gateway: no directory key");
  if (config.credential.empty()) return Error(ErrorCode::kInvalidArgument, "gateway: no registration credential");
  if (config.epoch_length.count() <= 0) return Error(ErrorCode::kInvalidArgument, "gateway: epoch length must be positive");
  if (config.k < 1 || config.k > wire::kMaxSealedCandidates) {
    return Error(ErrorCode::kInvalidArgument, "gateway: k must be 1 to 8");
  }
  std::unique_ptr<GatewayService> service(new GatewayService(std::move(config), clock));
  GatewayConfig& c = service->config_;
  std::error_code ec;
  std::filesystem::create_directories(c.state_dir, ec);
  if (ec) return Error(ErrorCode::kFailedPrecondition, "gateway: cannot create --state-dir " + c.state_dir);
  std::filesystem::permissions(c.state_dir, std::filesystem::perms::owner_all, ec);
  if (c.spent_store) {
    service->spent_ = c.spent_store;
  } else {
    tokens::SqliteSpentStoreOptions store_options;
    store_options.path = (std::filesystem::path(c.state_dir) / "spent-tokens.db").string();
    OPENPCC_ASSIGN_OR_RETURN(auto store, tokens::SqliteSpentStore::Open(store_options));
    service->spent_ = std::move(store);
  }

  // The fixed TokenChallenge comes from the issuer once, at start: it must not change while the
  // gateway runs (DESIGN §2.3), so later directory fetches only refresh the keys.
  OPENPCC_ASSIGN_OR_RETURN(auto issuer, tokens::IssuerClient::Create(c.issuer_url, crypto::SecretString(), c.node_client));
  Result<tokens::IssuerDirectory> dir = issuer->FetchDirectory();
  if (!dir.ok()) return Error(dir.error().code(), "gateway: issuer directory from --issuer: " + dir.error().message());
  if (dir->token_challenge.empty()) {
    return Error(ErrorCode::kFailedPrecondition, "gateway: the issuer directory publishes no openpcc-token-challenge");
  }
  service->challenge_ = dir->token_challenge;
  service->redeemer_ = std::make_unique<tokens::Redeemer>(service->challenge_, *service->spent_);
  OPENPCC_ASSIGN_OR_RETURN(auto keys, tokens::VerificationKeysFromDirectory(*dir));
  service->redeemer_->SetKeys(std::move(keys));
  service->issuer_ = std::move(issuer);
  OPENPCC_ASSIGN_OR_RETURN(service->log_, LogClient::Create(c.log_url, c.node_client));
  return service;
}

Status GatewayService::Start(boost::asio::any_io_executor executor) {
  OPENPCC_ASSIGN_OR_RETURN(client_, net::Client::Create(executor, config_.node_client));
  OPENPCC_ASSIGN_OR_RETURN(health_client_, net::BlockingClient::Create(HealthClientOptions()));
  start_time_ = clock_.NowSeconds();
  thread_ = std::thread([this] { Run(); });
  return OkStatus();
}

net::ClientOptions GatewayService::HealthClientOptions() const {
  net::ClientOptions o = config_.node_client;
  o.connect_timeout = std::chrono::milliseconds(2'000);
  o.total_timeout = std::chrono::milliseconds(5'000);
  o.idle_timeout = std::chrono::milliseconds(5'000);
  return o;
}

void GatewayService::Stop() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GatewayService::ReleaseClient() { client_.reset(); }

std::optional<directory::DirectoryResponse> GatewayService::CurrentResponse() const {
  std::lock_guard lock(mu_);
  if (!current_) return std::nullopt;
  return current_->response;
}

// ---- epochs and health ----------------------------------------------------------------------------

void GatewayService::Run() {
  auto next_health = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock lock(run_mu_);
      run_cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; });
      if (stop_) return;
    }
    const std::chrono::sys_seconds now = clock_.NowSeconds();
    const uint64_t epoch = EpochAt(now, config_.epoch_length);
    bool due = false;
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = current_ == nullptr;
      due = first ? now - start_time_ >= config_.startup_wait : current_->directory.epoch != epoch;
    }
    if (first && !due && config_.startup_nodes > 0) {
      const int64_t start = EpochStart(epoch, config_.epoch_length);
      for (const auto& [model, nodes] : registry_.ModelsFor(start, start + config_.epoch_length.count())) {
        due = due || nodes.size() >= config_.startup_nodes;
      }
    }
    if (due) {
      const auto started = std::chrono::steady_clock::now();
      Status published = Publish(epoch);
      if (published.ok()) {
        ++metrics_.directories_published;
        LogInfo(config_.component, "directory published",
                {{"epoch", std::to_string(epoch)},
                 {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count())}});
      } else {
        ++metrics_.publish_failures;
        LogWarning(config_.component, "directory publication failed; retrying",
                   {{"epoch", std::to_string(epoch)}, {"error", published.error().ToString()}});
      }
    }
    if (std::chrono::steady_clock::now() >= next_health) {
      CheckHealth();
      next_health = std::chrono::steady_clock::now() + config_.health_interval;
    }
    registry_.DropExpired(now, config_.node_grace);
    (void)redeemer_->DropExpired(now);
  }
}

Status GatewayService::Publish(uint64_t epoch) {
  // Token keys: the issuer's current ones (at most two valid at a time).
  OPENPCC_ASSIGN_OR_RETURN(tokens::IssuerDirectory issuer_dir, issuer_->FetchDirectory());
  if (issuer_dir.token_challenge != challenge_) {
    return Error(ErrorCode::kFailedPrecondition, "gateway: the issuer's TokenChallenge changed; restart to adopt it");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto verification_keys, tokens::VerificationKeysFromDirectory(issuer_dir));
  redeemer_->SetKeys(std::move(verification_keys));

  directory::NodeDirectory d;
  d.epoch = epoch;
  d.not_before = EpochStart(epoch, config_.epoch_length);
  d.not_after = d.not_before + config_.epoch_length.count();
  d.k = config_.k;
  d.service = config_.service;
  d.token_challenge = challenge_;
  for (const tokens::DirectoryTokenKey& key : issuer_dir.token_keys) {
    if (key.token_type != 2 || d.token_keys.size() == directory::kMaxDirectoryTokenKeys) continue;
    directory::DirectoryTokenKey k;
    k.token_type = key.token_type;
    k.token_key = key.token_key;
    k.not_before = key.not_before.value_or(0);
    k.redeem_until = key.redeem_until.value_or(d.not_after);
    if (k.redeem_until <= k.not_before) continue;
    d.token_keys.push_back(std::move(k));
  }
  for (const wire::GatewayKey& key : config_.ohttp_keys) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes config, wire::EncodeKeyConfig(key.config));
    d.ohttp_configs.push_back(std::move(config));
  }
  d.models = registry_.ModelsFor(d.not_before, d.not_after);

  OPENPCC_ASSIGN_OR_RETURN(Bytes entry, directory::SignDirectory(d, *config_.directory_key));
  std::vector<Bytes> entries{entry};
  OPENPCC_ASSIGN_OR_RETURN(AddResponse added, log_->Add(entries));
  if (added.inclusion_proofs.size() != 1) {
    return Error(ErrorCode::kMalformed, "gateway: the log answered /add without one inclusion proof");
  }
  auto published = std::make_shared<Published>();
  published->directory = std::move(d);
  published->response.entry = std::move(entry);
  published->response.log_index = added.first_index;
  published->response.inclusion_proof = added.inclusion_proofs[0];
  published->response.checkpoint = added.checkpoint;
  std::lock_guard lock(mu_);
  previous_ = std::move(current_);
  current_ = std::move(published);
  return OkStatus();
}

void GatewayService::CheckHealth() {
  std::map<std::string, bool> by_url;
  for (const NodeRegistration& node : registry_.All()) by_url.emplace(node.url, false);
  for (auto& [url, healthy] : by_url) {
    net::ClientRequest request("GET", url + "/healthz");
    Result<net::ClientResponse> r = health_client_->Fetch(request, "", 4096);
    healthy = r.ok() && r->status == 200;
    if (!healthy) {
      ++metrics_.health_failures;
      // Which step failed (connect, TLS verification, ...) is what the operator needs to fix it.
      LogWarning(config_.component, "node health check failed",
                 {{"status", r.ok() ? std::to_string(r->status) : std::string("unreachable")},
                  {"error", r.ok() ? std::string("-") : r.error().message()}});
    }
  }
  for (const NodeRegistration& node : registry_.All()) {
    auto it = by_url.find(node.url);
    if (it != by_url.end()) registry_.SetHealthy(node.node_id, it->second);
  }
}

// ---- routers ----------------------------------------------------------------------------------------

net::Router GatewayService::PublicRouter() {
  net::Router router;
  router.Handle("GET", "/ohttp-keys", [this](net::Request&, net::Response& res) -> net::Awaitable<void> {
    std::vector<wire::KeyConfig> configs;
    for (const wire::GatewayKey& key : config_.ohttp_keys) configs.push_back(key.config);
    Result<Bytes> list = wire::EncodeKeyConfigList(configs);
    if (!list.ok()) {
      (void)co_await res.SendError(500, "ohttp_keys", "gateway: cannot encode the OHTTP key configs");
      co_return;
    }
    Status header = res.SetHeader("Cache-Control", "max-age=300");
    (void)header;
    std::string_view body = AsChars(*list);
    (void)co_await res.Send(200, body, "application/ohttp-keys");
  });
  auto ohttp = [this](net::Request& req, net::Response& res) -> net::Awaitable<void> { co_await Ohttp(req, res); };
  router.Handle("POST", "/", ohttp);
  router.Handle("POST", "/gateway", ohttp);
  return router;
}

net::Router GatewayService::OperatorRouter() {
  net::Router router;
  router.Handle("POST", "/v1/nodes/register",
                [this](net::Request& req, net::Response& res) -> net::Awaitable<void> { co_await Register(req, res); });
  router.HandlePrefix("DELETE", "/v1/nodes/",
                      [this](net::Request& req, net::Response& res) -> net::Awaitable<void> { co_await Deregister(req, res); });
  router.Handle("GET", "/metrics", [this](net::Request&, net::Response& res) -> net::Awaitable<void> {
    size_t nodes = 0;
    size_t healthy = 0;
    for (const NodeRegistration& n : registry_.All()) {
      ++nodes;
      healthy += n.healthy ? 1 : 0;
    }
    uint64_t epoch = 0;
    {
      std::lock_guard lock(mu_);
      if (current_) epoch = current_->directory.epoch;
    }
    std::string body = metrics_.Prometheus(nodes, healthy, epoch);
    (void)co_await res.Send(200, body, "text/plain; version=0.0.4");
  });
  return router;
}

// ---- OHTTP --------------------------------------------------------------------------------------------

net::Awaitable<void> GatewayService::Ohttp(net::Request& req, net::Response& res) {
  ++metrics_.ohttp_requests;
  const std::string type = MediaType(req.header("Content-Type"));
  const bool chunked = type == kChunkedRequest;
  if (!chunked && type != kOhttpRequest) {
    ++metrics_.ohttp_errors;
    (void)co_await res.SendError(415, "media_type", "gateway: expected message/ohttp-req or message/ohttp-chunked-req");
    co_return;
  }
  Result<std::string> body = co_await req.ReadAll(config_.max_inner_request_bytes + 64 * 1024);
  if (!body.ok()) co_return;  // the server answered (413) or the client went away

  InnerRequest inner;
  inner.id = req.id();
  crypto::SecretBytes plaintext;
  std::optional<wire::OhttpGatewayRequest> whole;
  std::optional<wire::ChunkedRequestReader> reader;
  Status opened = OkStatus();
  const Stopwatch opening;
  if (chunked) {
    wire::ChunkLimits limits;
    limits.max_total = config_.max_inner_request_bytes;
    reader.emplace(config_.ohttp_keys, limits);
    opened = reader->Push(AsBytes(*body), plaintext);
    if (opened.ok()) opened = reader->Finish(plaintext);
  } else {
    Result<wire::OhttpGatewayRequest> decapsulated = wire::DecapsulateRequest(config_.ohttp_keys, AsBytes(*body));
    if (decapsulated.ok()) {
      whole.emplace(std::move(decapsulated).value());
      plaintext = whole->request.Clone();
    } else {
      opened = std::move(decapsulated).error();
    }
  }
  inner.open_time = opening.Elapsed();
  if (!opened.ok()) {
    ++metrics_.ohttp_errors;
    LogInfo(config_.component, "ohttp request refused",
            {{"id", std::to_string(req.id())}, {"error", std::string(ErrorCodeName(opened.error().code()))}});
    const unsigned status = opened.error().code() == ErrorCode::kUnknownKey ? 422 : 400;
    std::string message = "gateway: " + opened.error().message();
    (void)co_await res.SendError(status, "ohttp", message);
    co_return;
  }

  std::unique_ptr<Sink> sink;
  if (chunked) {
    Bytes prefix;
    Result<wire::ChunkedRequestReader::ResponseWriter> writer = reader->MakeResponseWriter(prefix);
    if (!writer.ok()) {
      (void)co_await res.SendError(500, "ohttp", "gateway: cannot start the chunked response");
      co_return;
    }
    sink = std::make_unique<ChunkedSink>(res, std::move(writer).value(), std::move(prefix));
  } else {
    sink = std::make_unique<WholeSink>(res, whole->context);
  }

  bhttp::DecodeLimits limits;
  limits.max_content_bytes = config_.max_inner_request_bytes;
  Result<bhttp::Request> decoded = bhttp::DecodeRequest(plaintext.view(), limits);
  if (!decoded.ok()) {
    std::string message = "gateway: inner request: " + decoded.error().message();
    (void)co_await sink->Error(400, "bhttp", message);
    co_return;
  }
  ++metrics_.inner_requests;
  inner.method = std::string(decoded->method.begin(), decoded->method.end());
  inner.path = std::string(decoded->path.begin(), decoded->path.end());
  for (const bhttp::Field& f : decoded->headers) {
    inner.headers.emplace(Lower(std::string_view(f.name.data(), f.name.size())), std::string(f.value.begin(), f.value.end()));
  }
  inner.content.assign(decoded->content.begin(), decoded->content.end());
  co_await Dispatch(inner, *sink);
}

net::Awaitable<void> GatewayService::Dispatch(InnerRequest& inner, Sink& sink) {
  // Every inner request carries Date, within the window of our clock (DESIGN §2.1).
  std::optional<std::string_view> date = inner.header("date");
  if (!date) {
    (void)co_await sink.Error(400, "missing_date", "gateway: the inner request has no Date field");
    co_return;
  }
  Result<std::chrono::sys_seconds> when = ParseHttpDate(*date);
  const std::chrono::sys_seconds now = clock_.NowSeconds();
  if (!when.ok() || *when > now + config_.date_window || *when < now - config_.date_window) {
    std::string message = "gateway: the inner request's Date is not within " + std::to_string(config_.date_window.count()) +
                          " s of the gateway's clock";
    (void)co_await sink.Error(400, "stale_date", message);
    co_return;
  }
  std::string_view path = std::string_view(inner.path).substr(0, inner.path.find('?'));
  if (inner.method == "POST" && path == "/v1/infer") {
    co_await Infer(inner, sink);
  } else if (inner.method == "POST" && path == "/v1/attest") {
    co_await AttestInner(inner, sink);
  } else if (inner.method == "GET" && (path == "/v1/tlog/checkpoint" || path.starts_with("/v1/tlog/tile/"))) {
    co_await LogProxy(inner, sink);
  } else if (inner.method == "GET" && (path == "/v1/models" || path == "/v1/directory")) {
    std::shared_ptr<const Published> current;
    {
      std::lock_guard lock(mu_);
      current = current_;
    }
    if (!current) {
      (void)co_await sink.Error(503, "no_directory", "gateway: no directory has been published yet");
      co_return;
    }
    if (path == "/v1/directory") {
      directory::DirectoryResponse response = current->response;
      response.bundles = registry_.BundlesFor(current->directory);
      std::string body = response.Encode();
      (void)co_await sink.Whole(200, "application/json", std::move(body));
    } else {
      json::array data;
      for (const auto& [name, nodes] : current->directory.models) {
        data.push_back(json::object{{"id", name}, {"object", "model"}, {"owned_by", "openpcc"},
                                    {"nodes", nodes.size()}});
      }
      std::string body = json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
      (void)co_await sink.Whole(200, "application/json", std::move(body));
    }
  } else {
    std::string message = "gateway: no inner route " + inner.method + " " + std::string(path);
    (void)co_await sink.Error(404, "not_found", message);
  }
}

net::Awaitable<Status> GatewayService::RedeemDecided(InnerRequest& inner, std::function<void(Status)> durable) {
  auto refuse = [&](Error error) -> Status {
    ++metrics_.tokens_refused;
    durable(error);
    return error;
  };
  std::optional<std::string_view> authorization = inner.header("authorization");
  if (!authorization) {
    co_return refuse(Error(ErrorCode::kAuthenticationFailed, "token: the inner request has no Authorization: PrivateToken"));
  }
  Result<Bytes> token = tokens::ParseAuthorization(*authorization);
  if (!token.ok()) co_return refuse(Error(token.error().code(), "token: " + token.error().message()));
  const std::chrono::sys_seconds now = clock_.NowSeconds();
  Bytes token_bytes = std::move(token).value();
  Status decided = co_await AwaitCallback<Status>([&](std::function<void(Status)> done) {
    redeemer_->RedeemTwoPhase(token_bytes, now, std::move(done), std::move(durable));
  });
  if (decided.ok()) {
    ++metrics_.tokens_redeemed;
  } else {
    ++metrics_.tokens_refused;
  }
  co_return decided;
}

net::Awaitable<Status> GatewayService::Redeem(InnerRequest& inner) {
  Deferred<Status> durable(co_await net::asio::this_coro::executor);
  Status decided = co_await RedeemDecided(inner, durable.Resolver());
  if (!decided.ok()) co_return decided;
  co_return co_await durable.Get();
}

namespace {

std::pair<unsigned, std::string> TokenRefusal(const openpcc::Error& error) {
  if (error.code() == ErrorCode::kReplay) return {401, "token_spent"};
  return {401, "token"};
}

}  // namespace

net::Awaitable<void> GatewayService::Infer(InnerRequest& inner, Sink& sink) {
  ++metrics_.infer_requests;
  const Stopwatch started;
  std::shared_ptr<const Published> current;
  std::shared_ptr<const Published> previous;
  {
    std::lock_guard lock(mu_);
    current = current_;
    previous = previous_;
  }
  if (!current) {
    (void)co_await sink.Error(503, "no_directory", "gateway: no directory has been published yet");
    co_return;
  }
  Result<std::vector<Bytes>> candidates = SealedCandidates(inner.content);
  if (!candidates.ok()) {
    std::string message = "gateway: " + candidates.error().message();
    (void)co_await sink.Error(400, "sealed_request", message);
    co_return;
  }
  // DESIGN §2.3: the token is spent before routing: its insert-if-absent into the spent-token store
  // has run (a second spend of it is refused from now on). Its fsync overlaps the node's work, and
  // no byte of the node's answer goes out before the spend is durable (docs/tokens.md).
  const Stopwatch redeeming;
  Deferred<Status> durable(co_await net::asio::this_coro::executor);
  Status redeemed = co_await RedeemDecided(inner, durable.Resolver());
  const std::chrono::microseconds redeem_time = redeeming.Elapsed();
  std::chrono::microseconds spend_wait{0};  // waiting for the durable spend after the node's first byte
  if (!redeemed.ok()) {
    auto [status, code] = TokenRefusal(redeemed.error());
    LogInfo(config_.component, "token refused",
            {{"id", std::to_string(inner.id)}, {"error", std::string(ErrorCodeName(redeemed.error().code()))}});
    std::string message = "gateway: " + redeemed.error().message();
    (void)co_await sink.Error(status, code, message);
    co_return;
  }
  std::vector<NodeRegistration> routable;
  {
    std::vector<const directory::NodeDirectory*> directories{&current->directory};
    if (previous) directories.push_back(&previous->directory);
    std::lock_guard lock(mu_);
    routable = RoutableCandidates(*candidates, directories, registry_, rng_);
  }
  if (routable.empty()) {
    ++metrics_.infer_no_candidate;
    (void)co_await sink.Error(503, "no_candidate",
                              "gateway: none of the request's candidates is a listed, registered and healthy node");
    co_return;
  }

  for (const NodeRegistration& node : routable) {
    const Stopwatch to_node;
    net::Headers headers{{"Content-Type", std::string(wire::kSealedRequestMediaType)}};
    net::ClientRequest request("POST", node.url + "/v1/infer", std::move(headers));
    Result<net::ClientExchange> exchange = co_await client_->Start(std::move(request), inner.content.size());
    bool failed = !exchange.ok();
    if (!failed) {
      Status sent = co_await exchange->Write(ByteView(inner.content));
      if (sent.ok()) sent = co_await exchange->FinishRequest();
      failed = !sent.ok();
    }
    Result<net::ResponseHead> head = Error(ErrorCode::kInternal, "not read");
    if (!failed) {
      head = co_await exchange->ReadResponseHead();
      failed = !head.ok() || head->status >= 500 || head->status == 421;
    }
    Bytes first(16 * 1024);
    size_t first_size = 0;
    if (!failed && head->status == 200) {
      Result<size_t> n = co_await exchange->ReadSome(first);
      failed = !n.ok();
      if (n.ok()) first_size = *n;
    }
    const std::chrono::microseconds node_first_byte = to_node.Elapsed();
    const std::chrono::microseconds before_node = started.Elapsed() - node_first_byte;
    if (!failed) {
      const Stopwatch waiting;
      Status spend = co_await durable.Get();
      spend_wait = waiting.Elapsed();
      if (!spend.ok()) {
        // Nothing was released; dropping the exchange cancels the node's work.
        LogWarning(config_.component, "token spend not durable",
                   {{"id", std::to_string(inner.id)}, {"error", std::string(ErrorCodeName(spend.error().code()))}});
        (void)co_await sink.Error(503, "token_store", "gateway: the token's spend could not be recorded durably; retry");
        co_return;
      }
    }
    if (failed) {
      ++metrics_.infer_failovers;
      if (!exchange.ok() || !head.ok()) registry_.SetHealthy(node.node_id, false);
      LogInfo(config_.component, "node failed before its first byte; trying another candidate",
              {{"id", std::to_string(inner.id)},
               {"status", head.ok() ? std::to_string(head->status) : std::string("unreachable")}});
      continue;
    }
    if (head->status != 200) {
      // The node refused in the clear (sealed_request, replay, ...): pass its answer on.
      Result<std::string> error_body = co_await exchange->ReadAll(kMaxNodeErrorBody);
      std::string text = error_body.ok() ? std::move(error_body).value() : ErrorBody("node", "the node refused");
      (void)co_await sink.Whole(head->status, "application/json", std::move(text));
      co_return;
    }
    Status ok = co_await sink.Begin(200, std::string(wire::kSealedResponseMediaType));
    uint64_t forwarded = 0;
    if (ok.ok() && first_size > 0) {
      ok = co_await sink.Content(ByteView(first).first(first_size));
      forwarded += first_size;
    }
    while (ok.ok() && first_size > 0) {
      Result<size_t> n = co_await exchange->ReadSome(first);
      if (!n.ok()) {
        // Mid-stream failure: end the outer stream without its final chunk (truncated).
        ++metrics_.infer_truncated;
        LogWarning(config_.component, "node broke off the stream",
                   {{"id", std::to_string(inner.id)}, {"bytes", std::to_string(forwarded)}});
        co_return;
      }
      if (*n == 0) break;
      ok = co_await sink.Content(ByteView(first).first(*n));
      forwarded += *n;
    }
    if (!ok.ok()) co_return;  // the client went away or is gone: nothing more to send
    Status ended = co_await sink.End();
    if (ended.ok()) ++metrics_.infer_ok;
    LogInfo(config_.component, "infer forwarded",
            {{"id", std::to_string(inner.id)},
             {"in", std::to_string(inner.content.size())},
             {"out", std::to_string(forwarded)},
             // Durations for bench/e2e's split by component: OHTTP opening, token redemption,
             // the rest of the work before the node, the node's first byte, response sealing.
             {"open_us", Micros(inner.open_time)},
             {"redeem_us", Micros(redeem_time)},
             {"spend_wait_us", Micros(spend_wait)},
             {"before_node_us", Micros(before_node)},
             {"node_first_byte_us", Micros(node_first_byte)},
             {"seal_us", Micros(sink.seal_time())},
             {"ms", std::to_string(started.Elapsed().count() / 1000)}});
    co_return;
  }
  ++metrics_.infer_no_candidate;
  (void)co_await sink.Error(502, "nodes_failed", "gateway: every candidate node failed before answering");
}

net::Awaitable<void> GatewayService::AttestInner(InnerRequest& inner, Sink& sink) {
  std::string_view text = AsChars(inner.content);
  wire::JsonLimits limits;
  limits.max_bytes = 4096;
  Result<json::value> body = wire::ParseJson(text, limits);
  const json::value* node_field = body.ok() && body->is_object() ? body->as_object().if_contains("node_id") : nullptr;
  if (node_field == nullptr || !node_field->is_string()) {
    (void)co_await sink.Error(400, "node_id", "gateway: /v1/attest expects {\"nonce\": ..., \"node_id\": base64url}");
    co_return;
  }
  Result<Bytes> node_id = Base64UrlDecode(std::string_view(node_field->as_string()));
  std::shared_ptr<const Published> current;
  {
    std::lock_guard lock(mu_);
    current = current_;
  }
  std::optional<NodeRegistration> node;
  if (node_id.ok() && current && current->directory.Lists(*node_id)) node = registry_.Find(*node_id);
  if (!node || !node->healthy) {
    (void)co_await sink.Error(404, "unknown_node", "gateway: node_id is not a listed, registered and healthy node");
    co_return;
  }
  Status redeemed = co_await Redeem(inner);
  if (!redeemed.ok()) {
    auto [status, code] = TokenRefusal(redeemed.error());
    std::string message = "gateway: " + redeemed.error().message();
    (void)co_await sink.Error(status, code, message);
    co_return;
  }
  net::Headers headers{{"Content-Type", "application/json"}};
  net::ClientRequest request("POST", node->url + "/v1/attest", std::move(headers));
  std::string forwarded(text);
  Result<net::ClientResponse> answer = co_await client_->Fetch(std::move(request), forwarded, attest::kMaxBundleBytes);
  if (!answer.ok()) {
    (void)co_await sink.Error(502, "node_unreachable", "gateway: the node did not answer /v1/attest");
    co_return;
  }
  (void)co_await sink.Whole(answer->status, "application/json", std::move(answer->body));
}

net::Awaitable<void> GatewayService::LogProxy(InnerRequest& inner, Sink& sink) {
  std::string_view path = inner.path;
  std::string_view rest = path.substr(std::string_view("/v1/tlog").size());  // "/checkpoint" or "/tile/..."
  for (char c : rest) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '-' || c == '_')) {
      (void)co_await sink.Error(400, "path", "gateway: tlog path has characters outside [A-Za-z0-9/._-]");
      co_return;
    }
  }
  if (rest.find("..") != std::string_view::npos) {
    (void)co_await sink.Error(400, "path", "gateway: tlog path must not contain '..'");
    co_return;
  }
  net::ClientRequest request("GET", config_.log_url + std::string(rest));
  Result<net::ClientResponse> answer = co_await client_->Fetch(std::move(request), "", kMaxLogFile);
  if (!answer.ok()) {
    (void)co_await sink.Error(502, "log_unreachable", "gateway: the transparency log did not answer");
    co_return;
  }
  std::string type = answer->header("Content-Type").value_or("application/octet-stream");
  (void)co_await sink.Whole(answer->status, std::move(type), std::move(answer->body));
}

// ---- operator listener ---------------------------------------------------------------------------

namespace {

bool Authorized(const net::Request& req, const crypto::SecretBytes& credential) {
  std::optional<std::string_view> header = req.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() < kBearer.size() || Lower(header->substr(0, kBearer.size())) != "bearer ") return false;
  std::string_view presented = header->substr(kBearer.size());
  return crypto::ConstantTimeEqual(AsBytes(presented), credential.view());
}

}  // namespace

Status GatewayService::Admit(const std::string& body_text, NodeRegistration& out) const {
  wire::JsonLimits limits;
  limits.max_bytes = kMaxRegistrationBytes;
  OPENPCC_ASSIGN_OR_RETURN(json::value body, wire::ParseJson(body_text, limits));
  if (!body.is_object()) return Error(ErrorCode::kMalformed, "registration: expected a JSON object");
  const json::object& o = body.as_object();
  for (const auto& member : o) {
    const std::string_view k = member.key();
    if (k != "url" && k != "epoch" && k != "not_before" && k != "not_after" && k != "bundle") {
      return Error(ErrorCode::kMalformed, "registration: unknown field '" + std::string(k) + "'");
    }
  }
  auto integer = [&o](std::string_view name) -> Result<int64_t> {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !(v->is_int64() || v->is_uint64())) {
      return Error(ErrorCode::kMalformed, "registration: " + std::string(name) + ": expected an integer");
    }
    if (v->is_uint64() && v->as_uint64() > static_cast<uint64_t>(wire::kJsonMaxSafeInteger)) {
      return Error(ErrorCode::kOutOfRange, "registration: " + std::string(name) + ": out of range");
    }
    const int64_t value = v->is_int64() ? v->as_int64() : static_cast<int64_t>(v->as_uint64());
    if (value < 0) return Error(ErrorCode::kMalformed, "registration: " + std::string(name) + ": expected >= 0");
    return value;
  };
  const json::value* url = o.if_contains("url");
  if (url == nullptr || !url->is_string()) return Error(ErrorCode::kMalformed, "registration: url: expected a string");
  OPENPCC_ASSIGN_OR_RETURN(net::Url parsed_url, net::ParseUrl(std::string_view(url->as_string())));
  if (parsed_url.target != "/") return Error(ErrorCode::kMalformed, "registration: url: expected an origin without a path");
  if (!config_.allow_remote_nodes && !net::IsLoopbackHost(parsed_url.host)) {
    return Error(ErrorCode::kFailedPrecondition,
                 "registration: url: " + parsed_url.host + " is not loopback (the gateway runs with remote nodes disallowed)");
  }
  OPENPCC_ASSIGN_OR_RETURN(int64_t epoch, integer("epoch"));
  OPENPCC_ASSIGN_OR_RETURN(out.not_before, integer("not_before"));
  OPENPCC_ASSIGN_OR_RETURN(out.not_after, integer("not_after"));
  if (out.not_after <= out.not_before) return Error(ErrorCode::kMalformed, "registration: not_after must be later than not_before");
  const std::chrono::sys_seconds now = clock_.NowSeconds();
  // A key past not_after still opens requests sealed before the rollover during the node's grace
  // period; it is kept as long as DropExpired would keep it.
  if (out.not_after + config_.node_grace.count() <= Unix(now)) {
    return Error(ErrorCode::kFailedPrecondition, "registration: the key expired (not_after + node grace)");
  }
  const json::value* bundle_json = o.if_contains("bundle");
  if (bundle_json == nullptr) return Error(ErrorCode::kMalformed, "registration: bundle: missing");
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::BundleFromJson(*bundle_json));
  OPENPCC_ASSIGN_OR_RETURN(wire::KeyConfig config, wire::ParseKeyConfig(bundle.key_config));
  OPENPCC_ASSIGN_OR_RETURN(Bytes node_id, wire::NodeIdOf(config));
  if (node_id != bundle.node_id) return Error(ErrorCode::kMalformed, "registration: bundle node_id is not SHA-256 of its key_config");

  // The gateway's own policy: platform accepted and its evidence verifying (step 1), binding
  // (step 3), and the release manifest's signature when the bundle carries one.
  attest::DecodedRelease release;
  if (bundle.release) {
    OPENPCC_ASSIGN_OR_RETURN(release, attest::DecodeBundleRelease(bundle, config_.policy));
  } else if (bundle.platform == attest::Platform::kSevSnp || bundle.platform == attest::Platform::kTdx) {
    return Error(ErrorCode::kFailedPrecondition, "release: the bundle carries no release (required for sev-snp and tdx)");
  }
  tlog::ReleaseIndex index{tlog::EntryKeyring()};
  OPENPCC_ASSIGN_OR_RETURN(attest::PlatformResult platform,
                           attest::VerifyPlatformStep(bundle, config_.policy, release, index, now));
  OPENPCC_RETURN_IF_ERROR(attest::CheckBindingStep(bundle, platform));

  out.node_id = bundle.node_id;
  out.key_config = bundle.key_config;
  out.url = std::string(url->as_string());
  while (!out.url.empty() && out.url.back() == '/') out.url.pop_back();
  out.platform = std::string(attest::PlatformName(bundle.platform));
  out.node_epoch = static_cast<uint64_t>(epoch);
  for (const attest::ModelClaim& m : bundle.claims.models) out.models.push_back(m.name);
  out.bundle_json = bundle.Serialize();
  return OkStatus();
}

net::Awaitable<void> GatewayService::Register(net::Request& req, net::Response& res) {
  if (!Authorized(req, config_.credential)) {
    ++metrics_.registrations_refused;
    LogWarning(config_.component, "registration refused: bad credential", {{"id", std::to_string(req.id())}});
    (void)co_await res.SendError(401, "credential", "gateway: missing or wrong registration credential");
    co_return;
  }
  Result<std::string> body = co_await req.ReadAll(kMaxRegistrationBytes);
  if (!body.ok()) co_return;
  NodeRegistration registration;
  Status admitted = Admit(*body, registration);
  if (!admitted.ok()) {
    ++metrics_.registrations_refused;
    LogWarning(config_.component, "registration refused",
               {{"id", std::to_string(req.id())}, {"error", admitted.error().ToString()}});
    const unsigned status = admitted.error().code() == ErrorCode::kMalformed ? 400 : 403;
    std::string message = admitted.error().message();
    (void)co_await res.SendError(status, "registration", message);
    co_return;
  }
  const std::string id = HexEncode(registration.node_id);
  LogInfo(config_.component, "node registered",
          {{"node_id", id.substr(0, 16)}, {"epoch", std::to_string(registration.node_epoch)}});
  registry_.Upsert(std::move(registration));
  ++metrics_.registrations;
  std::string answer = "{\"node_id\":\"" + id + "\"}";
  (void)co_await res.Send(200, answer);
}

net::Awaitable<void> GatewayService::Deregister(net::Request& req, net::Response& res) {
  if (!Authorized(req, config_.credential)) {
    (void)co_await res.SendError(401, "credential", "gateway: missing or wrong registration credential");
    co_return;
  }
  std::string_view hex = req.path().substr(std::string_view("/v1/nodes/").size());
  Result<Bytes> id = HexDecode(hex);
  if (!id.ok() || id->size() != wire::kNodeIdLength) {
    (void)co_await res.SendError(400, "node_id", "gateway: expected /v1/nodes/{64 hex digits}");
    co_return;
  }
  if (!registry_.Remove(*id)) {
    (void)co_await res.SendError(404, "unknown_node", "gateway: no such registered node");
    co_return;
  }
  ++metrics_.deregistrations;
  LogInfo(config_.component, "node deregistered", {{"node_id", std::string(hex.substr(0, 16))}});
  (void)co_await res.Send(204, "");
}

}  // namespace openpcc::services::gateway
