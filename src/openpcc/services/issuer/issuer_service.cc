#include "openpcc/services/issuer/issuer_service.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/thread_pool.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_directory.h"
#include "openpcc/tokens/token_key_store.h"
#include "openpcc/util/log.h"

namespace openpcc::services {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kComponent = "issuer";
constexpr std::string_view kTokenRequestPath = "/token-request";
constexpr std::string_view kBearerChallenge = "Bearer realm=\"openpcc-issuer\"";

// Runs `f` on the worker pool and resumes the calling coroutine on its own executor.
template <typename F>
net::Awaitable<std::invoke_result_t<F&>> OnWorkers(asio::thread_pool& pool, F f) {
  std::optional<std::invoke_result_t<F&>> out;
  auto work = [&out, &f]() -> net::Awaitable<void> {
    out.emplace(f());
    co_return;
  };
  co_await asio::co_spawn(pool.get_executor(), work, asio::use_awaitable);
  co_return std::move(*out);
}

// The media type without parameters, lower case.
std::string MediaType(std::optional<std::string_view> header) {
  std::string out(header.value_or(""));
  out = out.substr(0, out.find(';'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The credential of `Authorization: Bearer <token>` (RFC 6750 §2.1), or nullopt.
std::optional<std::string_view> BearerToken(std::optional<std::string_view> header) {
  if (!header) return std::nullopt;
  std::string_view h = *header;
  if (h.size() < 7) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != "bearer"[i]) return std::nullopt;
  }
  if (h[6] != ' ') return std::nullopt;
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.empty()) return std::nullopt;
  return h;
}

struct Refusal {
  unsigned status;
  std::string code;
  std::string message;
  std::optional<int64_t> retry_after;
};

Refusal RefusalFor(const Error& error, std::chrono::sys_seconds now) {
  if (error.code() == ErrorCode::kAuthenticationFailed) {
    return {401, "invalid_api_key", error.message(), std::nullopt};
  }
  if (std::optional<tokens::QuotaWindow> window = tokens::RefusingQuota(error)) {
    const int64_t wait = (tokens::QuotaWindowEnd(*window, now) - now).count();
    return {429, "quota_exceeded", error.message(), wait};
  }
  switch (error.code()) {
    case ErrorCode::kOutOfRange:
      return {413, "batch_size", error.message(), std::nullopt};
    case ErrorCode::kUnknownKey:
      return {400, "unknown_token_key", error.message(), std::nullopt};
    case ErrorCode::kMalformed:
    case ErrorCode::kTruncated:
    case ErrorCode::kUnsupported:
    case ErrorCode::kInvalidArgument:
      return {400, "bad_token_request", error.message(), std::nullopt};
    default:
      return {500, "internal", "issuer: internal error", std::nullopt};
  }
}

}  // namespace

IssuerService::IssuerService(IssuerServiceConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      key_dir_((std::filesystem::path(config_.state_dir) / "token-keys").string()) {}

IssuerService::~IssuerService() {
  Stop();
  if (workers_) workers_->join();
}

Result<std::unique_ptr<IssuerService>> IssuerService::Create(IssuerServiceConfig config,
                                                             const Clock& clock) {
  if (config.state_dir.empty()) {
    return Error(ErrorCode::kInvalidArgument, "issuer: a state directory is required");
  }
  if (config.max_batch == 0 || config.max_batch > tokens::kMaxBatchSize) {
    return Error(ErrorCode::kInvalidArgument, "issuer: max batch must be in [1, 1024]");
  }
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) {
    return Error(ErrorCode::kFailedPrecondition,
                 "issuer: cannot create the state directory " + config.state_dir + ": " +
                     ec.message());
  }
  chmod(config.state_dir.c_str(), 0700);
  std::unique_ptr<IssuerService> s(new IssuerService(std::move(config), clock));
  const IssuerServiceConfig& c = s->config_;
  OPENPCC_ASSIGN_OR_RETURN(
      s->challenge_,
      (tokens::TokenChallenge{tokens::kTokenTypeBlindRsa, c.issuer_name, {}, c.origin_info}.Encode()));
  OPENPCC_ASSIGN_OR_RETURN(
      s->accounts_,
      tokens::AccountStore::Open((std::filesystem::path(c.state_dir) / "issuer.db").string()));
  const std::chrono::sys_seconds now = clock.NowSeconds();
  OPENPCC_ASSIGN_OR_RETURN(std::vector<tokens::StoredTokenKey> stored,
                           tokens::LoadTokenKeys(s->key_dir_));
  for (tokens::StoredTokenKey& k : stored) {
    if (k.key.windows.redeem_until <= now) continue;  // its file goes in RotateOnce
    Status added = s->keys_.Add(std::move(k.key));
    if (!added.ok()) {
      return Error(added.error().code(), k.path + ": " + added.error().message());
    }
  }
  s->issuer_ = std::make_unique<tokens::Issuer>(s->keys_, *s->accounts_, c.max_batch);
  s->workers_ = std::make_unique<asio::thread_pool>(c.workers == 0 ? 1 : c.workers);
  OPENPCC_RETURN_IF_ERROR(s->RotateOnce());
  LogInfo(kComponent, "token keys loaded",
          {{"stored", std::to_string(stored.size())}, {"valid", std::to_string(s->keys_.size())}});
  return s;
}

