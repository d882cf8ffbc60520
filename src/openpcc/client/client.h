// client/client.h — the client library's facade (DESIGN §2): configuration from a file, bootstrap
// (OHTTP keys through the relay, the logged directory, trust), and confidential calls that stream
// the node's OpenAI-style answer to the caller. `openpcc proxy` and `openpcc chat` are built on it.
//
// Configuration file (JSON, strict: unknown members refused; relative paths are relative to the
// file's directory):
//   { "relay_url": "http://127.0.0.1:7100/",        where OHTTP requests go (DESIGN §4)
//     "keys_url": "...",                             optional; default relay origin + /ohttp-keys
//     "issuer_url": "http://127.0.0.1:7300",         the token issuer
//     "api_key_file": "api-key",                     the account's API key (sent to the issuer only)
//     "directory_key": "<hex raw Ed25519 key>",      the operator's directory key
//     "bundle_policy": "policy.json",                attest/bundle_policy.h; its "log" section (origin,
//                                                    key, witnesses, threshold, max age) is also the
//                                                    log policy directories are checked under
//     "min_nodes": 3,                                N_min (DESIGN §2.5)
//     "state_dir": "state",                          persisted checkpoint (+ lock), wallet
//     "wallet": "state/wallet",                      optional; default state_dir/wallet. One process
//                                                    holds it (flock of "<wallet>.lock"); a second
//                                                    one (chat beside the proxy) uses "<wallet>.2"
//     "empty_refill_delay_seconds": 60,              optional; an empty wallet's random refill
//                                                    delay bound, and the bound of a first
//                                                    batch's random hold (FillEmptyWallet)
//     "directory_refresh_seconds": 300,              optional; how long a verified directory is reused
//     "token_batch_size": 16 }                       optional; tokens per issuance batch [1, 1024]
//
// Bootstrap, once per model and again after `directory_refresh_seconds` or the epoch's end:
//   1. the OHTTP key configs served through the relay; the first with the transport's suite is used
//      provisionally (client/key_bootstrap.h);
//   2. GET /v1/directory through OHTTP; its checkpoint is verified under the log policy, then every
//      log entry up to that checkpoint is read through the gateway's /v1/tlog tiles (the log is
//      small; a revocation takes effect at once), their Merkle root must equal the checkpoint's,
//      and they become the ReleaseIndex; the consistency proof from the persisted checkpoint is
//      computed from those same entries;
//   3. client/trust.h accepts the directory (every check named); the config in use must be listed;
//   4. the wallet's policy becomes the directory's token keys and challenge (the issuer's matching
//      keys are fetched when the wallet next refills, so bootstrap does not need the issuer).
// Tokens: a call only spends one from the wallet and never fetches (a fetch on the request path
// would line issuance up with the spend, DESIGN §2.3); with an empty wallet it fails and says so.
// Refills happen only in TickWallet, which a background ticker calls (the proxy every ~2 s,
// interactive chat likewise) and which fetches at the wallet's random instants. The unavoidable
// first use of an empty wallet is FillEmptyWallet: one batch now, then a random hold.
// A call: min(K, N) candidates picked with the CSPRNG, the request sealed to them, a token spent,
// the answer streamed and opened (client/sealed_call.h). A failed call whose answer had not started
// is retried once, re-sealed to the same candidates with a new token (DESIGN §2.5); once content
// reached the caller nothing is retried, and a truncated answer is an error.
//
// Errors are prefixed with the stage: "config: ", "bootstrap: ", "log entries: ", the trust check
// names, "wallet: ", "request: ", and those of sealed_call.h.
//
// Thread safety: a Client may be used from several threads; bootstrap state is locked, the
// transport and wallet are thread-safe. `InferenceClient` is the interface the proxy and chat use
// (tests substitute a fake).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/client/ohttp_transport.h"
#include "openpcc/client/sealed_call.h"
#include "openpcc/client/trust.h"
#include "openpcc/tlog/durable_file.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/wallet.h"
#include "openpcc/util/clock.h"

