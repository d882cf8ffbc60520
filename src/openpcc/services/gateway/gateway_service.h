// services/gateway/gateway_service.h — `openpcc gateway` (DESIGN §2.1, §2.3, §2.5, §4): the OHTTP
// gateway, the epoch's node directory, token redemption and routing to nodes.
//
// Public listener (reached through the relay; sees no client address):
//   GET  /ohttp-keys            application/ohttp-keys, the configured keys (at most two)
//   POST / and POST /gateway    message/ohttp-req or message/ohttp-chunked-req; the inner BHTTP
//                               request is served by the inner API and answered inside OHTTP
//                               (message/ohttp-res, or message/ohttp-chunked-res streamed)
// Inner API: GET /v1/models · GET /v1/directory (directory/directory_response.h) ·
//   POST /v1/infer (Date within the window; token redeemed in DESIGN §2.3's order before routing;
//   the sealed body forwarded unchanged to one of the request's candidates; the sealed response
//   streamed back chunk by chunk) · POST /v1/attest ({"nonce", "node_id"}: costs a token, forwarded
//   to that node) · GET /v1/tlog/checkpoint, /v1/tlog/tile/... (proxied from the log).
// Operator listener (never exposed to clients): POST /v1/nodes/register (Bearer credential,
//   compared in constant time; the bundle must pass the gateway's own policy), DELETE
//   /v1/nodes/{node_id hex}, GET /metrics (aggregate counters only).
//
// Admission of a node: the bundle parses, its node_id is SHA-256 of its key_config, its platform is
// accepted by the policy and its platform evidence verifies (attest/bundle_verifier.h step 1) and
// binds key config, claims and freshness (step 3); a bundle that carries a release also has its
// manifest checked against the policy's release keys. Steps that need the client's view of the log
// (reference values, revocations, freshness age) are the client's, which verifies every bundle it
// uses; the gateway's check keeps nodes off the directory that no client would accept.
//
// Epochs: a background thread publishes the directory of each epoch at its start (after
// `startup_wait` for the first one, so nodes can re-register after a restart, or as soon as
// `startup_nodes` nodes are registered for the epoch when that is set): nodes whose key is
// valid at the epoch's start, the token keys of the issuer's directory, the OHTTP configs; signed
// with the directory key, appended to the log, served with the inclusion proof the log returned.
// The same thread runs the health checks (GET {node}/healthz).
//
// Routing: services/gateway/registry.h. A request is buffered (bounded) before it is forwarded so
// that, when the chosen node fails before its first response byte (connection refused, 5xx, 421),
// the same bytes go to another healthy candidate. After the first byte a node failure aborts the
// outer stream without its final chunk: the client sees a truncated response, never a clean end.
//
// Logs: request ids, sizes, timings and error classes; never content, tokens or keys.
// Thread safety: handlers run on the servers' I/O threads; shared state is synchronised.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "openpcc/attest/bundle_policy.h"
#include "openpcc/crypto/ed25519.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/net/client.h"
#include "openpcc/net/router.h"
#include "openpcc/services/gateway/registry.h"
#include "openpcc/util/clock.h"
#include "openpcc/wire/ohttp.h"

namespace openpcc::tokens {
class Redeemer;
class SpentTokenStore;
class IssuerClient;
}  // namespace openpcc::tokens

namespace openpcc::services {
class LogClient;
}

