// attest/nvgpu/verifier.h — offline verification of an NVIDIA GPU's attestation evidence
// (DESIGN.md §2.4, "GPU evidence"): an SPDM GET_MEASUREMENTS report (attest/nvgpu/spdm.h), the
// device certificate chain that signed it, and optionally the driver and VBIOS RIMs
// (attest/nvgpu/rim.h) that give its reference measurements.
//
// VerifyGpuEvidence runs these checks in order and stops at the first failure, whose error names
// the check ("nvgpu: report signature: ...", "nvgpu: nonce: ..."):
//   1. parse: the report's structure (spdm.h) and the PEM chain (leaf first);
//   2. architecture: the leaf is a Hopper (GH100) or Blackwell (GB100) GSP FMC leaf;
//   3. chain: leaf ← intermediates ← NVIDIA Device Identity CA (pinned), at policy.at;
//   4. report signature: ECDSA P-384 over SHA-384(request || response without signature) with
//      the leaf's key;
//   5. nonce: the request nonce equals the expected nonce, when one is given;
//   6. FWID: the report's FWID, when it has one, equals the one in the leaf's TCG DICE extension;
//   7. CC feature: the opaque FEATURE_FLAG (when the report has one) is allowed by the policy;
//   8. RIMs (each of driver, VBIOS; required by default): signature and chain to NVIDIA's RIM
//      root (pinned) at policy.at, chip name, version equal to the report's driver / VBIOS
//      version, no index active in both, every active reference measurement matched by the
//      report's block (RIM index i is SPDM block i+1; index 35 is skipped when NVDEC0 is off).
// What this proves and does not prove is in docs/attestation.md ("NVIDIA GPU").
//
// Thread safety: pure functions; the pinned roots are immutable.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/attest/nvgpu/rim.h"
#include "openpcc/attest/nvgpu/spdm.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::nvgpu {

// The nonce a node requests GPU evidence with (DESIGN §2.4) is attest::GpuNonce in
// attest/binding.h; this verifier only compares the report's nonce with the expected one.

constexpr uint8_t CcFeatureBit(CcFeature feature) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(feature));
}
inline constexpr uint8_t kAllCcFeatures = CcFeatureBit(CcFeature::kMultiGpuPassthrough) |
                                          CcFeatureBit(CcFeature::kSingleGpuPassthrough) |
                                          CcFeatureBit(CcFeature::kProtectedPcie);

enum class GpuArch : uint8_t { kHopper, kBlackwell };
std::string_view GpuArchName(GpuArch arch);  // "hopper", "blackwell"

struct NvGpuPolicy {
  // Certificates (device chain and RIM signers) are evaluated at this time, never the wall clock.
  std::chrono::sys_seconds at{};
  // RIM XML texts. A RIM that is required and absent fails closed.
  std::optional<std::string> driver_rim;
  std::optional<std::string> vbios_rim;
  bool require_driver_rim = true;
  bool require_vbios_rim = true;
  // A report's FWID, when present, must always match the leaf certificate's. NVIDIA's verifiers
  // accept reports without one (older firmware, e.g. driver 535); true refuses them.
  bool require_fwid = false;
  // Allowed CC feature modes (CcFeatureBit mask) when the report states one.
  uint8_t allowed_cc_features = kAllCcFeatures;
  // When true, a report that states no CC feature mode (older firmware) is refused.
  bool require_cc_feature = false;
  // Replaces the pinned NVIDIA roots; only tests set these (to exercise RIM matching with
  // manifests signed by a test root). Empty means the pinned roots.
  std::vector<crypto::Certificate> device_roots_for_testing;
  std::vector<crypto::Certificate> rim_roots_for_testing;
};

struct VerifiedRim {
  std::string tag_id;
  std::string version;
  std::vector<std::string> signer_chain;  // subjects, signer first
  size_t active_measurements = 0;
};

struct NvGpuClaims {
  GpuArch arch = GpuArch::kHopper;
  std::string driver_version;
  std::string vbios_version;
  std::string project;
  std::string project_sku;
  std::string chip_sku;
  std::optional<CcFeature> cc_feature;  // nullopt: the report states none
  std::array<uint8_t, kSpdmNonceLength> nonce{};  // the request nonce (signed)
  bool nonce_checked = false;                    // an expected nonce was given and matched
  std::array<uint8_t, kSpdmNonceLength> response_nonce{};
  Bytes fwid;  // empty when the report has none
  bool fwid_checked = false;
  uint8_t nvdec0_status = 0;
  std::vector<MeasurementBlock> measurements;
  std::vector<std::string> cert_subjects;  // leaf first, as verified
  std::optional<VerifiedRim> driver_rim;
  std::optional<VerifiedRim> vbios_rim;
  size_t trailing_bytes = 0;

  // For `openpcc evidence verify --type nvidia-gpu`: binary fields in lower-case hex.
  boost::json::object ToJson() const;
};

// The report as hex text or raw bytes (spdm.h DecodeReport); the chain as PEM, leaf first (the
// root may be included). `expected_nonce`, when given, must be exactly 32 bytes.
Result<NvGpuClaims> VerifyGpuEvidence(ByteView report, ByteView cert_chain_pem,
                                      std::optional<ByteView> expected_nonce,
                                      const NvGpuPolicy& policy);

// Steps 2–8 on an already parsed report and chain (leaf first), for a client that keeps the
// device chains it sees again and again parsed; the bytes overload above parses, then calls this.
Result<NvGpuClaims> VerifyGpuEvidence(const SpdmEvidence& evidence,
                                      std::span<const crypto::Certificate> cert_chain,
                                      std::optional<ByteView> expected_nonce,
                                      const NvGpuPolicy& policy);

// Step 8 alone, for callers and tests that hold parsed values: compares one verified RIM's active
// measurements with the report's blocks. `what` is "driver" or "vbios".
Status CompareRimMeasurements(std::string_view what, const Rim& rim, const SpdmEvidence& evidence,
                              uint8_t nvdec0_status);

}  // namespace openpcc::attest::nvgpu