namespace openpcc::client {

struct ClientConfig {
  std::string relay_url;
  std::string keys_url;  // empty: DefaultKeysUrl(relay_url)
  std::string issuer_url;
  std::filesystem::path api_key_file;
  std::string directory_key_hex;
  std::filesystem::path bundle_policy;
  size_t min_nodes = kDefaultMinNodes;
  std::filesystem::path state_dir;
  std::filesystem::path wallet;  // empty: state_dir / "wallet"
  std::chrono::seconds empty_refill_delay{60};
  std::chrono::seconds directory_refresh{300};
  size_t token_batch_size = 16;  // tokens per issuance batch (fixed size, fetched at random times)

  static Result<ClientConfig> Parse(std::string_view json_text, const std::filesystem::path& base_dir);
  static Result<ClientConfig> Load(const std::filesystem::path& file);
};

// What FillEmptyWallet did: tokens fetched (0: the wallet was not empty) and how long they are
// held before the first spend.
struct FirstBatch {
  size_t fetched = 0;
  std::chrono::milliseconds hold{0};
};

// Where one call's time went on the client (util/stopwatch.h; the proxy logs it per call and
// bench/e2e reports it). Durations only.
struct CallTiming {
  std::chrono::microseconds bootstrap{0};  // keys, directory and trust; a cache lookup in steady state
  std::chrono::microseconds seal{0};       // end-to-end sealing to the candidates + OHTTP encapsulation
  std::chrono::microseconds wallet{0};     // taking a token (a durable file update when the reserve is empty)
  std::chrono::microseconds open{0};       // OHTTP and sealed-response opening of every chunk
  std::chrono::microseconds first_byte{0};  // from the call's start to the engine's head (the first
                                            // authenticated answer bytes; streamed, before the first token)
  std::chrono::microseconds total{0};
};

// How the node that answered was verified (reported by the proxy's headers and endpoint).
struct VerificationReport {
  std::string model;
  Bytes node_id;
  std::string platform;
  bool simulated = false;
  Bytes measurement;
  std::string release_id;  // hex
  std::string release_version;
  uint64_t release_log_index = 0;
  uint64_t directory_epoch = 0;
  uint64_t directory_log_index = 0;
  uint64_t checkpoint_size = 0;
  std::optional<std::chrono::sys_seconds> freshness_not_before;  // the node's evidence freshness
  std::chrono::sys_seconds verified_at;
  size_t candidates = 0;
  int attempts = 0;
  CallTiming timing;  // of the last attempt, plus the bootstrap

  // Seconds between the evidence's freshness checkpoint and verified_at (-1 without one).
  int64_t FreshnessAgeSeconds() const;
  boost::json::object ToJson() const;
};

VerificationReport ReportFor(const TrustedDirectory& directory, const TrustedNode& node,
                             std::chrono::sys_seconds now);

// The caller's side of a call: before the engine's head, which node answers and how it was
// verified (the proxy puts it in its response headers); then the head and content as they
// authenticate.
class AnswerSink : public ResponseSink {
 public:
  virtual Status OnVerified(const VerificationReport& report) {
    (void)report;
    return OkStatus();
  }
};

// The operations the proxy and chat need.
class InferenceClient {
 public:
  virtual ~InferenceClient() = default;
  // Sends `request` (an OpenAI request; its JSON body names the model) through the confidential
  // path; the engine's head and content go to `engine` as they authenticate. OK only after the
  // whole answer authenticated.
  virtual Result<VerificationReport> Call(const EngineRequest& request, AnswerSink& engine) = 0;
  // The gateway's GET /v1/models body (OpenAI list JSON), through OHTTP.
  virtual Result<std::string> Models() = 0;
  virtual std::optional<VerificationReport> LastVerification() const = 0;
};

// Where the wallet's tokens come from: the issuer over HTTP (IssuerClient) in production; tests
// substitute an in-process issuer.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The issuer's current keys among `allowed` (the logged ones).
  virtual Result<std::vector<tokens::TokenVerificationKey>> Keys(const std::vector<tokens::TokenKeyId>& allowed) = 0;
  virtual tokens::TokenFetcher Fetcher() = 0;
};

