#include "openpcc/crypto/hpke.h"

#include <string>

#include "openpcc/crypto/hpke_labels.h"

namespace openpcc::crypto {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";
constexpr size_t kMinPskLength = 32;

void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

Bytes HpkeSuiteId(const HpkeSuite& suite) {
  Bytes id{'H', 'P', 'K', 'E'};
  PutU16(id, static_cast<uint16_t>(suite.kem));
  PutU16(id, static_cast<uint16_t>(suite.kdf));
  PutU16(id, static_cast<uint16_t>(suite.aead));
  return id;
}

HpkeMode ModeOf(bool has_psk, bool has_auth) {
  if (has_psk) return has_auth ? HpkeMode::kAuthPsk : HpkeMode::kPsk;
  return has_auth ? HpkeMode::kAuth : HpkeMode::kBase;
}

// VerifyPSKInputs (RFC 9180 §5.1): a PSK is given exactly in the psk modes, and then in full.
Status VerifyPsk(HpkeMode mode, const std::optional<HpkePsk>& psk) {
  const bool psk_mode = mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk;
  if (psk_mode != psk.has_value()) {
    return Error(ErrorCode::kInvalidArgument, psk_mode ? "hpke: psk mode without a psk" : "hpke: psk given in a non-psk mode");
  }
  if (!psk) return OkStatus();
  if (psk->psk.empty() || psk->psk_id.empty()) {
    return Error(ErrorCode::kInvalidArgument, "hpke: psk and psk_id must both be non-empty");
  }
  if (psk->psk.size() < kMinPskLength) {
    return Error(ErrorCode::kInvalidArgument, "hpke: psk is shorter than 32 bytes");
  }
  return OkStatus();
}

}  // namespace

Result<SecretBytes> LabeledExtract(KdfId kdf, ByteView suite_id, ByteView salt,
                                   std::string_view label, ByteView ikm) {
  SecretBytes labeled_ikm;
  labeled_ikm.Append(AsBytes(kVersionLabel));
  labeled_ikm.Append(suite_id);
  labeled_ikm.Append(AsBytes(label));
  labeled_ikm.Append(ikm);
  return HkdfExtract(kdf, salt, labeled_ikm.view());
}

Result<SecretBytes> LabeledExpand(KdfId kdf, ByteView suite_id, ByteView prk,
                                  std::string_view label, ByteView info, size_t length) {
  if (length > 0xffff) return Error(ErrorCode::kInvalidArgument, "hpke: expand length over 65535");
  Bytes labeled_info;
  labeled_info.reserve(2 + kVersionLabel.size() + suite_id.size() + label.size() + info.size());
  PutU16(labeled_info, static_cast<uint16_t>(length));
  Append(labeled_info, AsBytes(kVersionLabel));
  Append(labeled_info, suite_id);
  Append(labeled_info, AsBytes(label));
  Append(labeled_info, info);
  return HkdfExpand(kdf, prk, labeled_info, length);
}

Result<HpkeSuite> HpkeSuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id) {
  if (!IsKnownKem(kem_id)) return Error(ErrorCode::kUnsupported, "hpke: kem_id " + HexU16(kem_id) + " is not supported");
  if (!IsKnownKdf(kdf_id)) return Error(ErrorCode::kUnsupported, "hpke: kdf_id " + HexU16(kdf_id) + " is not supported");
  if (!IsKnownAead(aead_id)) return Error(ErrorCode::kUnsupported, "hpke: aead_id " + HexU16(aead_id) + " is not supported");
  return HpkeSuite{static_cast<KemId>(kem_id), static_cast<KdfId>(kdf_id), static_cast<AeadId>(aead_id)};
}

Result<HpkeContext> KeySchedule(HpkeContext::Role role, HpkeMode mode, const HpkeSuite& suite,
                                ByteView shared_secret, ByteView info,
                                const std::optional<HpkePsk>& psk) {
  OPENPCC_RETURN_IF_ERROR(VerifyPsk(mode, psk));
  const Bytes suite_id = HpkeSuiteId(suite);
  const ByteView psk_bytes = psk ? psk->psk : ByteView{};
  const ByteView psk_id = psk ? psk->psk_id : ByteView{};
  OPENPCC_ASSIGN_OR_RETURN(auto psk_id_hash, LabeledExtract(suite.kdf, suite_id, {}, "psk_id_hash", psk_id));
  OPENPCC_ASSIGN_OR_RETURN(auto info_hash, LabeledExtract(suite.kdf, suite_id, {}, "info_hash", info));
  Bytes context;
  context.push_back(static_cast<uint8_t>(mode));
  Append(context, psk_id_hash.view());
  Append(context, info_hash.view());
  OPENPCC_ASSIGN_OR_RETURN(auto secret, LabeledExtract(suite.kdf, suite_id, shared_secret, "secret", psk_bytes));
  OPENPCC_ASSIGN_OR_RETURN(auto exporter_secret, LabeledExpand(suite.kdf, suite_id, secret.view(), "exp", context,
                                                               KdfHashLength(suite.kdf)));
  if (suite.aead == AeadId::kExportOnly) {
    return HpkeContext(role, suite, std::nullopt, SecretBytes(), std::move(exporter_secret));
  }
  OPENPCC_ASSIGN_OR_RETURN(auto key, LabeledExpand(suite.kdf, suite_id, secret.view(), "key", context,
                                                   AeadKeyLength(suite.aead)));
  OPENPCC_ASSIGN_OR_RETURN(auto base_nonce, LabeledExpand(suite.kdf, suite_id, secret.view(), "base_nonce",
                                                          context, AeadNonceLength(suite.aead)));
  OPENPCC_ASSIGN_OR_RETURN(auto aead_key, AeadKey::Create(suite.aead, key.view()));
  return HpkeContext(role, suite, std::move(aead_key), std::move(base_nonce), std::move(exporter_secret));
}

