// attest/bundle_builder.h — the node side of DESIGN §2.4: assembling an evidence bundle.
//
// The order matters because each piece binds the ones before it:
//   1. the GPU nonce from key_config and freshness (attest/binding.h GpuNonce), and each GPU's
//      report requested with it;
//   2. the GPU digest over those reports, then REPORT_DATA (or the TPM qualifying data) over
//      key_config, the GPU digest, freshness and the canonical claims;
//   3. the platform evidence requested over that value;
//   4. the bundle: node_id = SHA-256(key_config), the parts above, the release.
// Collectors (attest/collect/) do the platform-specific I/O behind PlatformCollector and
// GpuCollector, so this module does no I/O and tests drive it with fakes.
//
// Thread safety: BuildBundle is reentrant; a collector's own contract applies to its calls.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/attest/bundle.h"
#include "openpcc/util/result.h"

namespace openpcc::attest {

class PlatformCollector {
 public:
  virtual ~PlatformCollector() = default;
  virtual Platform platform() const = 0;
  // The platform's cpu_evidence parts (RequiredCpuEvidence names), committing to `binding`:
  // REPORT_DATA (64 bytes) for sev-snp, tdx and sim; qualifying data (32 bytes) for tpm.
  virtual Result<std::map<std::string, Bytes>> Collect(ByteView binding) = 0;
  // What BuildBundle calls. A platform whose evidence also proves the node key itself (tpm:
  // TPM2_CertifyCreation of the TPM-resident key) needs to know which key the bundle is for; the
  // others ignore `key_config`.
  virtual Result<std::map<std::string, Bytes>> CollectFor(ByteView key_config, ByteView binding) {
    static_cast<void>(key_config);
    return Collect(binding);
  }
};

class GpuCollector {
 public:
  virtual ~GpuCollector() = default;
  // One GpuEvidence per device, each report requested with `nonce` (32 bytes).
  virtual Result<std::vector<GpuEvidence>> Collect(ByteView nonce) = 0;
};

// Freshness kind 1 from the complete signed checkpoint note (value = its SHA-256).
BundleFreshness FreshnessFromCheckpoint(std::string checkpoint_note);
// Freshness kind 2 from the nonce the client sent.
BundleFreshness FreshnessFromNonce(const std::array<uint8_t, 32>& nonce);

struct BundleInputs {
  Bytes key_config;  // the node's RFC 9458 KeyConfig
  Claims claims;
  BundleFreshness freshness;
  std::optional<BundleRelease> release;  // the release the node runs, with its inclusion proof
};

// `gpus` may be null for a node without GPUs.
Result<EvidenceBundle> BuildBundle(const BundleInputs& inputs, PlatformCollector& platform,
                                   GpuCollector* gpus = nullptr);

}  // namespace openpcc::attest