class Client final : public InferenceClient {
 public:
  // `tokens`: null for the configured issuer (issuer_url + api_key_file).
  static Result<std::unique_ptr<Client>> Create(ClientConfig config, const Clock& clock,
                                                std::unique_ptr<TokenSource> tokens = nullptr);
  ~Client() override;

  // Keys, directory and trust for `model` (done by Call when needed). `observer` sees each check.
  Result<TrustedDirectory> Bootstrap(std::string_view model, const TrustObserver* observer = nullptr);

  Result<VerificationReport> Call(const EngineRequest& request, AnswerSink& engine) override;
  Result<VerificationReport> Chat(std::string body, AnswerSink& engine);      // /v1/chat/completions
  Result<VerificationReport> Complete(std::string body, AnswerSink& engine);  // /v1/completions
  Result<std::string> Models() override;
  std::optional<VerificationReport> LastVerification() const override;

  // Runs the wallet's scheduled refill if due (tokens/wallet.h); returns the tokens added. Called
  // only from a background ticker (the proxy's, interactive chat's), never on a request's path.
  Result<size_t> TickWallet();
  // The first use of an empty wallet (one-shot or interactive chat starting with no token): fetches
  // one batch now and holds it for a uniformly random delay in [0, empty_refill_delay]; calls
  // refuse to spend until it has passed, so that no spend follows its issuance by milliseconds.
  // With a usable token in the wallet it fetches nothing ({0, 0}). Needs a bootstrapped directory.
  Result<FirstBatch> FillEmptyWallet();
  size_t tokens() const;
  std::optional<std::chrono::sys_seconds> scheduled_refill() const;

  void set_observer(TrustObserver observer) { observer_ = std::move(observer); }

 private:
  Client(ClientConfig config, const Clock& clock) : config_(std::move(config)), clock_(clock) {}
  std::chrono::sys_seconds Now() const;
  InnerRequest Inner(std::string method, std::string path) const;
  Status ReadEntries(const tlog::VerifiedCheckpoint& checkpoint);
  // Replaces the response's checkpoint and proof by the log's current, witnessed checkpoint and an
  // inclusion proof computed from the entries read (see Bootstrap).
  Status RebaseOnCurrentCheckpoint(const wire::KeyConfig& gateway, directory::DirectoryResponse& response);
  Result<wire::KeyConfig> GatewayConfig();
  // The issuer's current keys among the logged ones ({} before a directory is known).
  Result<std::vector<tokens::TokenVerificationKey>> IssuerKeys();
  // kFailedPrecondition while a first batch is held (FillEmptyWallet).
  Status CheckHold() const;

  ClientConfig config_;
  const Clock& clock_;
  TrustObserver observer_;
  std::unique_ptr<OhttpTransport> transport_;
  std::unique_ptr<DirectoryTrust> trust_;
  std::unique_ptr<TokenSource> issuer_;
  std::unique_ptr<tlog::FileLock> wallet_lock_;  // held for the client's lifetime
  std::unique_ptr<tokens::Wallet> wallet_;

  mutable std::mutex mu_;  // everything below
  std::vector<wire::KeyConfig> served_;
  std::optional<wire::KeyConfig> gateway_;
  std::vector<Bytes> entries_;  // the log's entries read so far, in order
  std::vector<tlog::Hash> leaves_;
  std::unique_ptr<tlog::ReleaseIndex> index_;
  struct Cached {
    TrustedDirectory directory;
    std::chrono::sys_seconds fetched_at;
  };
  std::map<std::string, Cached, std::less<>> directories_;
  std::vector<tokens::TokenKeyId> allowed_keys_;  // the directory's token keys
  std::vector<tokens::TokenVerificationKey> issuer_keys_;
  SysTime spend_not_before_{};  // the end of a first batch's hold (FillEmptyWallet)

  mutable std::mutex last_mu_;  // separate: the proxy reads it on an I/O thread, never behind a bootstrap
  std::optional<VerificationReport> last_;
};

}  // namespace openpcc::client
