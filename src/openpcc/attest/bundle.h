// attest/bundle.h — the node's evidence bundle (DESIGN §2.4): its JSON form and typed value.
//
// A bundle is what a node publishes and a client verifies: the node's HPKE key config, the claims
// it makes (models served), its platform's evidence, its GPUs' evidence, the freshness value, and
// the release (manifest + log inclusion proof) it claims to run. This module only parses and
// serialises; verification is attest/bundle_verifier.h. Parsing is strict because the bytes come
// from the network: a size limit, known fields only, every binary field base64url without
// padding, every error naming the field.
//
// `cpu_evidence` is a map of named binary parts whose names depend on the platform (see
// RequiredCpuEvidence): e.g. SEV-SNP {"report", "vek", "chain"}; TDX {"quote", "tcb_info", ...}.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "openpcc/attest/binding.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest {

enum class Platform : uint8_t { kSevSnp, kTdx, kTpm, kSim };

std::string_view PlatformName(Platform platform);  // "sev-snp", "tdx", "tpm", "sim"
Result<Platform> ParsePlatform(std::string_view name);

struct ModelClaim {
  std::string name;
  std::string sha256;  // lower-case hex SHA-256 of the weight file

  bool operator==(const ModelClaim&) const = default;
};

struct Claims {
  std::vector<ModelClaim> models;

  boost::json::value ToJson() const;
  // RFC 8785 bytes: what the binding's lp4(claims) covers.
  Result<std::string> Canonical() const;
  bool operator==(const Claims&) const = default;
};

struct BundleFreshness {
  Freshness binding;       // kind and 32-byte value
  std::string checkpoint;  // kind 1: the complete signed checkpoint note; empty for kind 2
};

struct BundleRelease {
  Bytes manifest_entry;          // the log entry bytes (signed release manifest)
  uint64_t log_index = 0;
  std::vector<Bytes> inclusion_proof;  // RFC 9162 hashes, leaf to root
  std::string checkpoint;        // the signed checkpoint note the proof is against
};

struct EvidenceBundle {
  Bytes node_id;     // NodeIdOf(key_config)
  Bytes key_config;  // the RFC 9458 KeyConfig the node opens sealed requests with
  Claims claims;
  Platform platform = Platform::kSim;
  std::map<std::string, Bytes> cpu_evidence;
  std::vector<GpuEvidence> gpu_evidence;
  BundleFreshness freshness;
  std::optional<BundleRelease> release;  // required by every client policy; optional to parse

  // The binding the platform evidence must carry (REPORT_DATA for SNP/TDX/sim).
  Result<Bytes> ExpectedReportData() const;
  Result<Bytes> ExpectedTpmQualifyingData() const;
  Result<Bytes> ExpectedGpuNonce() const;

  boost::json::value ToJson() const;
  std::string Serialize() const;
};

inline constexpr size_t kMaxBundleBytes = size_t{4} << 20;

Result<EvidenceBundle> ParseBundle(std::string_view json_text);
Result<EvidenceBundle> BundleFromJson(const boost::json::value& value);

// The cpu_evidence parts a platform's verifier needs; ParseBundle refuses a bundle without them.
std::span<const std::string_view> RequiredCpuEvidence(Platform platform);

}  // namespace openpcc::attest
