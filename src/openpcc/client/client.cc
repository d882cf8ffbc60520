#include "openpcc/client/client.h"

#include <algorithm>
#include <functional>
#include <string>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/client/key_bootstrap.h"
#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/random.h"
#include "openpcc/directory/directory_response.h"
#include "openpcc/tlog/durable_file.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/tlog/tiles.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/wallet.h"
#include "openpcc/util/http_date.h"
#include "openpcc/util/stopwatch.h"
#include "openpcc/wire/jcs.h"

namespace openpcc::client {
namespace {

namespace json = boost::json;
using std::chrono::sys_seconds;

// Tokens the wallet moves out of its file at a time, so that a request does not wait for the
// file's rewrite and fsyncs; a crash costs at most this many tokens (tokens/wallet.h).
constexpr size_t kWalletReserve = 16;

Error Staged(std::string_view stage, const Error& e) { return Error(e.code(), std::string(stage) + ": " + e.message()); }
Error ConfigError(std::string message) { return Error(ErrorCode::kInvalidArgument, "config: " + message); }

Result<std::string> StringField(const json::object& o, std::string_view name, bool required) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) {
    if (required) return ConfigError(std::string(name) + ": required");
    return std::string();
  }
  if (!v->is_string() || v->as_string().empty()) return ConfigError(std::string(name) + ": expected a non-empty string");
  return std::string(v->as_string());
}

Result<uint64_t> UintField(const json::object& o, std::string_view name, uint64_t fallback, uint64_t max) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return fallback;
  if (!v->is_int64() && !v->is_uint64()) return ConfigError(std::string(name) + ": expected an integer");
  if (v->is_int64() && v->as_int64() < 0) return ConfigError(std::string(name) + ": expected at least 0");
  const uint64_t n = v->is_uint64() ? v->as_uint64() : static_cast<uint64_t>(v->as_int64());
  if (n > max) return ConfigError(std::string(name) + ": at most " + std::to_string(max));
  return n;
}

std::filesystem::path Resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty()) return {};
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base / path;
}

Result<Bytes> ReadSmallFile(const std::filesystem::path& path, size_t max, std::string_view what) {
  auto bytes = tlog::ReadFileIfExists(path, max);
  if (!bytes.ok()) return ConfigError(std::string(what) + ": " + bytes.error().message());
  if (!bytes->has_value()) return ConfigError(std::string(what) + ": " + path.string() + " does not exist");
  return std::move(**bytes);
}

std::string ModelOf(std::string_view body) {
  auto parsed = wire::ParseJson(body, wire::JsonLimits{size_t{8} << 20, 64});
  if (!parsed.ok() || !parsed->is_object()) return {};
  const json::value* model = parsed->as_object().if_contains("model");
  if (model == nullptr || !model->is_string()) return {};
  return std::string(model->as_string());
}

// Counts what reached the caller, so that a call is retried only if nothing did; tells the caller
// which node answers before the engine's head.
class CountingSink final : public ResponseSink {
 public:
  using Verify = std::function<Result<VerificationReport>()>;
  CountingSink(AnswerSink& inner, Verify verify) : inner_(inner), verify_(std::move(verify)) {}
  Status OnHead(const InnerResponseHead& head) override {
    started_ = true;
    OPENPCC_ASSIGN_OR_RETURN(VerificationReport report, verify_());
    OPENPCC_RETURN_IF_ERROR(inner_.OnVerified(report));
    return inner_.OnHead(head);
  }
  Status OnContent(ByteView piece) override {
    started_ = true;
    return inner_.OnContent(piece);
  }
  bool started() const { return started_; }

 private:
  AnswerSink& inner_;
  Verify verify_;
  bool started_ = false;
};

