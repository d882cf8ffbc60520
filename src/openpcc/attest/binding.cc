#include "openpcc/attest/binding.h"

#include <limits>

#include "openpcc/crypto/hash.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::attest {
namespace {

Error TooLong(std::string_view field, size_t size, size_t max) {
  return Error(ErrorCode::kOutOfRange, "evidence binding: " + std::string(field) + " is " +
                                           std::to_string(size) + " bytes, more than " +
                                           std::to_string(max) + " its length prefix can hold");
}

Status WriteLp(wire::ByteWriter& out, std::string_view field, ByteView value) {
  if (!out.WriteU16Prefixed(value)) {
    return TooLong(field, value.size(), std::numeric_limits<uint16_t>::max());
  }
  return OkStatus();
}

Status WriteLp4(wire::ByteWriter& out, std::string_view field, ByteView value) {
  if (!out.WriteU32Prefixed(value)) {
    return TooLong(field, value.size(), std::numeric_limits<uint32_t>::max());
  }
  return OkStatus();
}

}  // namespace

Bytes Freshness::Encode() const {
  Bytes out;
  out.reserve(1 + value.size());
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Result<Bytes> GpuDigest(std::span<const GpuEvidence> gpus) {
  if (gpus.empty()) return Bytes{};
  if (gpus.size() > std::numeric_limits<uint8_t>::max()) {
    return Error(ErrorCode::kOutOfRange, "evidence binding: more than 255 GPU reports");
  }
  wire::ByteWriter out;
  out.WriteU8(static_cast<uint8_t>(gpus.size()));
  for (const GpuEvidence& gpu : gpus) {
    OPENPCC_RETURN_IF_ERROR(WriteLp(out, "gpu type", AsBytes(gpu.type)));
    OPENPCC_RETURN_IF_ERROR(WriteLp4(out, "gpu report", gpu.report));
    Bytes chain;
    for (const Bytes& cert : gpu.chain_der) Append(chain, cert);
    OPENPCC_RETURN_IF_ERROR(WriteLp4(out, "gpu certificate chain", chain));
  }
  return crypto::Sha384(out.view());
}

Result<Bytes> BindingPreimage(ByteView key_config, ByteView gpu_digest, const Freshness& freshness,
                              ByteView canonical_claims) {
  wire::ByteWriter out(kEvidenceLabel.size() + 1 + key_config.size() + gpu_digest.size() + 33 +
                       canonical_claims.size() + 10);
  out.WriteBytes(AsBytes(kEvidenceLabel));
  out.WriteU8(0);
  OPENPCC_RETURN_IF_ERROR(WriteLp(out, "key_config", key_config));
  OPENPCC_RETURN_IF_ERROR(WriteLp(out, "gpu_digest", gpu_digest));
  OPENPCC_RETURN_IF_ERROR(WriteLp(out, "freshness", freshness.Encode()));
  OPENPCC_RETURN_IF_ERROR(WriteLp4(out, "claims", canonical_claims));
  return out.Take();
}

Result<Bytes> ReportData(ByteView key_config, ByteView gpu_digest, const Freshness& freshness,
                         ByteView canonical_claims) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes preimage,
                           BindingPreimage(key_config, gpu_digest, freshness, canonical_claims));
  return crypto::Sha512(preimage);
}

Result<Bytes> TpmQualifyingData(ByteView key_config, ByteView gpu_digest,
                                const Freshness& freshness, ByteView canonical_claims) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes preimage,
                           BindingPreimage(key_config, gpu_digest, freshness, canonical_claims));
  return crypto::Sha256(preimage);
}

Result<Bytes> GpuNonce(ByteView key_config, const Freshness& freshness) {
  wire::ByteWriter out;
  out.WriteBytes(AsBytes(kGpuNonceLabel));
  OPENPCC_RETURN_IF_ERROR(WriteLp(out, "key_config", key_config));
  OPENPCC_RETURN_IF_ERROR(WriteLp(out, "freshness", freshness.Encode()));
  return crypto::Sha256(out.view());
}

}  // namespace openpcc::attest
