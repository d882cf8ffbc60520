// services/node/node_service.h — the confidential inference node's HTTP surface (DESIGN §2.2, §4,
// §6): `POST /v1/infer`, `POST /v1/attest`, `GET /healthz`, and nothing else.
//
// /v1/infer reads a sealed request (application/openpcc-sealed-request) as it arrives, through
// wire::SealedRequestReader with this node's opening keys (KeyRing) and the replay table, decodes
// the inner BHTTP request as its chunks authenticate, checks its `Date` against the node's clock
// (±60 s), and dispatches `POST /v1/chat/completions`, `POST /v1/completions` and `GET /v1/models`
// to the engine through engine/openai_api.h. The answer is a sealed response
// (application/openpcc-sealed-response): an indeterminate-length BHTTP response whose first chunk
// (status and headers) goes out before the first token, then one sealed chunk per batch of tokens,
// each flushed as soon as it is produced. Every sealed chunk's plaintext is a multiple of 256
// bytes — SSE comment lines pad streams, BHTTP padding pads whole responses — so token lengths do
// not show.
//
// Refusals. Before the request authenticates (the node cannot answer sealed yet) the refusal is a
// plain HTTP error whose `code` names the check and whose message is the check's own (it carries no
// request content): 400 `sealed_request` (version, count, duplicate ids, suites, chunk
// authentication, truncation), 421 `unknown_node` (no node_id is this node's current or grace key),
// 409 `replay` (enc seen, or the replay table full), 413 `body_size` (over the request bound), 503
// `node_busy` (the concurrency bound), 415 `media_type`. After it authenticates, refusals travel
// sealed, as an inner OpenAI-style error: 400 `stale_date` / `missing_date`, 404
// `model_not_found`, 404 `not_found` for another inner path, 400 for invalid JSON (the field named).
// In every refusal the engine is never called.
//
// Logs carry request ids, sizes, timings and error classes — never content (DESIGN §6).
//
// Thread safety: handlers run on the server's I/O threads; the service's state is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "openpcc/attest/bundle.h"
#include "openpcc/engine/engine.h"
#include "openpcc/net/router.h"
#include "openpcc/services/node/evidence.h"
#include "openpcc/services/node/key_ring.h"
#include "openpcc/services/node/replay_table.h"
#include "openpcc/util/clock.h"

namespace openpcc::services::node {

struct NodeServiceOptions {
  size_t max_request_bytes = 1024 * 1024;  // sealed bytes of one request
  size_t max_concurrent = 64;              // /v1/infer requests being served at once
  size_t replay_capacity = 100'000;
  std::chrono::seconds date_window{60};
  size_t max_inner_content = 1024 * 1024;  // the decrypted JSON body
  attest::Claims claims;                   // what the bundles claim (models and their digests)
  // Freshness of bundles the node publishes (kind 1, the newest witnessed checkpoint); unset:
  // kind 1 with an all-zero value and no checkpoint, which clients refuse.
  std::function<attest::BundleFreshness()> freshness;
  std::string component = "node";          // log component
};

// The fixed SSE comment that pads a streamed chunk: ':' then spaces then '\n'. Exposed for tests.
inline constexpr size_t kResponsePadding = 256;

class NodeService {
 public:
  NodeService(NodeServiceOptions options, engine::Engine& engine, KeyRing& keys,
              EvidenceCollector& collector, const Clock& clock);

  net::Router MakeRouter();

  // The bundle for `key` with the configured freshness (registration) or a client's nonce.
  Result<attest::EvidenceBundle> Bundle(const EpochKeyInfo& key) const;
  Result<attest::EvidenceBundle> BundleWithNonce(const EpochKeyInfo& key, ByteView nonce) const;

  size_t in_flight() const { return in_flight_.load(); }
  const NodeServiceOptions& options() const { return options_; }

  struct Exchange;  // one /v1/infer request (node_service.cc)

 private:
  net::Awaitable<void> Infer(net::Request& req, net::Response& res);
  net::Awaitable<void> Attest(net::Request& req, net::Response& res);

  NodeServiceOptions options_;
  engine::Engine& engine_;
  KeyRing& keys_;
  EvidenceCollector& collector_;
  const Clock& clock_;
  ReplayTable replay_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> next_response_id_{1};
};

}  // namespace openpcc::services::node