class IssuerTokenSource final : public TokenSource {
 public:
  explicit IssuerTokenSource(std::unique_ptr<tokens::IssuerClient> issuer) : issuer_(std::move(issuer)) {}
  Result<std::vector<tokens::TokenVerificationKey>> Keys(const std::vector<tokens::TokenKeyId>& allowed) override {
    return issuer_->FetchAllowedKeys(allowed);
  }
  tokens::TokenFetcher Fetcher() override { return issuer_->Fetcher(); }

 private:
  std::unique_ptr<tokens::IssuerClient> issuer_;
};

}  // namespace

Result<ClientConfig> ClientConfig::Parse(std::string_view json_text, const std::filesystem::path& base_dir) {
  auto parsed = wire::ParseJson(json_text, wire::JsonLimits{64 * 1024, 8});
  if (!parsed.ok()) return ConfigError(parsed.error().message());
  if (!parsed->is_object()) return ConfigError("expected a JSON object");
  const json::object& o = parsed->as_object();
  static constexpr std::string_view kKnown[] = {"relay_url",     "keys_url",  "issuer_url", "api_key_file",
                                                "directory_key", "bundle_policy", "min_nodes", "state_dir",
                                                "wallet",        "empty_refill_delay_seconds",
                                                "directory_refresh_seconds", "token_batch_size"};
  for (const auto& member : o) {
    if (std::find(std::begin(kKnown), std::end(kKnown), std::string_view(member.key())) == std::end(kKnown)) {
      return ConfigError(std::string(member.key()) + ": unknown member");
    }
  }
  ClientConfig c;
  OPENPCC_ASSIGN_OR_RETURN(c.relay_url, StringField(o, "relay_url", true));
  OPENPCC_ASSIGN_OR_RETURN(c.keys_url, StringField(o, "keys_url", false));
  OPENPCC_ASSIGN_OR_RETURN(c.issuer_url, StringField(o, "issuer_url", true));
  OPENPCC_ASSIGN_OR_RETURN(std::string api_key_file, StringField(o, "api_key_file", true));
  OPENPCC_ASSIGN_OR_RETURN(c.directory_key_hex, StringField(o, "directory_key", true));
  OPENPCC_ASSIGN_OR_RETURN(std::string policy, StringField(o, "bundle_policy", true));
  OPENPCC_ASSIGN_OR_RETURN(std::string state_dir, StringField(o, "state_dir", true));
  OPENPCC_ASSIGN_OR_RETURN(std::string wallet, StringField(o, "wallet", false));
  OPENPCC_ASSIGN_OR_RETURN(uint64_t min_nodes, UintField(o, "min_nodes", kDefaultMinNodes, directory::kMaxNodesPerModel));
  if (min_nodes == 0) return ConfigError("min_nodes: at least 1");
  OPENPCC_ASSIGN_OR_RETURN(uint64_t empty_delay, UintField(o, "empty_refill_delay_seconds", 60, 86400));
  OPENPCC_ASSIGN_OR_RETURN(uint64_t refresh, UintField(o, "directory_refresh_seconds", 300, 3600));
  if (refresh == 0) return ConfigError("directory_refresh_seconds: at least 1");
  OPENPCC_ASSIGN_OR_RETURN(uint64_t batch, UintField(o, "token_batch_size", 16, 1024));
  if (batch == 0) return ConfigError("token_batch_size: at least 1");
  c.api_key_file = Resolve(base_dir, api_key_file);
  c.bundle_policy = Resolve(base_dir, policy);
  c.state_dir = Resolve(base_dir, state_dir);
  c.wallet = wallet.empty() ? c.state_dir / "wallet" : Resolve(base_dir, wallet);
  c.min_nodes = min_nodes;
  c.empty_refill_delay = std::chrono::seconds(empty_delay);
  c.directory_refresh = std::chrono::seconds(refresh);
  c.token_batch_size = batch;
  return c;
}

Result<ClientConfig> ClientConfig::Load(const std::filesystem::path& file) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes text, ReadSmallFile(file, 64 * 1024, "config file"));
  return Parse(AsChars(text), file.parent_path());
}

