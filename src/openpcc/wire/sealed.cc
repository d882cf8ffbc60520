#include "openpcc/wire/sealed.h"

#include <algorithm>
#include <string>

#include "openpcc/crypto/random.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"
#include "openpcc/wire/ohttp.h"

namespace openpcc::wire {
namespace {

using crypto::HpkeSuite;
using crypto::SecretBytes;

Status CheckBodyAead(uint16_t id) {
  if (!crypto::IsKnownAead(id) || id == static_cast<uint16_t>(crypto::AeadId::kExportOnly)) {
    return Error(ErrorCode::kUnsupported, "sealed: body_aead_id " + HexU16(id) + " is not supported");
  }
  return OkStatus();
}

Bytes DekAad(ByteView header) {
  Bytes aad = ToBytes(kSealedDekAadLabel);
  Append(aad, crypto::Sha256(header));
  return aad;
}

Bytes ResponseExportContext(ByteView node_id, ByteView request_digest) {
  Bytes context = ToBytes(kSealedResponseLabel);
  context.push_back(0x00);
  Append(context, node_id);
  Append(context, request_digest);
  return context;
}

// The digest covers each body chunk as encode(8, len(c)) || c.
void HashChunk(crypto::Hasher& hasher, ByteView ciphertext) {
  ByteWriter length(8);
  length.WriteU64(ciphertext.size());
  hasher.Update(length.view());
  hasher.Update(ciphertext);
}

}  // namespace

Bytes SealedRequestInfo(ByteView node_id, const HpkeSuite& suite) {
  ByteWriter w;
  w.WriteBytes(AsBytes(kSealedRequestInfoLabel));
  w.WriteU8(0x00);
  w.WriteBytes(node_id);
  w.WriteU16(static_cast<uint16_t>(suite.kem));
  w.WriteU16(static_cast<uint16_t>(suite.kdf));
  w.WriteU16(static_cast<uint16_t>(suite.aead));
  return w.Take();
}

// ---- Client: request --------------------------------------------------------------------------

SealedRequestWriter::~SealedRequestWriter() = default;

Result<SealedRequestWriter> SealedRequestWriter::Create(std::span<const SealedCandidate> candidates, Bytes& out,
                                                        const SealOptions& options) {
  if (candidates.empty() || candidates.size() > kMaxSealedCandidates) {
    return Error(ErrorCode::kInvalidArgument, "sealed: candidate count " + std::to_string(candidates.size()) +
                                                  " is not in [1, 8]");
  }
  OPENPCC_RETURN_IF_ERROR(CheckBodyAead(static_cast<uint16_t>(options.body_aead)));
  std::vector<Bytes> node_ids;
  for (const auto& candidate : candidates) {
    if (!candidate.config.Supports(candidate.suite) || candidate.suite.aead == crypto::AeadId::kExportOnly) {
      return Error(ErrorCode::kInvalidArgument, "sealed: a candidate's suite is not one its key configuration lists");
    }
    OPENPCC_ASSIGN_OR_RETURN(Bytes node_id, NodeIdOf(candidate.config));
    if (std::find(node_ids.begin(), node_ids.end(), node_id) != node_ids.end()) {
      return Error(ErrorCode::kInvalidArgument, "sealed: the same node appears twice among the candidates");
    }
    node_ids.push_back(std::move(node_id));
  }

  const crypto::AeadId body_aead = options.body_aead;
  ByteWriter header;
  header.WriteU8(kSealedVersion);
  header.WriteU16(static_cast<uint16_t>(body_aead));
  header.WriteU8(static_cast<uint8_t>(candidates.size()));
  for (const auto& id : node_ids) header.WriteBytes(id);
  const SealedTestingValues* testing = options.testing;
  if (testing != nullptr &&
      (testing->dek.size() != crypto::AeadKeyLength(body_aead) ||
       testing->body_nonce.size() != crypto::AeadNonceLength(body_aead) ||
       testing->ephemeral_keys.size() != candidates.size())) {
    return Error(ErrorCode::kInvalidArgument, "sealed: testing values do not fit the request");
  }
  Bytes body_nonce(crypto::AeadNonceLength(body_aead));
  if (testing != nullptr) {
    body_nonce = ToBytes(testing->body_nonce);
  } else {
    crypto::RandomBytes(body_nonce);
  }
  header.WriteBytes(body_nonce);
  const Bytes dek_aad = DekAad(header.view());
  // A fresh DEK for every request, retries included; wiped when this function returns.
  const SecretBytes dek = testing != nullptr ? SecretBytes(testing->dek)
                                             : crypto::RandomSecret(crypto::AeadKeyLength(body_aead));

  ByteWriter wire;
  wire.WriteBytes(header.view());
  std::vector<Candidate> states;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const HpkeSuite suite = candidates[i].config.HpkeSuiteFor(candidates[i].suite);
    crypto::HpkeSenderOptions hpke_options;
    if (testing != nullptr) hpke_options.ephemeral_key_for_testing = testing->ephemeral_keys[i];
    OPENPCC_ASSIGN_OR_RETURN(auto sender, crypto::SetupSender(suite, candidates[i].config.public_key,
                                                              SealedRequestInfo(node_ids[i], suite), hpke_options));
    wire.WriteU16(static_cast<uint16_t>(suite.kem));
    wire.WriteU16(static_cast<uint16_t>(suite.kdf));
    wire.WriteU16(static_cast<uint16_t>(suite.aead));
    wire.WriteBytes(sender.enc);
    Bytes wrapped;
    OPENPCC_RETURN_IF_ERROR(sender.context.SealAppend(dek_aad, dek.view(), wrapped));
    wire.WriteBytes(wrapped);
    states.push_back(Candidate{node_ids[i], suite, std::move(sender.enc), std::move(sender.context)});
  }