Status IssuerService::RotateOnce() {
  std::lock_guard lock(rotate_mu_);
  const std::chrono::sys_seconds now = clock_.NowSeconds();
  const std::string dir = key_dir_;
  auto persist = [&dir](const tokens::IssuerKey& key) -> Status {
    OPENPCC_RETURN_IF_ERROR(tokens::SaveTokenKey(dir, key));
    LogInfo(kComponent, "token key created",
            {{"key_id", HexEncode(ByteView(key.id.data(), 8))},
             {"not_before", std::to_string(key.windows.not_before.time_since_epoch().count())},
             {"issue_until", std::to_string(key.windows.issue_until.time_since_epoch().count())},
             {"redeem_until", std::to_string(key.windows.redeem_until.time_since_epoch().count())}});
    return OkStatus();
  };
  OPENPCC_ASSIGN_OR_RETURN(bool rotated, keys_.Rotate(now, config_.rotation, persist));
  (void)rotated;
  OPENPCC_ASSIGN_OR_RETURN(size_t removed, tokens::RemoveExpiredTokenKeys(key_dir_, now));
  if (removed > 0) LogInfo(kComponent, "expired token keys removed", {{"count", std::to_string(removed)}});
  return OkStatus();
}

void IssuerService::StartRotation() {
  rotation_thread_ = std::thread([this] {
    std::unique_lock lock(rotation_mu_);
    while (!rotation_cv_.wait_for(lock, config_.rotation_check, [this] { return stop_; })) {
      lock.unlock();
      Status rotated = RotateOnce();
      if (!rotated.ok()) {
        LogError(kComponent, "token key rotation failed", {{"error", rotated.error().message()}});
      }
      lock.lock();
    }
  });
}

void IssuerService::Stop() {
  {
    std::lock_guard lock(rotation_mu_);
    stop_ = true;
  }
  rotation_cv_.notify_all();
  if (rotation_thread_.joinable()) rotation_thread_.join();
}

void IssuerService::SetPublicOrigin(std::string origin) {
  std::lock_guard lock(origin_mu_);
  origin_ = std::move(origin);
}

std::string IssuerService::RequestUri() {
  std::lock_guard lock(origin_mu_);
  return origin_ + std::string(kTokenRequestPath);
}

net::Router IssuerService::Routes() {
  net::Router router;
  router.Handle("GET", std::string(tokens::kIssuerDirectoryPath),
                [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
                  co_await ServeDirectory(req, res);
                });
  router.Handle("POST", std::string(kTokenRequestPath),
                [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
                  co_await ServeTokenRequest(req, res);
                });
  return router;
}

net::Awaitable<void> IssuerService::ServeDirectory(net::Request&, net::Response& res) {
  const std::string json =
      keys_.Directory(RequestUri(), challenge_, clock_.NowSeconds()).ToJson();
  // Short enough that clients see a new key well before its predecessor stops issuing.
  const std::string cache = "public, max-age=" + std::to_string(config_.directory_max_age.count());
  (void)res.SetHeader("Cache-Control", cache);
  (void)co_await res.Send(200, json, tokens::kIssuerDirectoryMediaType);
}

net::Awaitable<void> IssuerService::ServeTokenRequest(net::Request& req, net::Response& res) {
  const std::optional<std::string_view> bearer = BearerToken(req.header("authorization"));
  if (!bearer) {
    (void)res.SetHeader("WWW-Authenticate", kBearerChallenge);
    (void)co_await res.SendError(401, "missing_api_key",
                           "issuer: an API key is required (Authorization: Bearer <API key>)");
    co_return;
  }
  const std::string media = MediaType(req.header("content-type"));
  if (media != tokens::kTokenRequestMediaType && media != tokens::kBatchTokenRequestMediaType) {
    const std::string message =
        "issuer: Content-Type must be " + std::string(tokens::kTokenRequestMediaType) + " or " +
        std::string(tokens::kBatchTokenRequestMediaType) + ", got '" + media + "'";
    (void)co_await res.SendError(415, "unsupported_media_type", message);
    co_return;
  }
  // The largest batch any parser accepts (1024, with its varint length prefix; ~259 KiB): a batch
  // above --max-batch is read and then refused by the parser, which names the limit.
  const size_t limit = 8 + tokens::kMaxBatchSize * (3 + tokens::kBlindRsaNk);
  Result<std::string> body = co_await req.ReadAll(limit);
  if (!body.ok()) co_return;  // the server answered (413 over the limit, 400 misframed)

  crypto::SecretString api_key(bearer->data(), bearer->size());
  const std::chrono::sys_seconds now = clock_.NowSeconds();
  auto issue = [this, &api_key, &media, &body, now]() -> Result<tokens::IssuerResponse> {
    OPENPCC_ASSIGN_OR_RETURN(tokens::AccountId account,
                             accounts_->Authenticate(std::string_view(api_key.data(), api_key.size())));
    const ByteView bytes(reinterpret_cast<const uint8_t*>(body->data()), body->size());
    return issuer_->HandleTokenRequestFor(account, media, bytes, now);
  };
  Result<tokens::IssuerResponse> issued = co_await OnWorkers(*workers_, issue);
  if (issued.ok()) {
    const std::string_view out_media = issued->media_type;
    const std::string_view out_body = AsChars(issued->body);
    (void)co_await res.Send(200, out_body, out_media);
    co_return;
  }
  const Refusal refusal = RefusalFor(issued.error(), now);
  if (refusal.status == 500) {
    LogError(kComponent, "token request failed", {{"error", issued.error().message()}});
  } else {
    LogInfo(kComponent, "token request refused",
            {{"status", std::to_string(refusal.status)}, {"code", refusal.code}});
  }
  if (refusal.status == 401) {
    (void)res.SetHeader("WWW-Authenticate",
                        std::string(kBearerChallenge) + ", error=\"invalid_token\"");
  }
  if (refusal.retry_after) (void)res.SetHeader("Retry-After", std::to_string(*refusal.retry_after));
  (void)co_await res.SendError(refusal.status, refusal.code, refusal.message);
}

}  // namespace openpcc::services