int64_t VerificationReport::FreshnessAgeSeconds() const {
  if (!freshness_not_before) return -1;
  return (verified_at - *freshness_not_before).count();
}

json::object VerificationReport::ToJson() const {
  json::object o{{"model", model},
                 {"node_id", HexEncode(node_id)},
                 {"platform", platform},
                 {"simulated", simulated},
                 {"measurement", HexEncode(measurement)},
                 {"release", json::object{{"id", release_id}, {"version", release_version},
                                          {"log_index", release_log_index}}},
                 {"directory", json::object{{"epoch", directory_epoch}, {"log_index", directory_log_index},
                                            {"checkpoint_size", checkpoint_size}}},
                 {"candidates", candidates},
                 {"attempts", attempts},
                 {"verified_at", verified_at.time_since_epoch().count()}};
  json::object freshness;
  if (freshness_not_before) {
    freshness["kind"] = "log-checkpoint";
    freshness["not_before"] = freshness_not_before->time_since_epoch().count();
    freshness["age_seconds"] = FreshnessAgeSeconds();
  } else {
    freshness["kind"] = "client-nonce";
  }
  o["freshness"] = std::move(freshness);
  return o;
}

VerificationReport ReportFor(const TrustedDirectory& directory, const TrustedNode& node, sys_seconds now) {
  VerificationReport r;
  r.model = directory.model;
  r.node_id = node.candidate.node_id;
  r.platform = std::string(attest::PlatformName(node.verified.platform));
  r.simulated = node.verified.simulated;
  r.measurement = node.verified.measurement;
  r.release_id = node.verified.release_id;
  r.release_version = node.verified.release_version;
  r.release_log_index = node.verified.log_index;
  r.directory_epoch = directory.directory.epoch;
  r.directory_log_index = directory.log_index;
  r.checkpoint_size = directory.checkpoint.checkpoint.size;
  r.freshness_not_before = node.verified.freshness_not_before;
  r.verified_at = now;
  return r;
}