  auto hasher = std::make_unique<crypto::Hasher>(crypto::HashId::kSha256);
  hasher->Update(wire.view());
  OPENPCC_ASSIGN_OR_RETURN(auto cipher, CounterChunkCipher::Create(body_aead, dek.view(), body_nonce));
  // max_total covers the whole request, as the node counts it.
  if (wire.size() >= options.limits.max_total) {
    return Error(ErrorCode::kOutOfRange, "sealed: header and candidates alone exceed the limit of " +
                                             std::to_string(options.limits.max_total) + " bytes");
  }
  ChunkLimits body_limits = options.limits;
  body_limits.max_total -= wire.size();
  ChunkWriter body(std::make_unique<CounterChunkCipher>(std::move(cipher)), body_limits);
  crypto::Hasher* digest_hasher = hasher.get();
  body.set_observer([digest_hasher](ByteView ciphertext) { HashChunk(*digest_hasher, ciphertext); });
  Append(out, wire.view());
  return SealedRequestWriter(std::move(states), std::move(hasher), std::move(body));
}

Status SealedRequestWriter::Finish(ByteView plaintext, Bytes& out) {
  OPENPCC_RETURN_IF_ERROR(body_.Finish(plaintext, out));
  digest_ = hasher_->Finish();
  return OkStatus();
}

Result<SealedResponseReader> SealedRequestWriter::MakeResponseReader(ChunkLimits limits) const {
  if (digest_.empty()) return Error(ErrorCode::kFailedPrecondition, "sealed: the request is not finished");
  std::vector<SealedResponseReader::Expected> expected;
  for (const auto& c : candidates_) {
    OPENPCC_ASSIGN_OR_RETURN(auto secret, c.context.Export(ResponseExportContext(c.node_id, digest_),
                                                           ResponseNonceLength(c.suite.aead)));
    expected.push_back({c.node_id, c.suite, c.enc, std::move(secret)});
  }
  return SealedResponseReader(std::move(expected), limits);
}

// ---- Client: response -------------------------------------------------------------------------

