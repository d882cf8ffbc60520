// attest/binding.h — what ties platform evidence to one node key and one moment (DESIGN §2.4).
//
// A node's hardware report commits to 64 bytes (SEV-SNP REPORT_DATA, TDX REPORTDATA) or a TPM
// quote's qualifying data. OpenPCC fills them with a digest of
//
//   preimage = "openpcc evidence v1" || 0x00 || lp(key_config) || lp(gpu_digest)
//              || lp(freshness) || lp4(claims)
//
// so the report proves which HPKE key config the node holds, which GPU reports it presented, how
// fresh it is, and which models it claims to serve. lp/lp4 prefix 2- and 4-byte big-endian
// lengths; an input that does not fit is an error, never truncated. The node computes these values
// to request evidence; the client recomputes them from the bundle and compares.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest {

inline constexpr std::string_view kEvidenceLabel = "openpcc evidence v1";
inline constexpr std::string_view kGpuNonceLabel = "openpcc gpu nonce v1";

enum class FreshnessKind : uint8_t {
  kLogCheckpoint = 1,  // value = SHA-256 of the complete signed checkpoint note
  kClientNonce = 2,    // value = 32 bytes the client chose (POST /v1/attest)
};

struct Freshness {
  FreshnessKind kind = FreshnessKind::kLogCheckpoint;
  std::array<uint8_t, 32> value{};

  // kind(1) || value(32).
  Bytes Encode() const;
};

// One GPU's evidence as the bundle carries it.
struct GpuEvidence {
  std::string type;              // "nvidia-spdm"
  Bytes report;                  // the SPDM request || response
  std::vector<Bytes> chain_der;  // DER certificates, leaf first, in bundle order
};

// SHA-384(u8 n || for each device: lp(type) || lp4(report) || lp4(chain)), chain = the DER
// certificates concatenated. With no GPU the digest is the empty string.
Result<Bytes> GpuDigest(std::span<const GpuEvidence> gpus);

Result<Bytes> BindingPreimage(ByteView key_config, ByteView gpu_digest, const Freshness& freshness,
                              ByteView canonical_claims);

// SHA-512(preimage): the 64 bytes of SEV-SNP REPORT_DATA and TDX REPORTDATA.
Result<Bytes> ReportData(ByteView key_config, ByteView gpu_digest, const Freshness& freshness,
                         ByteView canonical_claims);

// SHA-256(preimage): the TPM quote's qualifying data.
Result<Bytes> TpmQualifyingData(ByteView key_config, ByteView gpu_digest,
                                const Freshness& freshness, ByteView canonical_claims);

// SHA-256("openpcc gpu nonce v1" || lp(key_config) || lp(freshness)): the nonce each GPU report is
// requested with, so a genuine GPU report cannot be replayed into another node's bundle.
Result<Bytes> GpuNonce(ByteView key_config, const Freshness& freshness);

}  // namespace openpcc::attest
