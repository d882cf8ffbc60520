#include "openpcc/tlog/cosignature.h"

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tlog {
namespace {

constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

Error CosigError(ErrorCode code, const std::string& what) { return Error(code, "cosignature: " + what); }

}  // namespace

std::string CosignedMessage(std::string_view checkpoint_text, uint64_t timestamp) {
  std::string out = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  out.append(checkpoint_text);
  return out;
}

CosignatureVerifier::CosignatureVerifier(std::string name, crypto::Ed25519PublicKey key)
    : name_(std::move(name)), key_(std::move(key)), key_id_(KeyId(name_, kSignatureTypeCosignatureV1, key_.bytes())) {}

Result<CosignatureVerifier> CosignatureVerifier::FromVkey(std::string_view vkey) {
  OPENPCC_ASSIGN_OR_RETURN(auto parsed, ParseVkey(vkey));
  if (parsed.type != kSignatureTypeCosignatureV1) {
    return CosigError(ErrorCode::kUnsupported, "vkey of " + parsed.name + " has signature type " +
                                                   std::to_string(parsed.type) + ", expected 4 (cosignature/v1)");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto key, crypto::Ed25519PublicKey::FromBytes(parsed.key));
  return CosignatureVerifier(std::move(parsed.name), std::move(key));
}

Result<CosignatureVerifier> CosignatureVerifier::FromPublicKey(std::string_view name,
                                                               const crypto::Ed25519PublicKey& key) {
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(name));
  return CosignatureVerifier(std::string(name), key);
}

std::string CosignatureVerifier::vkey() const { return FormatVkey(name_, kSignatureTypeCosignatureV1, key_.bytes()); }

Result<uint64_t> CosignatureVerifier::Verify(std::string_view checkpoint_text, const NoteSignature& signature) const {
  if (!Matches(signature)) return CosigError(ErrorCode::kUnknownKey, "signature is not by witness " + name_);
  wire::ByteReader reader(signature.signature);
  uint64_t timestamp = 0;
  if (!reader.ReadU64(&timestamp) || reader.remaining() != crypto::kEd25519SignatureLength) {
    return CosigError(ErrorCode::kMalformed, "by " + name_ + " is not 8 + 64 bytes");
  }
  if (timestamp > kMaxTimestamp) return CosigError(ErrorCode::kMalformed, "by " + name_ + " has a timestamp above 2^63-1");
  const std::string message = CosignedMessage(checkpoint_text, timestamp);
  if (!key_.Verify(AsBytes(message), reader.rest()).ok()) {
    return CosigError(ErrorCode::kAuthenticationFailed, "by " + name_ + " does not verify");
  }
  return timestamp;
}

Result<Cosigner> Cosigner::Create(std::string_view name, crypto::Ed25519PrivateKey key) {
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(name));
  return Cosigner(std::string(name), std::move(key));
}

CosignatureVerifier Cosigner::verifier() const {
  auto v = CosignatureVerifier::FromPublicKey(name_, key_.public_key());
  return std::move(v).value();
}

Result<NoteSignature> Cosigner::Cosign(std::string_view checkpoint_text, uint64_t timestamp) const {
  if (timestamp > kMaxTimestamp) return CosigError(ErrorCode::kInvalidArgument, "timestamp above 2^63-1");
  OPENPCC_ASSIGN_OR_RETURN(auto sig, key_.Sign(AsBytes(CosignedMessage(checkpoint_text, timestamp))));
  wire::ByteWriter w(8 + sig.size());
  w.WriteU64(timestamp);
  w.WriteBytes(sig);
  return NoteSignature{name_, KeyId(name_, kSignatureTypeCosignatureV1, key_.public_key().bytes()), w.Take()};
}

}  // namespace openpcc::tlog