Result<std::unique_ptr<Client>> Client::Create(ClientConfig config, const Clock& clock,
                                               std::unique_ptr<TokenSource> tokens) {
  std::unique_ptr<Client> c(new Client(std::move(config), clock));
  const ClientConfig& cfg = c->config_;
  OPENPCC_ASSIGN_OR_RETURN(Bytes policy_text, ReadSmallFile(cfg.bundle_policy, attest::kMaxPolicyBytes, "bundle_policy"));
  const std::filesystem::path policy_dir = cfg.bundle_policy.parent_path();
  auto policy = attest::ParseBundlePolicy(AsChars(policy_text), [&](std::string_view path) -> Result<Bytes> {
    return ReadSmallFile(Resolve(policy_dir, std::string(path)), size_t{4} << 20, "bundle_policy file");
  });
  if (!policy.ok()) return Staged("config: bundle_policy", policy.error());
  auto key_bytes = HexDecode(cfg.directory_key_hex);
  if (!key_bytes.ok()) return ConfigError("directory_key: expected hex");
  auto key = crypto::Ed25519PublicKey::FromBytes(*key_bytes);
  if (!key.ok()) return Staged("config: directory_key", key.error());

  tlog::EntryKeyring keyring;
  for (const auto& k : policy->release_keys) keyring.AddReleaseKey(k);
  keyring.AddDirectoryKey(*key);
  for (const auto& k : policy->directory_keys) {
    if (!(k == *key)) keyring.AddDirectoryKey(k);
  }
  c->index_ = std::make_unique<tlog::ReleaseIndex>(std::move(keyring));
  c->trust_ = std::make_unique<DirectoryTrust>(
      TrustPolicy{*key, std::make_shared<const attest::BundlePolicy>(std::move(*policy)), cfg.min_nodes},
      cfg.state_dir / "checkpoints");

  TransportConfig transport{};
  transport.relay_url = cfg.relay_url;
  OPENPCC_ASSIGN_OR_RETURN(c->transport_, OhttpTransport::Create(std::move(transport)));

  if (tokens != nullptr) {
    c->issuer_ = std::move(tokens);
  } else {
    OPENPCC_ASSIGN_OR_RETURN(Bytes api_key, ReadSmallFile(cfg.api_key_file, 4096, "api_key_file"));
    std::string_view trimmed = AsChars(api_key);
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ')) {
      trimmed.remove_suffix(1);
    }
    auto issuer = tokens::IssuerClient::Create(cfg.issuer_url, crypto::SecretString(trimmed.begin(), trimmed.end()));
    crypto::Wipe(api_key);
    if (!issuer.ok()) return Staged("config: issuer_url", issuer.error());
    c->issuer_ = std::make_unique<IssuerTokenSource>(std::move(*issuer));
  }

  std::error_code ec;
  std::filesystem::create_directories(cfg.state_dir, ec);
  if (ec) return ConfigError("state_dir: " + cfg.state_dir.string() + ": " + ec.message());
  std::filesystem::permissions(cfg.state_dir, std::filesystem::perms::owner_all, ec);
  // A wallet file belongs to one process at a time: two processes holding it in memory could each
  // hand out the same token. The proxy usually holds the configured one, so `openpcc chat` running
  // beside it takes "<wallet>.2" (its own tokens) instead.
  std::filesystem::path wallet_path = cfg.wallet;
  auto lock = tlog::FileLock::Acquire(wallet_path.string() + ".lock", /*exclusive=*/true, /*try_only=*/true);
  if (!lock.ok()) {
    wallet_path += ".2";
    lock = tlog::FileLock::Acquire(wallet_path.string() + ".lock", true, true);
    if (!lock.ok()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "wallet: " + cfg.wallet.string() + " and its .2 are in use by other processes");
    }
  }
  c->wallet_lock_ = std::make_unique<tlog::FileLock>(std::move(*lock));
  tokens::WalletPolicy wallet_policy;
  wallet_policy.empty_refill_delay = cfg.empty_refill_delay;
  wallet_policy.batch_size = cfg.token_batch_size;
  wallet_policy.reserve = kWalletReserve;
  auto wallet = tokens::Wallet::Open(wallet_path.string(), std::move(wallet_policy), crypto::RandomUniform);
  if (!wallet.ok()) return Staged("wallet", wallet.error());
  c->wallet_ = std::move(*wallet);
  return c;
}

Client::~Client() = default;

sys_seconds Client::Now() const { return std::chrono::floor<std::chrono::seconds>(clock_.Now()); }

// The gateway refuses an inner request without a Date within its window (DESIGN §2.1).
InnerRequest Client::Inner(std::string method, std::string path) const {
  InnerRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers.emplace_back("date", FormatHttpDate(Now()));
  return r;
}

Result<wire::KeyConfig> Client::GatewayConfig() {
  if (gateway_) return *gateway_;
  const std::string keys_url = config_.keys_url;
  std::string url = keys_url;
  if (url.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(url, DefaultKeysUrl(config_.relay_url));
  }
  auto served = FetchServedConfigs(transport_->http(), url);
  if (!served.ok()) return Staged("bootstrap", served.error());
  served_ = std::move(*served);
  auto chosen = ChooseBootstrapConfig(served_, transport_->config().suite);
  if (!chosen.ok()) return Staged("bootstrap", chosen.error());
  gateway_ = *chosen;
  return *gateway_;
}

