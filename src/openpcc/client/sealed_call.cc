#include "openpcc/client/sealed_call.h"

#include <algorithm>
#include <set>

#include "openpcc/crypto/random.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/util/http_date.h"
#include "openpcc/util/stopwatch.h"

namespace openpcc::client {
namespace {

namespace bhttp = wire::bhttp;

constexpr size_t kMaxRefusalBody = 4096;
const wire::SymmetricSuite kPreferredNodeSuite{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm};

Error Prefixed(std::string_view prefix, const Error& e) {
  return Error(e.code(), std::string(prefix) + ": " + e.message());
}

Result<wire::SymmetricSuite> NodeSuite(const wire::KeyConfig& config, size_t index) {
  if (config.Supports(kPreferredNodeSuite)) return kPreferredNodeSuite;
  for (const wire::SymmetricSuite& s : config.suites) {
    if (s.aead != crypto::AeadId::kExportOnly) return s;
  }
  return Error(ErrorCode::kUnsupported, "candidates: node " + std::to_string(index) +
                                            " offers no suite with an AEAD (export-only is refused)");
}

// Errors of the sealed-response reader, all named "sealed response: ..." (the chunk layer's own
// messages start with "chunks:").
Error SealedError(const Error& e) {
  if (e.message().rfind("sealed response", 0) == 0) return e;
  return Prefixed("sealed response", e);
}

std::string MediaType(const std::optional<std::string>& header) {
  std::string out = header.value_or("");
  out = out.substr(0, out.find(';'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

RandomSource CsprngRandom() {
  return [](uint64_t bound) { return crypto::RandomUniform(bound); };
}

Result<std::vector<NodeCandidate>> PickCandidates(std::span<const NodeCandidate> nodes, size_t k,
                                                  const RandomSource& random) {
  if (nodes.empty()) return Error(ErrorCode::kInvalidArgument, "candidates: the directory lists no node");
  if (k == 0 || k > wire::kMaxSealedCandidates) {
    return Error(ErrorCode::kInvalidArgument,
                 "candidates: K must be in [1, 8], got " + std::to_string(k));
  }
  std::set<Bytes> seen;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Result<Bytes> id = wire::NodeIdOf(nodes[i].config);
    if (!id.ok()) return Prefixed("candidates: node " + std::to_string(i), id.error());
    if (nodes[i].node_id.size() != wire::kNodeIdLength ||
        !crypto::ConstantTimeEqual(*id, nodes[i].node_id)) {
      return Error(ErrorCode::kMalformed, "candidates: node " + std::to_string(i) +
                                              ": node_id is not SHA-256 of its key config");
    }
    if (!seen.insert(nodes[i].node_id).second) {
      return Error(ErrorCode::kMalformed,
                   "candidates: node " + std::to_string(i) + " repeats an earlier node_id");
    }
  }
  // Partial Fisher–Yates over indices: the first `count` positions are a uniform sample.
  std::vector<size_t> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t count = std::min(k, nodes.size());
  std::vector<NodeCandidate> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t j = i + random(order.size() - i);
    if (j >= order.size()) {
      return Error(ErrorCode::kInternal, "candidates: the random source returned a value out of range");
    }
    std::swap(order[i], order[j]);
    out.push_back(nodes[order[i]]);
  }
  return out;
}

Result<SealedCall> SealedCall::Create(std::vector<NodeCandidate> candidates,
                                      const EngineRequest& request, std::chrono::sys_seconds now) {
  if (candidates.empty() || candidates.size() > wire::kMaxSealedCandidates) {
    return Error(ErrorCode::kInvalidArgument, "seal: 1 to 8 candidates are needed, got " +
                                                  std::to_string(candidates.size()));
  }
  std::vector<wire::SealedCandidate> sealed_to;
  for (size_t i = 0; i < candidates.size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(wire::SymmetricSuite suite, NodeSuite(candidates[i].config, i));
    sealed_to.push_back({candidates[i].config, suite});
  }
  bhttp::Request inner;
  inner.method = bhttp::Text(request.method);
  inner.scheme = "https";
  inner.authority = "openpcc.invalid";
  inner.path = bhttp::Text(request.path);
  inner.headers.push_back({bhttp::Text("date"), bhttp::Text(FormatHttpDate(now))});
  for (const auto& [name, value] : request.headers) {
    inner.headers.push_back({bhttp::Text(name), bhttp::Text(value)});
  }
  inner.content.assign(request.body.begin(), request.body.end());
  bhttp::EncodeOptions options;
  options.padding.to_multiple = bhttp::kPaddingMultiple;
  Result<crypto::SecretVector> encoded = bhttp::EncodeRequest(inner, options);
  if (!encoded.ok()) return Prefixed("seal", encoded.error());
  Bytes out;
  Result<wire::SealedRequestWriter> writer = wire::SealedRequestWriter::Create(sealed_to, out);
  if (!writer.ok()) return Prefixed("seal", writer.error());
  // Body chunks of at most 64 KiB (the sealed format's chunk limit).
  const ByteView all(encoded->data(), encoded->size());
  constexpr size_t kChunk = 64 * 1024;
  size_t at = 0;
  while (all.size() - at > kChunk) {
    Status wrote = writer->Write(all.subspan(at, kChunk), out);
    if (!wrote.ok()) return Prefixed("seal", wrote.error());
    at += kChunk;
  }
  Status finished = writer->Finish(all.subspan(at), out);
  if (!finished.ok()) return Prefixed("seal", finished.error());
  return SealedCall(std::move(candidates), std::move(out), std::move(writer).value());
}

InnerRequest SealedCall::GatewayRequest(const tokens::Token& token) const {
  InnerRequest r;
  r.method = "POST";
  r.path = std::string(kInferPath);
  r.headers = {{"content-type", std::string(wire::kSealedRequestMediaType)},
               {"authorization", tokens::FormatAuthorization(token.Encode())}};
  r.body.assign(reinterpret_cast<const char*>(sealed_.data()), sealed_.size());
  return r;
}

Result<std::unique_ptr<SealedResponseSink>> SealedCall::OpenResponse(ResponseSink& engine) const {
  Result<wire::SealedResponseReader> reader = writer_.MakeResponseReader();
  if (!reader.ok()) return Prefixed("seal", reader.error());
  return std::make_unique<SealedResponseSink>(std::move(reader).value(), engine);
}

class SealedResponseSink::Visitor final : public bhttp::StreamVisitor {
 public:
  explicit Visitor(ResponseSink& engine) : engine_(engine) {}
  Status OnResponseHead(bhttp::ResponseHead head) override {
    InnerResponseHead out;
    out.status = head.status;
    for (const bhttp::Field& f : head.headers) {
      out.headers.emplace_back(std::string(f.name.data(), f.name.size()),
                               std::string(f.value.data(), f.value.size()));
    }
    return engine_.OnHead(out);
  }
  Status OnContent(ByteView piece) override { return engine_.OnContent(piece); }
  Status OnTrailers(bhttp::Fields) override { return OkStatus(); }

 private:
  ResponseSink& engine_;
};

SealedResponseSink::SealedResponseSink(wire::SealedResponseReader reader, ResponseSink& engine)
    : reader_(std::move(reader)), visitor_(std::make_unique<Visitor>(engine)) {}
SealedResponseSink::~SealedResponseSink() = default;

Status SealedResponseSink::OnHead(const InnerResponseHead& head) {
  gateway_head_ = head;
  refused_ = head.status != 200 ||
             MediaType(head.header("content-type")) != wire::kSealedResponseMediaType;
  return OkStatus();
}

Status SealedResponseSink::OnContent(ByteView piece) {
  if (!gateway_head_) return Error(ErrorCode::kFailedPrecondition, "gateway: content before the head");
  if (refused_) {
    if (refusal_body_.size() < kMaxRefusalBody) {
      const size_t take = std::min(piece.size(), kMaxRefusalBody - refusal_body_.size());
      refusal_body_.append(reinterpret_cast<const char*>(piece.data()), take);
    }
    return OkStatus();
  }
  crypto::SecretBytes plain;
  Status pushed = OkStatus();
  {
    ScopedTime opening(open_time_);
    pushed = reader_.Push(piece, plain);
  }
  if (!pushed.ok()) return SealedError(pushed.error());
  if (!plain.empty()) {
    Status decoded = decoder_.Push(plain.view(), *visitor_);
    if (!decoded.ok()) return Prefixed("engine response", decoded.error());
  }
  return OkStatus();
}

Status SealedResponseSink::Finish() {
  if (!gateway_head_) return Error(ErrorCode::kIncomplete, "gateway: no inner response");
  if (refused_) {
    Error hop = RelayHopError(gateway_head_->status, refusal_body_);
    // RelayHopError names the relay hop; this refusal came from inside OHTTP, from the gateway.
    std::string message = hop.message();
    const std::string_view prefix = "relay hop: ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    if (gateway_head_->status == 200) {
      message = "media type '" + MediaType(gateway_head_->header("content-type")) +
                "', expected application/openpcc-sealed-response";
    }
    return Error(hop.code(), "gateway: " + message);
  }
  crypto::SecretBytes plain;
  Status finished = OkStatus();
  {
    ScopedTime opening(open_time_);
    finished = reader_.Finish(plain);
  }
  if (!finished.ok()) return SealedError(finished.error());
  if (!plain.empty()) {
    Status decoded = decoder_.Push(plain.view(), *visitor_);
    if (!decoded.ok()) return Prefixed("engine response", decoded.error());
  }
  Status done = decoder_.Finish(*visitor_);
  if (!done.ok()) return Prefixed("engine response", done.error());
  return OkStatus();
}

Result<Bytes> RunSealedCall(OhttpTransport& transport, const wire::KeyConfig& gateway,
                            std::span<const NodeCandidate> nodes, size_t k,
                            const EngineRequest& request, tokens::Wallet& wallet,
                            std::chrono::sys_seconds now, ResponseSink& engine,
                            const RandomSource& random) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<NodeCandidate> picked, PickCandidates(nodes, k, random));
  OPENPCC_ASSIGN_OR_RETURN(SealedCall call, SealedCall::Create(std::move(picked), request, now));
  Result<tokens::Token> token = wallet.Take(now);
  if (!token.ok()) return Prefixed("wallet", token.error());
  const InnerRequest inner = call.GatewayRequest(*token);
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<SealedResponseSink> sink, call.OpenResponse(engine));
  OPENPCC_RETURN_IF_ERROR(transport.Stream(gateway, inner, *sink));
  OPENPCC_RETURN_IF_ERROR(sink->Finish());
  return ToBytes(sink->node_id());
}

}  // namespace openpcc::client