Status SealedResponseReader::Fail(Error error) {
  failed_ = true;
  for (auto& e : expected_) e.secret.Clear();
  return error;
}

Status SealedResponseReader::Push(ByteView bytes, SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "sealed response: stream already failed");
  while (!reader_ && !bytes.empty()) {
    size_t want = kNodeIdLength;
    if (chosen_ < expected_.size()) want += ResponseNonceLength(expected_[chosen_].suite.aead);
    if (!FillTo(prelude_, want, bytes)) break;
    if (chosen_ >= expected_.size()) {
      for (size_t i = 0; i < expected_.size(); ++i) {
        if (crypto::ConstantTimeEqual(expected_[i].node_id, prelude_)) chosen_ = i;
      }
      if (chosen_ >= expected_.size()) {
        return Fail(Error(ErrorCode::kUnknownKey, "sealed response: node_id is not one of the request's candidates"));
      }
      continue;
    }
    const Expected& node = expected_[chosen_];
    const ByteView nonce = ByteView(prelude_).subspan(kNodeIdLength);
    auto keys = DeriveResponseKeys(node.suite, node.secret.view(), node.enc, nonce);
    if (!keys.ok()) return Fail(std::move(keys).error());
    auto cipher = CounterChunkCipher::Create(node.suite.aead, keys->key.view(), keys->nonce.view());
    if (!cipher.ok()) return Fail(std::move(cipher).error());
    reader_ = std::make_unique<ChunkReader>(std::make_unique<CounterChunkCipher>(std::move(cipher).value()), limits_);
    for (auto& e : expected_) e.secret.Clear();
  }
  if (!reader_ || bytes.empty()) return OkStatus();
  Status pushed = reader_->Push(bytes, out);
  if (!pushed.ok()) failed_ = true;
  return pushed;
}

Status SealedResponseReader::Finish(SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "sealed response: stream already failed");
  if (!reader_) {
    return Fail(Error(ErrorCode::kIncomplete, "sealed response: stream ended before node_id and response_nonce"));
  }
  Status finished = reader_->Finish(out);
  if (!finished.ok()) failed_ = true;
  return finished;
}

// ---- Node: request ----------------------------------------------------------------------------

Result<NodeKey> MakeNodeKey(KeyConfig config, std::shared_ptr<const crypto::DhPrivateKey> private_key) {
  if (!private_key || private_key->kem_id() != config.kem ||
      !crypto::ConstantTimeEqual(private_key->public_key(), config.public_key)) {
    return Error(ErrorCode::kInvalidArgument, "sealed: private key does not match the key configuration");
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes node_id, NodeIdOf(config));
  return NodeKey{std::move(config), std::move(node_id), std::move(private_key)};
}

SealedRequestReader::SealedRequestReader(std::vector<NodeKey> keys, ChunkLimits limits, ReplayCheck replay_check)
    : keys_(std::move(keys)),
      limits_(limits),
      replay_check_(std::move(replay_check)),
      hasher_(std::make_unique<crypto::Hasher>(crypto::HashId::kSha256)) {}

SealedRequestReader::~SealedRequestReader() = default;

Status SealedRequestReader::Fail(Error error) {
  failed_ = true;
  prelude_.clear();
  return error;
}

