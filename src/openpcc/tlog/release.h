// tlog/release.h — the JSON models of the release-key entries (DESIGN §3): release manifests,
// revocations and minimum-TCB notices; parse (strict), validate, serialize (canonical JSON).
//
// Binary values are lowercase hex strings of a fixed length; integers are JSON integers below 2^53.
// Unknown members are refused, so a signed manifest has no part a verifier would silently ignore.
// A release is named by its *release id*: SHA-256 of the manifest's canonical JSON (the entry body),
// which is what revocations name.
//
// Manifest (members in canonical order when serialized):
//   { "build_recipe_sha256": hex32, "gpu": { "devices": n, "rim_ids": [str], "switches": n },
//     "models": [ { "name": str, "sha256": hex32 } ], "node_binary_sha256": hex32,
//     "platforms": { "sev-snp": { "host_data": hex32, "id_key_digest": hex48,
//                                 "measurements": [hex48], "policy": hex8, "vmpl": 0..3 },
//                    "tdx": { "mrconfigid": hex48, "mrowner": hex48, "mrownerconfig": hex48,
//                             "mrtd": [hex48], "rtmr0": hex48, "rtmr1": hex48, "rtmr2": hex48 },
//                    "tpm": { "pcrs": { "<0..23>": hex32 } },            (SHA-256 bank)
//                    "sim": { "measurements": [hex48] } },               (each platform optional)
//     "source_revision": str, "type": "openpcc-release/v1", "version": str }
// Revocation: { "reason": str, "release": hex32 release id, "type": "openpcc-revocation/v1" }
// Minimum TCB: { "components": { name: n }, "platform": "sev-snp"|"tdx",
//                "type": "openpcc-minimum-tcb/v1" }
//   Only platforms whose clients enforce a notice are accepted, and only the components they compare
//   (MinimumTcbComponents): a notice a client would silently ignore is refused when it is signed,
//   logged or read. sev-snp: bootloader, tee, snp, microcode, fmc (REPORTED_TCB's SPLs, 0..255; fmc
//   exists on Turin only and is not compared on Milan/Genoa, which have none). tdx: tee_tcb_svn_0 ..
//   tee_tcb_svn_15 (the bytes of the TD report's TEE_TCB_SVN, 0..255), pce_svn and qe_isv_svn (the
//   quote's PCE SVN and QE report ISVSVN, 0..65535). tpm has no TCB version (its state is the PCRs a
//   release states) and sim is a development platform: their notices are refused.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tlog {

struct ModelDigest {
  std::string name;
  Bytes sha256;
  friend bool operator==(const ModelDigest&, const ModelDigest&) = default;
};

struct SnpReference {
  std::vector<Bytes> measurements;  // 48 bytes each
  uint64_t policy = 0;
  uint32_t vmpl = 0;
  Bytes host_data = Bytes(32, 0);
  Bytes id_key_digest = Bytes(48, 0);
  friend bool operator==(const SnpReference&, const SnpReference&) = default;
};

struct TdxReference {
  std::vector<Bytes> mrtd;  // 48 bytes each
  Bytes rtmr0 = Bytes(48, 0), rtmr1 = Bytes(48, 0), rtmr2 = Bytes(48, 0);
  Bytes mrconfigid = Bytes(48, 0), mrowner = Bytes(48, 0), mrownerconfig = Bytes(48, 0);
  friend bool operator==(const TdxReference&, const TdxReference&) = default;
};

struct TpmReference {
  std::map<uint32_t, Bytes> pcrs;  // SHA-256 bank, 32 bytes each
  friend bool operator==(const TpmReference&, const TpmReference&) = default;
};

struct SimReference {
  std::vector<Bytes> measurements;
  friend bool operator==(const SimReference&, const SimReference&) = default;
};

struct GpuRequirements {
  uint32_t devices = 0;   // GPU reports a node must carry
  uint32_t switches = 0;  // NVSwitch reports
  std::vector<std::string> rim_ids;
  friend bool operator==(const GpuRequirements&, const GpuRequirements&) = default;
};

struct ReleaseManifest {
  std::string version;
  std::string source_revision;
  Bytes build_recipe_sha256;
  Bytes node_binary_sha256;
  std::vector<ModelDigest> models;
  std::optional<SnpReference> snp;
  std::optional<TdxReference> tdx;
  std::optional<TpmReference> tpm;
  std::optional<SimReference> sim;
  GpuRequirements gpu;
  friend bool operator==(const ReleaseManifest&, const ReleaseManifest&) = default;
};

Result<ReleaseManifest> ParseReleaseManifest(const boost::json::value& json);
// Fails on values that would not parse back (wrong lengths, no platform, empty names).
Result<boost::json::value> ReleaseManifestToJson(const ReleaseManifest& manifest);
// SHA-256 of the canonical JSON text.
Result<Bytes> ReleaseId(const ReleaseManifest& manifest);
Bytes ReleaseIdOfBody(std::string_view canonical_body);

struct Revocation {
  Bytes release_id;  // 32 bytes
  std::string reason;
  friend bool operator==(const Revocation&, const Revocation&) = default;
};
Result<Revocation> ParseRevocation(const boost::json::value& json);
Result<boost::json::value> RevocationToJson(const Revocation& revocation);

struct MinimumTcb {
  std::string platform;  // sev-snp or tdx
  std::map<std::string, uint64_t> components;
  friend bool operator==(const MinimumTcb&, const MinimumTcb&) = default;
};
// A component a notice may name, and its largest value.
struct TcbComponent {
  std::string_view name;
  uint64_t max;
};
// The components of `platform` a notice may name; empty for a platform no notice can be for.
std::vector<TcbComponent> MinimumTcbComponents(std::string_view platform);
// Refuses unknown platforms, platforms whose notices are not enforced (tpm, sim), unknown
// components (the message lists the valid ones) and values above the component's range.
Result<MinimumTcb> ParseMinimumTcb(const boost::json::value& json);
Result<boost::json::value> MinimumTcbToJson(const MinimumTcb& notice);

}  // namespace openpcc::tlog