Status Client::RebaseOnCurrentCheckpoint(const wire::KeyConfig& gateway, directory::DirectoryResponse& response) {
  InnerRequest request = Inner("GET", "/v1/tlog/checkpoint");
  auto answer = transport_->RoundTrip(gateway, request);
  // Without a usable current checkpoint the gateway's own stays, and trust judges it.
  if (!answer.ok() || answer->status != 200) return OkStatus();
  auto current = tlog::VerifyCheckpoint(trust_->policy().log(), answer->body);
  if (!current.ok() || current->checkpoint.size <= response.log_index) return OkStatus();
  OPENPCC_RETURN_IF_ERROR(ReadEntries(*current));
  tlog::MemoryHashReader reader(std::span<const tlog::Hash>(leaves_.data(), current->checkpoint.size));
  auto proof = tlog::InclusionProof(response.log_index, current->checkpoint.size, reader);
  if (!proof.ok()) return Staged("inclusion", proof.error());
  response.checkpoint = answer->body;
  response.inclusion_proof = std::move(proof).value();
  return OkStatus();
}

Status Client::ReadEntries(const tlog::VerifiedCheckpoint& checkpoint) {
  const uint64_t size = checkpoint.checkpoint.size;
  std::vector<Bytes> entries(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(size, entries_.size())));
  for (uint64_t start = entries.size() - entries.size() % tlog::kTileWidth; start < size; start += tlog::kTileWidth) {
    const uint32_t width = static_cast<uint32_t>(std::min<uint64_t>(tlog::kTileWidth, size - start));
    tlog::TileCoord tile{true, 0, start / tlog::kTileWidth, width};
    InnerRequest request = Inner("GET", "/v1/tlog/" + tlog::TilePath(tile));
    auto response = transport_->RoundTrip(*gateway_, request);
    if (!response.ok()) return Staged("log entries", response.error());
    if (response->status != 200) {
      return Error(ErrorCode::kFailedPrecondition,
                   "log entries: " + request.path + " answered HTTP " + std::to_string(response->status));
    }
    auto bundle = tlog::ParseEntryBundle(AsBytes(response->body), width);
    if (!bundle.ok()) return Staged("log entries", bundle.error());
    for (uint64_t i = entries.size() - start; i < bundle->size(); ++i) entries.push_back(std::move((*bundle)[i]));
  }
  std::vector<tlog::Hash> leaves;
  leaves.reserve(entries.size());
  for (const Bytes& e : entries) leaves.push_back(tlog::LeafHash(e));
  if (tlog::RootFromLeafHashes(leaves) != checkpoint.checkpoint.root) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "log entries: the " + std::to_string(size) + " entries read do not hash to the checkpoint's root");
  }
  // The entries kept from earlier reads are part of `leaves`, so a log that rewrote one of them
  // fails the root check above.
  for (uint64_t i = index_->next_index(); i < size; ++i) {
    if (Status added = index_->Add(i, entries[i]); !added.ok()) return Staged("log entries", added.error());
  }
  if (entries.size() > entries_.size()) {
    entries_ = std::move(entries);
    leaves_ = std::move(leaves);
  }
  return OkStatus();
}