Result<HpkeSender> SetupSender(const HpkeSuite& suite, ByteView recipient_public_key, ByteView info,
                               const HpkeSenderOptions& options) {
  OPENPCC_ASSIGN_OR_RETURN(auto encapsulation, Encap(suite.kem, recipient_public_key,
                                                     options.ephemeral_key_for_testing, options.sender_key));
  const HpkeMode mode = ModeOf(options.psk.has_value(), options.sender_key != nullptr);
  OPENPCC_ASSIGN_OR_RETURN(auto context, KeySchedule(HpkeContext::Role::kSender, mode, suite,
                                                     encapsulation.shared_secret.view(), info, options.psk));
  return HpkeSender{std::move(encapsulation.enc), std::move(context)};
}

Result<HpkeContext> SetupRecipient(const HpkeSuite& suite, ByteView enc, const DhPrivateKey& recipient_key,
                                   ByteView info, const HpkeRecipientOptions& options) {
  if (recipient_key.kem_id() != suite.kem) {
    return Error(ErrorCode::kInvalidArgument, "hpke: recipient key is not of the suite's KEM");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto shared_secret, Decap(enc, recipient_key, options.sender_public_key));
  const HpkeMode mode = ModeOf(options.psk.has_value(), !options.sender_public_key.empty());
  return KeySchedule(HpkeContext::Role::kRecipient, mode, suite, shared_secret.view(), info, options.psk);
}

Result<AeadNonce> HpkeContext::NextNonce() const {
  if (!key_) return Error(ErrorCode::kFailedPrecondition, "hpke: export-only context cannot seal or open");
  if (exhausted_) return Error(ErrorCode::kFailedPrecondition, "hpke: message limit reached");
  return CounterNonce(base_nonce_.view(), sequence_);
}

Status HpkeContext::SealAppend(ByteView aad, ByteView plaintext, Bytes& out) {
  if (role_ != Role::kSender) return Error(ErrorCode::kFailedPrecondition, "hpke: a recipient context cannot seal");
  OPENPCC_ASSIGN_OR_RETURN(const AeadNonce nonce, NextNonce());
  OPENPCC_RETURN_IF_ERROR(key_->SealAppend(nonce, aad, plaintext, out));
  if (++sequence_ == 0) exhausted_ = true;
  return OkStatus();
}

Result<Bytes> HpkeContext::Seal(ByteView aad, ByteView plaintext) {
  Bytes out;
  OPENPCC_RETURN_IF_ERROR(SealAppend(aad, plaintext, out));
  return out;
}

Result<SecretBytes> HpkeContext::Open(ByteView aad, ByteView ciphertext) {
  SecretBytes plaintext;
  OPENPCC_RETURN_IF_ERROR(OpenAppend(aad, ciphertext, plaintext));
  return plaintext;
}

Status HpkeContext::OpenAppend(ByteView aad, ByteView ciphertext, SecretBytes& out) {
  if (role_ != Role::kRecipient) return Error(ErrorCode::kFailedPrecondition, "hpke: a sender context cannot open");
  OPENPCC_ASSIGN_OR_RETURN(const AeadNonce nonce, NextNonce());
  OPENPCC_RETURN_IF_ERROR(key_->OpenAppend(nonce, aad, ciphertext, out));
  // The sequence advances only on success, so a forged message does not desynchronise the stream.
  if (++sequence_ == 0) exhausted_ = true;
  return OkStatus();
}

Result<SecretBytes> HpkeContext::Export(ByteView exporter_context, size_t length) const {
  if (length == 0 || length > 255 * KdfHashLength(suite_.kdf)) {
    return Error(ErrorCode::kInvalidArgument, "hpke: export length is not in [1, 255*Nh]");
  }
  return LabeledExpand(suite_.kdf, HpkeSuiteId(suite_), exporter_secret_.view(), "sec", exporter_context, length);
}

}  // namespace openpcc::crypto
