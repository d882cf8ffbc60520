// client/sealed_call.h — one confidential inference call (DESIGN §2.2, §2.3, §2.5): the client
// picks its candidates, seals the engine request end to end to them, spends one token, sends it
// through OHTTP and opens the node's sealed response as it streams.
//
//   1. `PickCandidates`: min(K, N) distinct nodes, uniformly, with the client's own randomness
//      (the CSPRNG by default; a partial Fisher–Yates shuffle over RandomUniform, so no modulo
//      bias). Each node's id must be SHA-256 of its KeyConfig — an id that does not match the
//      config it came with is refused, not recomputed. The candidates come from the verified,
//      logged directory; this module does not read the directory (client/directory does).
//   2. `SealedCall::Create`: the engine request (BHTTP, `date` from the caller's `now`, padded to
//      the next 1 KiB) sealed once to all candidates (wire/sealed.h), each with a suite its config
//      lists (HKDF-SHA256 + AES-256-GCM preferred).
//   3. `GatewayRequest`: the inner gateway request POST /v1/infer, Content-Type
//      application/openpcc-sealed-request, `Authorization: PrivateToken token="…"` with a token
//      taken from the wallet (a token is spent even if the call later fails: it is never reused).
//   4. `SealedResponseSink`: a transport sink. The gateway's inner head must be 200 with the sealed
//      response media type (else the gateway's refusal, with its code, is the error); the content
//      goes through SealedResponseReader (refuses a node_id outside the candidates, each chunk
//      authenticates) into a BHTTP stream decoder whose head and content go to the caller's sink.
//      `Finish` fails on a stream without an authenticated final chunk: truncation is an error,
//      never a short answer.
// `RunSealedCall` does all four over an OhttpTransport.
//
// Errors name the check: "candidates: ...", "seal: ...", "wallet: ...", "gateway: HTTP ...",
// "sealed response: ..." (from wire/sealed.h), "engine response: ...". No prompt, completion,
// key or token value appears in any message.
//
// Thread safety: a SealedCall and its sink belong to one call on one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "openpcc/client/ohttp_transport.h"
#include "openpcc/tokens/token.h"
#include "openpcc/tokens/wallet.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::client {

inline constexpr std::string_view kInferPath = "/v1/infer";

// A node as the logged directory lists it.
struct NodeCandidate {
  Bytes node_id;  // 32 bytes: SHA-256 of `config`'s encoding
  wire::KeyConfig config;
};

// Uniform in [0, bound); production uses crypto::RandomUniform.
using RandomSource = std::function<uint64_t(uint64_t bound)>;
RandomSource CsprngRandom();

// min(k, nodes.size()) distinct nodes chosen uniformly. Errors: no nodes, k == 0 or k > 8, a
// duplicate node_id, a node_id that is not SHA-256 of its config.
Result<std::vector<NodeCandidate>> PickCandidates(std::span<const NodeCandidate> nodes, size_t k,
                                                  const RandomSource& random);

// The request for the engine on the node (OpenAI-style JSON at /v1/chat/completions, ...).
struct EngineRequest {
  std::string method = "POST";
  std::string path = "/v1/chat/completions";
  FieldList headers = {{"content-type", "application/json"}};
  std::string body;
};

class SealedResponseSink;

class SealedCall {
 public:
  // Seals `request` to `candidates` (as PickCandidates returned them), with `date` from `now`.
  static Result<SealedCall> Create(std::vector<NodeCandidate> candidates,
                                   const EngineRequest& request, std::chrono::sys_seconds now);
  SealedCall(SealedCall&&) noexcept = default;
  SealedCall& operator=(SealedCall&&) noexcept = default;

  const Bytes& sealed_request() const { return sealed_; }
  const std::vector<NodeCandidate>& candidates() const { return candidates_; }
  // POST /v1/infer with the sealed request as body and `token` in Authorization.
  InnerRequest GatewayRequest(const tokens::Token& token) const;
  // The sink for the gateway's inner response; engine head and content go to `engine`.
  Result<std::unique_ptr<SealedResponseSink>> OpenResponse(ResponseSink& engine) const;

 private:
  SealedCall(std::vector<NodeCandidate> candidates, Bytes sealed, wire::SealedRequestWriter writer)
      : candidates_(std::move(candidates)), sealed_(std::move(sealed)), writer_(std::move(writer)) {}
  std::vector<NodeCandidate> candidates_;
  Bytes sealed_;
  wire::SealedRequestWriter writer_;
};

class SealedResponseSink final : public ResponseSink {
 public:
  SealedResponseSink(wire::SealedResponseReader reader, ResponseSink& engine);
  ~SealedResponseSink() override;

  Status OnHead(const InnerResponseHead& head) override;
  Status OnContent(ByteView piece) override;
  // After the transport returned OK: the final chunk must have authenticated and the engine's
  // BHTTP response must be complete. Also reports a gateway refusal (inner status not 200).
  Status Finish();
  // The answering node (empty until the response's first 32 bytes arrived).
  ByteView node_id() const { return reader_.node_id(); }
  // Time spent opening the sealed chunks so far (not the caller's sink; util/stopwatch.h).
  std::chrono::microseconds open_time() const { return open_time_; }

 private:
  class Visitor;
  wire::SealedResponseReader reader_;
  std::unique_ptr<Visitor> visitor_;  // passes the engine's head and content to the caller's sink
  wire::bhttp::StreamDecoder decoder_{wire::bhttp::MessageKind::kResponse};
  std::optional<InnerResponseHead> gateway_head_;
  std::string refusal_body_;  // the gateway's error body, bounded
  bool refused_ = false;
  std::chrono::microseconds open_time_{0};
};

// Picks, seals, takes a token from `wallet`, sends through `transport` to the gateway and streams
// the engine's answer to `engine`. Returns the answering node's id.
Result<Bytes> RunSealedCall(OhttpTransport& transport, const wire::KeyConfig& gateway,
                            std::span<const NodeCandidate> nodes, size_t k,
                            const EngineRequest& request, tokens::Wallet& wallet,
                            std::chrono::sys_seconds now, ResponseSink& engine,
                            const RandomSource& random);

}  // namespace openpcc::client