Result<TrustedDirectory> Client::Bootstrap(std::string_view model, const TrustObserver* observer) {
  std::lock_guard lock(mu_);
  const sys_seconds now = Now();
  if (auto it = directories_.find(model); it != directories_.end()) {
    const Cached& c = it->second;
    if (now - c.fetched_at < config_.directory_refresh && now.time_since_epoch().count() < c.directory.directory.not_after) {
      return c.directory;
    }
  }
  if (observer == nullptr && observer_) observer = &observer_;
  // The persisted size is read before anything is fetched, so a smaller checkpoint fetched later
  // is a rollback. Another process (the CLI, a second proxy) may persist a newer checkpoint while
  // this one fetches; the store then answers "stored checkpoint changed" and the directory is
  // fetched again, once.
  auto fetch_and_accept = [&]() -> Result<TrustedDirectory> {
    auto stored = trust_->store().Latest(trust_->policy().log());
    const uint64_t persisted_size = stored.ok() && stored->has_value() ? (*stored)->checkpoint.size : 0;
    OPENPCC_ASSIGN_OR_RETURN(wire::KeyConfig gateway, GatewayConfig());
    InnerRequest request = Inner("GET", "/v1/directory");
    auto answer = transport_->RoundTrip(gateway, request);
    if (!answer.ok()) return Staged("bootstrap", answer.error());
    if (answer->status != 200) {
      return Error(ErrorCode::kFailedPrecondition, "bootstrap: /v1/directory answered HTTP " + std::to_string(answer->status));
    }
    auto response = directory::ParseDirectoryResponse(answer->body);
    if (!response.ok()) return Staged("bootstrap", response.error());

    // The checkpoint the gateway received when it appended the directory has no cosignatures yet
    // (witnesses cosign after each append); the log's current checkpoint, fetched through the gateway,
    // has them. With every entry read, the client proves the directory's inclusion in it itself.
    OPENPCC_RETURN_IF_ERROR(RebaseOnCurrentCheckpoint(gateway, *response));

    // The entries first (they are the bundle verifier's view of releases and revocations), proven
    // against the checkpoint that trust verifies again below.
    auto checkpoint = tlog::VerifyCheckpoint(trust_->policy().log(), response->checkpoint);
    if (!checkpoint.ok()) return Staged("checkpoint", checkpoint.error());
    OPENPCC_RETURN_IF_ERROR(ReadEntries(*checkpoint));
    std::vector<tlog::Hash> proof;
    const uint64_t new_size = checkpoint->checkpoint.size;
    if (persisted_size > 0 && persisted_size < new_size) {
      tlog::MemoryHashReader reader(std::span<const tlog::Hash>(leaves_.data(), new_size));
      auto built = tlog::ConsistencyProof(persisted_size, new_size, reader);
      if (!built.ok()) return Staged("checkpoint history", built.error());
      proof = std::move(*built);
    }

    AcceptInput in;
    in.response = &*response;
    in.model = model;
    in.ohttp_in_use = &gateway;
    in.suite = transport_->config().suite;
    in.index = index_.get();
    in.persisted_size = persisted_size;
    in.consistency_proof = proof;
    in.now = now;
    in.observer = observer;
    return trust_->Accept(in);
  };
  Result<TrustedDirectory> accepted = fetch_and_accept();
  if (!accepted.ok() && tlog::IsStoredCheckpointChanged(accepted.error())) accepted = fetch_and_accept();
  if (!accepted.ok()) return std::move(accepted).error();
  TrustedDirectory trusted = std::move(accepted).value();
  auto listed = ChooseListedConfig(served_, transport_->config().suite, trusted.ohttp_configs);
  if (!listed.ok()) return Staged("ohttp config", listed.error());
  gateway_ = *listed;

  tokens::WalletPolicy policy;
  policy.empty_refill_delay = config_.empty_refill_delay;
  policy.batch_size = config_.token_batch_size;
  policy.reserve = kWalletReserve;
  policy.challenge = trusted.directory.token_challenge;
  for (const directory::DirectoryTokenKey& k : trusted.directory.token_keys) {
    auto key = crypto::BlindRsaPublicKey::FromSpki(k.token_key);
    if (!key.ok()) return Staged("bootstrap: directory token key", key.error());
    policy.allowed_keys.push_back(tokens::TokenKeyIdOf(*key));
  }
  if (allowed_keys_ != policy.allowed_keys) {
    allowed_keys_ = policy.allowed_keys;
    issuer_keys_.clear();  // fetched again by TickWallet, for the newly logged keys
    if (Status set = wallet_->SetPolicy(policy); !set.ok()) return Staged("wallet", set.error());
  }
  if (observer != nullptr && *observer) {
    (*observer)("wallet", std::to_string(wallet_->size()) + " tokens for " +
                              std::to_string(policy.allowed_keys.size()) + " logged token key(s)");
  }
  directories_[std::string(model)] = Cached{trusted, now};
  return trusted;
}

