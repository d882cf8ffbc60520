// attest/bundle_verifier.h — the client's decision about one node: an evidence bundle
// (attest/bundle.h) verified offline under a BundlePolicy (attest/bundle_policy.h) and the log
// entries the client has read (tlog::ReleaseIndex). DESIGN §2.4 "Verification by the client".
//
// Order of checks; the first failure is returned, its message starting with the step's name:
//   release     (before step 1) the bundle carries a release; its manifest entry is signed by a
//               policy release key. Steps 1 and 2 compare with values the manifest states; whether
//               the manifest is in the log is step 4, so nothing is accepted on an unlogged one.
//   1 platform  the platform is accepted by the policy; its evidence verifies through the matching
//               verifier: sev-snp (attest/snp: AMD chain pinned, DEBUG/MIGRATE_MA = 0, VMPL,
//               HOST_DATA and ID_KEY_DIGEST as the manifest states, REPORTED_TCB >= the policy's
//               minimum, then >= the latest logged sev-snp minimum-TCB notice), tdx (attest/tdx:
//               quote, PCK chain, collateral; then TEE_TCB_SVN bytes, PCE SVN and QE ISVSVN >= the
//               latest logged tdx notice; then accepted TCB statuses, DEBUG = 0, SEPT_VE_DISABLE = 1,
//               MRCONFIGID/MROWNER/MROWNERCONFIG as the manifest states, and the CCEL, when carried,
//               replays to the quote's RTMRs; evidence below a notice is refused naming the
//               component; tpm and sim, which have no notices, fail closed if the index held one), tpm
//               (attest/tpm: AK certificate to a policy root, quote signature and PCR digest,
//               CertifyCreation of the node key by the AK, that key equal to key_config's), sim
//               (attest/sim, under a policy sim root; the result is flagged simulated).
//   2 gpu       at least max(manifest gpu.devices, policy minimum) reports, no NVSwitch
//               requirement (unsupported: fails closed), no device twice; each SPDM report verifies
//               (attest/nvgpu) with nonce == ExpectedGpuNonce(); RIMs (from the policy) required
//               when the manifest lists rim_ids, and each verified RIM's id is listed there.
//   3 binding   REPORT_DATA (sev-snp, tdx, sim) or the quote's qualifying data (tpm) equals the
//               value recomputed from the bundle (attest/binding.h).
//   4 reference when the release checkpoint verifies under the log policy, it includes the manifest
//               entry at log_index (a checkpoint without the witness quorum is not an error: the
//               client's own read proves inclusion); the client's ReleaseIndex has read past that index, holds the
//               same release there, and has not seen it revoked; the measurement (sev-snp/sim
//               MEASUREMENT, tdx MRTD + RTMR0-2, tpm SHA-256 PCRs) and, for sev-snp, the guest
//               policy are the manifest's; for tpm also the node key's authPolicy is PolicyPCR
//               over exactly the manifest's SHA-256 PCRs at its values (a key usable only while
//               the TPM is in the released state); every claimed model is listed in the manifest.
//   5 freshness kind 1: value == SHA-256(checkpoint note), the note verifies under the log policy
//               and now - not_before <= max_age; kind 2: value == the nonce the client sent.
// `now` is always a parameter: certificates, collateral and freshness are judged at that time.
//
// Each step is also callable alone (for tests whose real vectors cannot carry our binding).
//
// Thread safety: pure functions over their arguments.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_policy.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/release.h"
#include "openpcc/util/result.h"

namespace openpcc::attest {

struct VerifyContext {
  std::chrono::sys_seconds now;
  // Freshness kind 2: the 32 bytes the client sent with POST /v1/attest.
  std::optional<std::array<uint8_t, 32>> client_nonce;
};

// The release manifest a bundle names, decoded and signature-checked (not yet proven logged).
struct DecodedRelease {
  Bytes release_id;  // SHA-256 of the manifest's canonical JSON
  tlog::ReleaseManifest manifest;
};

// Step 1's result: what the platform evidence established.
struct PlatformResult {
  Platform platform = Platform::kSim;
  Bytes bound_value;   // REPORT_DATA (64 bytes) or the TPM quote's qualifying data
  Bytes measurement;   // sev-snp/sim MEASUREMENT, tdx MRTD; empty for tpm
  std::array<Bytes, 3> rtmr;       // tdx RTMR0..2
  std::map<uint32_t, Bytes> pcrs;  // tpm: the quoted SHA-256 bank
  Bytes tpm_key_auth_policy;       // tpm: the certified node key's authPolicy
  uint16_t tpm_key_name_alg = 0;   // tpm: its nameAlg (the policy digest's hash)
  uint64_t snp_guest_policy = 0;
  bool simulated = false;
  boost::json::object claims;  // the platform verifier's claims
};

struct GpuSummary {
  std::string arch;
  std::string driver_version;
  std::string vbios_version;
  bool rims_checked = false;
  boost::json::object ToJson() const;
};

struct VerifiedNode {
  Bytes node_id;
  Bytes key_config;
  Platform platform = Platform::kSim;
  Bytes measurement;
  std::string release_id;  // hex
  std::string release_version;
  uint64_t log_index = 0;
  FreshnessKind freshness_kind = FreshnessKind::kLogCheckpoint;
  std::optional<std::chrono::sys_seconds> freshness_not_before;  // kind 1
  bool simulated = false;
  std::vector<GpuSummary> gpus;
  std::vector<ModelClaim> models;
  boost::json::object platform_claims;

  // {"node_id","key_config","platform","simulated","measurement","release":{"id","version",
  //  "log_index"},"freshness":{"kind","not_before"?},"models":[...],"gpus":[...],"platform_claims"}
  boost::json::object ToJson() const;
};

Result<DecodedRelease> DecodeBundleRelease(const EvidenceBundle& bundle, const BundlePolicy& policy);
Result<PlatformResult> VerifyPlatformStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                          const DecodedRelease& release, const tlog::ReleaseIndex& index,
                                          std::chrono::sys_seconds now);
Result<std::vector<GpuSummary>> VerifyGpuStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                              const DecodedRelease& release, std::chrono::sys_seconds now);
Status CheckBindingStep(const EvidenceBundle& bundle, const PlatformResult& platform);
Status CheckReferenceStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                          const DecodedRelease& release, const tlog::ReleaseIndex& index,
                          const PlatformResult& platform);
// The freshness checkpoint's not_before for kind 1; nullopt for kind 2.
Result<std::optional<std::chrono::sys_seconds>> CheckFreshnessStep(const EvidenceBundle& bundle,
                                                                   const BundlePolicy& policy,
                                                                   const VerifyContext& context);

// Every step in order.
Result<VerifiedNode> VerifyBundle(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                  const tlog::ReleaseIndex& index, const VerifyContext& context);

}  // namespace openpcc::attest