Result<bool> SealedRequestReader::TryParsePrelude() {
  ByteReader r(prelude_);
  uint8_t version = 0, count = 0;
  uint16_t body_aead = 0;
  if (!r.ReadU8(&version)) return false;
  if (version != kSealedVersion) {
    return Error(ErrorCode::kUnsupported, "sealed: unknown version " + std::to_string(version));
  }
  if (!r.ReadU16(&body_aead)) return false;
  OPENPCC_RETURN_IF_ERROR(CheckBodyAead(body_aead));
  const auto body_aead_id = static_cast<crypto::AeadId>(body_aead);
  if (!r.ReadU8(&count)) return false;
  if (count < 1 || count > kMaxSealedCandidates) {
    return Error(ErrorCode::kMalformed, "sealed: candidate count " + std::to_string(count) + " is not in [1, 8]");
  }
  std::vector<ByteView> node_ids(count);
  for (auto& id : node_ids) {
    if (!r.ReadBytes(kNodeIdLength, &id)) return false;
  }
  size_t own = SIZE_MAX;
  const NodeKey* key = nullptr;
  for (size_t i = 0; i < count; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (std::ranges::equal(node_ids[i], node_ids[j])) {
        return Error(ErrorCode::kMalformed, "sealed: duplicate node_id at candidates " + std::to_string(j) +
                                                " and " + std::to_string(i));
      }
    }
    for (const auto& k : keys_) {
      if (!std::ranges::equal(k.node_id, node_ids[i])) continue;
      if (key != nullptr) {
        return Error(ErrorCode::kMalformed, "sealed: more than one candidate is this node");
      }
      own = i;
      key = &k;
    }
  }
  if (key == nullptr) return Error(ErrorCode::kUnknownKey, "sealed: no candidate is this node");
  ByteView body_nonce;
  if (!r.ReadBytes(crypto::AeadNonceLength(body_aead_id), &body_nonce)) return false;
  const size_t header_length = prelude_.size() - r.remaining();

  HpkeSuite own_suite{};
  ByteView own_enc, own_wrapped;
  for (size_t i = 0; i < count; ++i) {
    uint16_t kem = 0, kdf = 0, aead = 0;
    if (!r.ReadU16(&kem) || !r.ReadU16(&kdf) || !r.ReadU16(&aead)) return false;
    auto suite = crypto::HpkeSuiteFromIds(kem, kdf, aead);
    if (!suite.ok()) {
      return Error(ErrorCode::kUnsupported, "sealed: candidate " + std::to_string(i) + ": " + suite.error().message());
    }
    if (suite->aead == crypto::AeadId::kExportOnly) {
      return Error(ErrorCode::kUnsupported, "sealed: candidate " + std::to_string(i) + " uses the export-only AEAD");
    }
    ByteView enc, wrapped;
    if (!r.ReadBytes(crypto::KemPublicKeyLength(suite->kem), &enc)) return false;
    if (!r.ReadBytes(crypto::AeadKeyLength(body_aead_id) + crypto::AeadTagLength(suite->aead), &wrapped)) return false;
    if (i == own) {
      own_suite = *suite;
      own_enc = enc;
      own_wrapped = wrapped;
    }
  }
  const size_t prelude_length = prelude_.size() - r.remaining();

  if (own_suite.kem != key->config.kem || !key->config.Supports({own_suite.kdf, own_suite.aead})) {
    return Error(ErrorCode::kUnsupported, "sealed: this node's candidate uses suite (kem " +
                                              HexU16(static_cast<uint16_t>(own_suite.kem)) + ", kdf " +
                                              HexU16(static_cast<uint16_t>(own_suite.kdf)) + ", aead " +
                                              HexU16(static_cast<uint16_t>(own_suite.aead)) +
                                              ") that its key configuration does not list");
  }
  auto context = crypto::SetupRecipient(own_suite, own_enc, *key->private_key, SealedRequestInfo(key->node_id, own_suite));
  if (!context.ok()) {
    return Error(context.error().code(), "sealed: this node's enc is invalid (" + context.error().message() + ")");
  }
  auto dek = context->Open(DekAad(ByteView(prelude_).first(header_length)), own_wrapped);
  if (!dek.ok()) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "sealed: wrapped_dek does not open (header, candidate list or key changed)");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto cipher, CounterChunkCipher::Create(body_aead_id, dek->view(), body_nonce));
  // The replay table sees enc before a single body byte is decrypted.
  if (replay_check_) {
    Status fresh = replay_check_(own_enc);
    if (!fresh.ok()) return Error(fresh.error().code(), "sealed: " + fresh.error().message());
  }

  hasher_->Update(ByteView(prelude_).first(prelude_length));
  suite_ = own_suite;
  enc_ = ToBytes(own_enc);
  node_id_ = key->node_id;
  context_ = std::make_unique<crypto::HpkeContext>(std::move(context).value());
  // max_total covers the whole request: the body may use what the header and candidates left.
  ChunkLimits body_limits = limits_;
  body_limits.max_total -= prelude_length;  // prelude_length <= max_total, checked by Push
  body_ = std::make_unique<ChunkReader>(std::make_unique<CounterChunkCipher>(std::move(cipher)), body_limits);
  crypto::Hasher* digest_hasher = hasher_.get();
  body_->set_observer([digest_hasher](ByteView ciphertext) { HashChunk(*digest_hasher, ciphertext); });
  // Whatever followed the candidates is the start of the body.
  prelude_.erase(prelude_.begin(), prelude_.begin() + static_cast<std::ptrdiff_t>(prelude_length));
  return true;
}