namespace openpcc::services::gateway {

struct GatewayConfig {
  std::chrono::seconds epoch_length{3600};
  std::chrono::seconds startup_wait{90};
  // When non-zero, the first directory is published as soon as this many nodes (of one model)
  // are registered for the current epoch, without waiting out startup_wait: a deployment that
  // knows its size (`openpcc up`) neither lists fewer nodes for a whole epoch when they start
  // slowly nor waits longer than needed when they start fast.
  size_t startup_nodes = 0;
  uint64_t k = 3;
  std::string service = "openpcc";          // the directory's service name
  std::string issuer_url;                   // token keys and the fixed TokenChallenge
  std::string log_url;                      // the transparency log
  std::string state_dir;                    // spent-token store
  // Tests inject a store; empty: SQLite in state_dir (spent-tokens.db).
  std::shared_ptr<tokens::SpentTokenStore> spent_store;
  std::vector<wire::GatewayKey> ohttp_keys;  // 1 or 2
  std::shared_ptr<const crypto::Ed25519PrivateKey> directory_key;
  attest::BundlePolicy policy;
  crypto::SecretBytes credential;           // the operator-issued registration credential
  bool allow_remote_nodes = false;
  std::chrono::milliseconds health_interval{5'000};
  std::chrono::seconds date_window{60};
  std::chrono::seconds node_grace{600};     // registrations kept this long past their key
  size_t max_inner_request_bytes = 1024 * 1024 + 64 * 1024;
  net::ClientOptions node_client;           // gateway → node (and → log, issuer)
  std::string component = "gateway";
};

struct GatewayMetrics {
  std::atomic<uint64_t> ohttp_requests{0}, ohttp_errors{0}, inner_requests{0};
  std::atomic<uint64_t> infer_requests{0}, infer_ok{0}, infer_failovers{0}, infer_no_candidate{0};
  std::atomic<uint64_t> infer_truncated{0}, tokens_redeemed{0}, tokens_refused{0};
  std::atomic<uint64_t> registrations{0}, registrations_refused{0}, deregistrations{0};
  std::atomic<uint64_t> directories_published{0}, publish_failures{0}, health_failures{0};
  std::string Prometheus(size_t nodes, size_t healthy, uint64_t epoch) const;
};

class GatewayService {
 public:
  static Result<std::unique_ptr<GatewayService>> Create(GatewayConfig config, const Clock& clock);
  ~GatewayService();

  net::Router PublicRouter();
  net::Router OperatorRouter();

  // Starts the epoch/health thread; `executor` is the public server's (for node clients).
  Status Start(boost::asio::any_io_executor executor);
  // Stops the epoch/health thread (handlers keep working).
  void Stop();
  // Drops the node client. Call after the public server shut down and before it is destroyed: the
  // client's connections belong to that server's io_context.
  void ReleaseClient();

  // The published directory of the current epoch, if any (tests).
  std::optional<directory::DirectoryResponse> CurrentResponse() const;
  NodeRegistry& registry() { return registry_; }
  const GatewayMetrics& metrics() const { return metrics_; }

  struct Published {
    directory::NodeDirectory directory;
    directory::DirectoryResponse response;  // bundles filled in at request time
  };
  struct InnerRequest;
  class Sink;

 private:
  GatewayService(GatewayConfig config, const Clock& clock);
  void Run();
  Status Publish(uint64_t epoch);
  void CheckHealth();

  net::Awaitable<void> Ohttp(net::Request& req, net::Response& res);
  net::Awaitable<void> Dispatch(InnerRequest& inner, Sink& sink);
  net::Awaitable<void> Infer(InnerRequest& inner, Sink& sink);
  net::Awaitable<void> AttestInner(InnerRequest& inner, Sink& sink);
  net::Awaitable<void> LogProxy(InnerRequest& inner, Sink& sink);
  net::Awaitable<Status> Redeem(InnerRequest& inner);
  // Redeems in two phases (tokens::Redeemer::RedeemTwoPhase): returns once the spend is decided;
  // `durable` resolves once it is durable (or failed).
  net::Awaitable<Status> RedeemDecided(InnerRequest& inner, std::function<void(Status)> durable);
  net::Awaitable<void> Register(net::Request& req, net::Response& res);
  net::Awaitable<void> Deregister(net::Request& req, net::Response& res);
  Status Admit(const std::string& body_text, NodeRegistration& out) const;
  net::ClientOptions HealthClientOptions() const;

  GatewayConfig config_;
  const Clock& clock_;
  NodeRegistry registry_;
  GatewayMetrics metrics_;
  std::shared_ptr<tokens::SpentTokenStore> spent_;
  std::unique_ptr<tokens::Redeemer> redeemer_;
  Bytes challenge_;                      // the fixed TokenChallenge, from the issuer at start
  std::unique_ptr<tokens::IssuerClient> issuer_;  // used by the epoch thread only
  std::unique_ptr<LogClient> log_;                // used by the epoch thread only
  std::shared_ptr<net::Client> client_;  // on the public server's executor
  std::unique_ptr<net::BlockingClient> health_client_;
  std::chrono::sys_seconds start_time_{};

  mutable std::mutex mu_;
  std::shared_ptr<const Published> current_;
  std::shared_ptr<const Published> previous_;
  std::mt19937_64 rng_;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace openpcc::services::gateway