Result<std::vector<tokens::TokenVerificationKey>> Client::IssuerKeys() {
  std::lock_guard lock(mu_);
  if (allowed_keys_.empty()) return std::vector<tokens::TokenVerificationKey>{};  // no directory yet
  if (issuer_keys_.empty()) {
    // The issuer's keys, restricted to the logged ones; fetched lazily so that bootstrap does not
    // depend on the issuer being reachable.
    auto fetched = issuer_->Keys(allowed_keys_);
    if (!fetched.ok()) return Staged("wallet: issuer keys", fetched.error());
    issuer_keys_ = std::move(*fetched);
  }
  return issuer_keys_;
}

Result<size_t> Client::TickWallet() {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<tokens::TokenVerificationKey> keys, IssuerKeys());
  if (keys.empty()) return size_t{0};  // no directory yet: no logged token keys
  auto added = wallet_->Tick(Now(), keys, issuer_->Fetcher());
  if (!added.ok()) return Staged("wallet", added.error());
  return added;
}

Result<FirstBatch> Client::FillEmptyWallet() {
  // A wallet holding tokens contacts nobody, not even for the issuer's keys: that request, too,
  // would come from the user's address moments before the first spend.
  if (wallet_->size() > 0) return FirstBatch{};
  OPENPCC_ASSIGN_OR_RETURN(std::vector<tokens::TokenVerificationKey> keys, IssuerKeys());
  if (keys.empty()) {
    return Error(ErrorCode::kFailedPrecondition, "wallet: no logged token key yet (bootstrap first)");
  }
  auto added = wallet_->FillIfEmpty(Now(), keys, issuer_->Fetcher());
  if (!added.ok()) return Staged("wallet", added.error());
  FirstBatch first;
  first.fetched = *added;
  if (first.fetched == 0) return first;
  const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(config_.empty_refill_delay);
  first.hold = std::chrono::milliseconds(
      static_cast<int64_t>(crypto::RandomUniform(static_cast<uint64_t>(bound.count()) + 1)));
  std::lock_guard lock(mu_);
  spend_not_before_ = clock_.Now() + first.hold;
  return first;
}

Status Client::CheckHold() const {
  SysTime not_before;
  {
    std::lock_guard lock(mu_);
    not_before = spend_not_before_;
  }
  const SysTime now = clock_.Now();
  if (now >= not_before) return OkStatus();
  return Error(ErrorCode::kFailedPrecondition,
               "wallet: the first batch is held for another " + std::to_string((not_before - now).count()) +
                   " ms before its first spend, so that issuance and spending do not line up");
}

size_t Client::tokens() const { return wallet_->size(); }
std::optional<sys_seconds> Client::scheduled_refill() const { return wallet_->scheduled_refill(); }