Status SealedRequestReader::Push(ByteView bytes, SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "sealed: request stream already failed");
  if (!body_) {
    if (bytes.size() > limits_.max_total - prelude_.size()) {  // prelude_.size() <= max_total
      return Fail(Error(ErrorCode::kOutOfRange, "sealed: request exceeds the limit of " +
                                                    std::to_string(limits_.max_total) + " bytes"));
    }
    prelude_.insert(prelude_.end(), bytes.begin(), bytes.end());
    auto parsed = TryParsePrelude();
    if (!parsed.ok()) return Fail(std::move(parsed).error());
    if (!*parsed) return OkStatus();
    Bytes rest = std::move(prelude_);
    prelude_.clear();
    if (rest.empty()) return OkStatus();
    Status pushed = body_->Push(rest, out);
    if (!pushed.ok()) failed_ = true;
    return pushed;
  }
  Status pushed = body_->Push(bytes, out);
  if (!pushed.ok()) failed_ = true;
  return pushed;
}

Status SealedRequestReader::Finish(SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "sealed: request stream already failed");
  if (!digest_.empty()) return Error(ErrorCode::kFailedPrecondition, "sealed: request stream already finished");
  if (!body_) {
    return Fail(Error(ErrorCode::kTruncated, "sealed: request ended before its header and candidates were complete"));
  }
  Status finished = body_->Finish(out);
  if (!finished.ok()) {
    failed_ = true;
    return finished;
  }
  digest_ = hasher_->Finish();
  return OkStatus();
}

Result<SealedResponseWriter> SealedRequestReader::MakeResponseWriter(Bytes& out, ChunkLimits limits,
                                                                     ByteView response_nonce_for_testing) {
  if (failed_ || digest_.empty()) {
    return Error(ErrorCode::kFailedPrecondition, "sealed: the request is not finished and authenticated");
  }
  if (response_started_) return Error(ErrorCode::kFailedPrecondition, "sealed: response already started");
  response_started_ = true;
  const size_t nonce_length = ResponseNonceLength(suite_.aead);
  OPENPCC_ASSIGN_OR_RETURN(auto secret, context_->Export(ResponseExportContext(node_id_, digest_), nonce_length));
  OPENPCC_ASSIGN_OR_RETURN(Bytes nonce, MakeResponseNonce(suite_.aead, response_nonce_for_testing));
  OPENPCC_ASSIGN_OR_RETURN(auto keys, DeriveResponseKeys(suite_, secret.view(), enc_, nonce));
  OPENPCC_ASSIGN_OR_RETURN(auto cipher, CounterChunkCipher::Create(suite_.aead, keys.key.view(), keys.nonce.view()));
  Append(out, node_id_);
  Append(out, nonce);
  return SealedResponseWriter(ChunkWriter(std::make_unique<CounterChunkCipher>(std::move(cipher)), limits));
}

}  // namespace openpcc::wire