Result<VerificationReport> Client::Call(const EngineRequest& request, AnswerSink& engine) {
  const Stopwatch call_watch;
  CallTiming timing;
  const std::string model = ModelOf(request.body);
  if (model.empty()) return Error(ErrorCode::kInvalidArgument, "request: the body must be a JSON object naming a model");
  OPENPCC_ASSIGN_OR_RETURN(TrustedDirectory trusted, Bootstrap(model));
  timing.bootstrap = call_watch.Elapsed();
  wire::KeyConfig gateway;
  {
    std::lock_guard lock(mu_);
    gateway = *gateway_;
  }
  const std::vector<NodeCandidate> nodes = trusted.Candidates();
  OPENPCC_ASSIGN_OR_RETURN(std::vector<NodeCandidate> candidates,
                           PickCandidates(nodes, static_cast<size_t>(trusted.directory.k), CsprngRandom()));
  Error last_error(ErrorCode::kInternal, "no attempt");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const sys_seconds now = Now();
    timing.seal = timing.wallet = timing.open = timing.first_byte = std::chrono::microseconds(0);
    const Stopwatch sealing;
    OPENPCC_ASSIGN_OR_RETURN(SealedCall call, SealedCall::Create(candidates, request, now));
    timing.seal = sealing.Elapsed();
    // Never a fetch here: a token fetched on the request path would line issuance up with this
    // spend. Refills run in the background (TickWallet) at the wallet's random instants.
    OPENPCC_RETURN_IF_ERROR(CheckHold());
    const Stopwatch taking;
    Result<tokens::Token> token = wallet_->Take(now);
    timing.wallet = taking.Elapsed();
    if (!token.ok()) {
      if (token.error().code() != ErrorCode::kFailedPrecondition) return Staged("wallet", token.error());
      std::string when;
      if (auto at = wallet_->scheduled_refill()) {
        when = "; the next refill is due in " + std::to_string(std::max<int64_t>((*at - now).count(), 0)) + " s";
      }
      return Error(ErrorCode::kFailedPrecondition,
                   "wallet: empty, no token to spend. A request never fetches tokens (issuance would "
                   "line up with spending); the wallet refills in the background at random times "
                   "while `openpcc proxy` or an interactive `openpcc chat` runs, and `openpcc chat` "
                   "fetches a first batch when it starts with an empty wallet" + when);
    }
    SealedResponseSink* sealed = nullptr;
    auto report_for = [&]() -> Result<VerificationReport> {
      const TrustedNode* node = trusted.Find(sealed->node_id());
      if (node == nullptr) {
        return Error(ErrorCode::kUnknownKey, "sealed response: the answering node is not in the directory");
      }
      VerificationReport report = ReportFor(trusted, *node, now);
      report.candidates = candidates.size();
      report.attempts = attempt;
      return report;
    };
    auto verify = [&]() -> Result<VerificationReport> {
      timing.first_byte = call_watch.Elapsed();
      return report_for();
    };
    CountingSink counting(engine, verify);
    OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<SealedResponseSink> sink, call.OpenResponse(counting));
    sealed = sink.get();
    InnerRequest inner = call.GatewayRequest(*token);
    inner.headers.emplace_back("date", FormatHttpDate(now));
    OhttpCryptoTime ohttp;
    Status sent = transport_->Stream(gateway, inner, *sink, &ohttp);
    if (sent.ok()) sent = sink->Finish();
    timing.seal += ohttp.seal;
    timing.open = ohttp.open + sink->open_time();
    if (sent.ok()) {
      OPENPCC_ASSIGN_OR_RETURN(VerificationReport report, report_for());
      timing.total = call_watch.Elapsed();
      report.timing = timing;
      std::lock_guard lock(last_mu_);
      last_ = report;
      return report;
    }
    last_error = sent.error();
    if (counting.started()) break;  // content reached the caller: never replayed
  }
  return last_error;
}

Result<VerificationReport> Client::Chat(std::string body, AnswerSink& engine) {
  EngineRequest r;
  r.path = "/v1/chat/completions";
  r.body = std::move(body);
  return Call(r, engine);
}

Result<VerificationReport> Client::Complete(std::string body, AnswerSink& engine) {
  EngineRequest r;
  r.path = "/v1/completions";
  r.body = std::move(body);
  return Call(r, engine);
}

Result<std::string> Client::Models() {
  wire::KeyConfig gateway;
  {
    std::lock_guard lock(mu_);
    OPENPCC_ASSIGN_OR_RETURN(gateway, GatewayConfig());
  }
  InnerRequest request = Inner("GET", "/v1/models");
  auto answer = transport_->RoundTrip(gateway, request);
  if (!answer.ok()) return answer.error();
  if (answer->status != 200) {
    return Error(ErrorCode::kFailedPrecondition, "gateway: /v1/models answered HTTP " + std::to_string(answer->status));
  }
  return std::move(answer->body);
}

std::optional<VerificationReport> Client::LastVerification() const {
  std::lock_guard lock(last_mu_);
  return last_;
}

}  // namespace openpcc::client
