#include "openpcc/attest/bundle.h"

#include <array>

#include <boost/json.hpp>

#include "openpcc/util/base64.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;

constexpr size_t kMaxModels = 64;
constexpr size_t kMaxGpus = 16;
constexpr size_t kMaxCertsPerChain = 8;
constexpr size_t kMaxProofHashes = 64;

Error Bad(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::kMalformed,
               "evidence bundle: " + std::string(field) + ": expected " + std::string(expected));
}

Result<const json::object*> Object(const json::value& value, std::string_view field) {
  if (!value.is_object()) return Bad(field, "an object");
  return &value.as_object();
}

// Every member of `object` must be in `known`: a bundle with fields we do not understand may mean
// something we would not check.
Status OnlyKnown(const json::object& object, std::string_view field,
                 std::initializer_list<std::string_view> known) {
  for (const auto& member : object) {
    bool found = false;
    for (std::string_view k : known) found = found || member.key() == k;
    if (!found) {
      return Error(ErrorCode::kMalformed, "evidence bundle: " + std::string(field) +
                                              ": unknown field '" + std::string(member.key()) + "'");
    }
  }
  return OkStatus();
}

Result<const json::value*> Member(const json::object& object, std::string_view field,
                                  std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) {
    return Error(ErrorCode::kMalformed, "evidence bundle: " + std::string(field) +
                                            ": missing field '" + std::string(name) + "'");
  }
  return value;
}

Result<std::string> String(const json::object& object, std::string_view field,
                           std::string_view name) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* value, Member(object, field, name));
  if (!value->is_string()) return Bad(std::string(field) + "." + std::string(name), "a string");
  return std::string(value->as_string());
}

Result<Bytes> Binary(const json::value& value, std::string_view field) {
  if (!value.is_string()) return Bad(field, "a base64url string");
  Result<Bytes> bytes = Base64UrlDecode(value.as_string());
  if (!bytes.ok()) return Bad(field, "unpadded base64url (" + bytes.error().message() + ")");
  return bytes;
}

Result<Bytes> BinaryMember(const json::object& object, std::string_view field,
                           std::string_view name) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* value, Member(object, field, name));
  return Binary(*value, std::string(field) + "." + std::string(name));
}

Result<uint64_t> Unsigned(const json::object& object, std::string_view field,
                          std::string_view name) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* value, Member(object, field, name));
  std::string where = std::string(field) + "." + std::string(name);
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() >= 0) return static_cast<uint64_t>(value->as_int64());
  return Bad(where, "a non-negative integer");
}

Result<const json::array*> Array(const json::object& object, std::string_view field,
                                 std::string_view name, size_t max) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* value, Member(object, field, name));
  std::string where = std::string(field) + "." + std::string(name);
  if (!value->is_array()) return Bad(where, "an array");
  if (value->as_array().size() > max) return Bad(where, "at most " + std::to_string(max) + " items");
  return &value->as_array();
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Claims> ParseClaims(const json::value& value) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(value, "claims"));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "claims", {"models"}));
  OPENPCC_ASSIGN_OR_RETURN(const json::array* models, Array(*object, "claims", "models", kMaxModels));
  Claims claims;
  for (size_t i = 0; i < models->size(); ++i) {
    std::string field = "claims.models[" + std::to_string(i) + "]";
    OPENPCC_ASSIGN_OR_RETURN(const json::object* model, Object((*models)[i], field));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*model, field, {"name", "sha256"}));
    ModelClaim claim;
    OPENPCC_ASSIGN_OR_RETURN(claim.name, String(*model, field, "name"));
    OPENPCC_ASSIGN_OR_RETURN(claim.sha256, String(*model, field, "sha256"));
    if (claim.name.empty() || claim.name.size() > 256) return Bad(field + ".name", "1 to 256 characters");
    if (claim.sha256.size() != 64 || !IsLowerHex(claim.sha256)) {
      return Bad(field + ".sha256", "64 lower-case hex digits");
    }
    claims.models.push_back(std::move(claim));
  }
  return claims;
}

Result<std::vector<Bytes>> BinaryArray(const json::object& object, std::string_view field,
                                       std::string_view name, size_t max) {
  OPENPCC_ASSIGN_OR_RETURN(const json::array* array, Array(object, field, name, max));
  std::vector<Bytes> out;
  for (size_t i = 0; i < array->size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(
        Bytes bytes,
        Binary((*array)[i], std::string(field) + "." + std::string(name) + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(bytes));
  }
  return out;
}

json::array BinaryArrayJson(const std::vector<Bytes>& items) {
  json::array out;
  for (const Bytes& item : items) out.emplace_back(Base64UrlEncode(item));
  return out;
}

constexpr std::array<std::string_view, 3> kSnpParts = {"report", "vek", "chain"};
constexpr std::array<std::string_view, 5> kTdxParts = {"quote", "tcb_info", "tcb_info_chain",
                                                       "qe_identity", "qe_identity_chain"};
constexpr std::array<std::string_view, 8> kTpmParts = {
    "quote",      "quote_signature", "pcrs",        "ak_public",
    "ak_cert",    "key_public",      "key_certify", "key_certify_signature"};
constexpr std::array<std::string_view, 3> kSimParts = {"report", "vek", "chain"};

// Optional parts each platform may carry besides the required ones.
bool IsOptionalPart(Platform platform, std::string_view name) {
  switch (platform) {
    case Platform::kSevSnp: return name == "crl";
    case Platform::kTdx:
      return name == "pck_crl" || name == "pck_crl_chain" || name == "root_crl" ||
             name == "event_log";
    case Platform::kTpm: return name == "event_log" || name == "ak_chain";
    case Platform::kSim: return false;
  }
  return false;
}

}  // namespace

std::string_view PlatformName(Platform platform) {
  switch (platform) {
    case Platform::kSevSnp: return "sev-snp";
    case Platform::kTdx: return "tdx";
    case Platform::kTpm: return "tpm";
    case Platform::kSim: return "sim";
  }
  return "?";
}

Result<Platform> ParsePlatform(std::string_view name) {
  for (Platform p : {Platform::kSevSnp, Platform::kTdx, Platform::kTpm, Platform::kSim}) {
    if (name == PlatformName(p)) return p;
  }
  return Error(ErrorCode::kUnsupported, "evidence bundle: platform '" + std::string(name) +
                                            "' is not one of sev-snp, tdx, tpm, sim");
}

std::span<const std::string_view> RequiredCpuEvidence(Platform platform) {
  switch (platform) {
    case Platform::kSevSnp: return kSnpParts;
    case Platform::kTdx: return kTdxParts;
    case Platform::kTpm: return kTpmParts;
    case Platform::kSim: return kSimParts;
  }
  return {};
}

json::value Claims::ToJson() const {
  json::array list;
  for (const ModelClaim& model : models) {
    list.emplace_back(json::object{{"name", model.name}, {"sha256", model.sha256}});
  }
  return json::object{{"models", list}};
}

Result<std::string> Claims::Canonical() const { return wire::Canonicalize(ToJson()); }

Result<Bytes> EvidenceBundle::ExpectedReportData() const {
  OPENPCC_ASSIGN_OR_RETURN(Bytes gpu_digest, GpuDigest(gpu_evidence));
  OPENPCC_ASSIGN_OR_RETURN(std::string claims_bytes, claims.Canonical());
  return ReportData(key_config, gpu_digest, freshness.binding, AsBytes(claims_bytes));
}

Result<Bytes> EvidenceBundle::ExpectedTpmQualifyingData() const {
  OPENPCC_ASSIGN_OR_RETURN(Bytes gpu_digest, GpuDigest(gpu_evidence));
  OPENPCC_ASSIGN_OR_RETURN(std::string claims_bytes, claims.Canonical());
  return TpmQualifyingData(key_config, gpu_digest, freshness.binding, AsBytes(claims_bytes));
}

Result<Bytes> EvidenceBundle::ExpectedGpuNonce() const {
  return GpuNonce(key_config, freshness.binding);
}

json::value EvidenceBundle::ToJson() const {
  json::object cpu;
  for (const auto& [name, bytes] : cpu_evidence) cpu[name] = Base64UrlEncode(bytes);
  json::array gpus;
  for (const GpuEvidence& gpu : gpu_evidence) {
    gpus.emplace_back(json::object{{"type", gpu.type},
                                   {"report", Base64UrlEncode(gpu.report)},
                                   {"cert_chain", BinaryArrayJson(gpu.chain_der)}});
  }
  json::object fresh{{"kind", static_cast<int>(freshness.binding.kind)},
                     {"value", Base64UrlEncode(freshness.binding.value)}};
  if (!freshness.checkpoint.empty()) fresh["checkpoint"] = freshness.checkpoint;
  json::object out{{"node_id", Base64UrlEncode(node_id)},
                   {"key_config", Base64UrlEncode(key_config)},
                   {"claims", claims.ToJson()},
                   {"platform", PlatformName(platform)},
                   {"cpu_evidence", cpu},
                   {"gpu_evidence", gpus},
                   {"freshness", fresh}};
  if (release) {
    out["release"] = json::object{{"manifest", Base64UrlEncode(release->manifest_entry)},
                                  {"log_index", release->log_index},
                                  {"inclusion_proof", BinaryArrayJson(release->inclusion_proof)},
                                  {"checkpoint", release->checkpoint}};
  }
  return out;
}

std::string EvidenceBundle::Serialize() const {
  // Canonical form, so a bundle re-serialised by anyone has the same bytes.
  Result<std::string> canonical = wire::Canonicalize(ToJson());
  return canonical.ok() ? canonical.value() : json::serialize(ToJson());
}

Result<EvidenceBundle> ParseBundle(std::string_view json_text) {
  if (json_text.size() > kMaxBundleBytes) {
    return Error(ErrorCode::kOutOfRange, "evidence bundle: " + std::to_string(json_text.size()) +
                                             " bytes, more than the limit of " +
                                             std::to_string(kMaxBundleBytes));
  }
  wire::JsonLimits limits;
  limits.max_bytes = kMaxBundleBytes;
  Result<json::value> value = wire::ParseJson(json_text, limits);
  if (!value.ok()) {
    return Error(ErrorCode::kMalformed, "evidence bundle: " + value.error().message());
  }
  return BundleFromJson(value.value());
}

Result<EvidenceBundle> BundleFromJson(const json::value& value) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* root, Object(value, "bundle"));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*root, "bundle",
                                    {"node_id", "key_config", "claims", "platform", "cpu_evidence",
                                     "gpu_evidence", "freshness", "release"}));
  EvidenceBundle bundle;
  OPENPCC_ASSIGN_OR_RETURN(bundle.node_id, BinaryMember(*root, "bundle", "node_id"));
  OPENPCC_ASSIGN_OR_RETURN(bundle.key_config, BinaryMember(*root, "bundle", "key_config"));
  // The node id is derived from the key config; a bundle whose id does not match is inconsistent.
  Result<wire::KeyConfig> key_config = wire::ParseKeyConfig(bundle.key_config);
  if (!key_config.ok()) {
    return Error(ErrorCode::kMalformed, "evidence bundle: key_config: " + key_config.error().message());
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes expected_id, wire::NodeIdOf(key_config.value()));
  if (expected_id != bundle.node_id) {
    return Error(ErrorCode::kMalformed,
                 "evidence bundle: node_id is not the node id of key_config");
  }
  OPENPCC_ASSIGN_OR_RETURN(const json::value* claims, Member(*root, "bundle", "claims"));
  OPENPCC_ASSIGN_OR_RETURN(bundle.claims, ParseClaims(*claims));
  OPENPCC_ASSIGN_OR_RETURN(std::string platform, String(*root, "bundle", "platform"));
  OPENPCC_ASSIGN_OR_RETURN(bundle.platform, ParsePlatform(platform));

  OPENPCC_ASSIGN_OR_RETURN(const json::value* cpu_value, Member(*root, "bundle", "cpu_evidence"));
  OPENPCC_ASSIGN_OR_RETURN(const json::object* cpu, Object(*cpu_value, "cpu_evidence"));
  for (const auto& member : *cpu) {
    std::string_view name = member.key();
    bool required = false;
    for (std::string_view r : RequiredCpuEvidence(bundle.platform)) required = required || r == name;
    if (!required && !IsOptionalPart(bundle.platform, name)) {
      return Error(ErrorCode::kMalformed, "evidence bundle: cpu_evidence: field '" +
                                              std::string(name) + "' is not used by platform " +
                                              std::string(platform));
    }
    OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, Binary(member.value(), "cpu_evidence." + std::string(name)));
    bundle.cpu_evidence.emplace(std::string(name), std::move(bytes));
  }
  for (std::string_view r : RequiredCpuEvidence(bundle.platform)) {
    if (!bundle.cpu_evidence.contains(std::string(r))) {
      return Error(ErrorCode::kMalformed, "evidence bundle: cpu_evidence: missing '" +
                                              std::string(r) + "' required for platform " +
                                              std::string(platform));
    }
  }

  OPENPCC_ASSIGN_OR_RETURN(const json::array* gpus, Array(*root, "bundle", "gpu_evidence", kMaxGpus));
  for (size_t i = 0; i < gpus->size(); ++i) {
    std::string field = "gpu_evidence[" + std::to_string(i) + "]";
    OPENPCC_ASSIGN_OR_RETURN(const json::object* gpu, Object((*gpus)[i], field));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*gpu, field, {"type", "report", "cert_chain", "ocsp"}));
    GpuEvidence evidence;
    OPENPCC_ASSIGN_OR_RETURN(evidence.type, String(*gpu, field, "type"));
    if (evidence.type != "nvidia-spdm") return Bad(field + ".type", "\"nvidia-spdm\"");
    OPENPCC_ASSIGN_OR_RETURN(evidence.report, BinaryMember(*gpu, field, "report"));
    OPENPCC_ASSIGN_OR_RETURN(evidence.chain_der,
                             BinaryArray(*gpu, field, "cert_chain", kMaxCertsPerChain));
    bundle.gpu_evidence.push_back(std::move(evidence));
  }

  OPENPCC_ASSIGN_OR_RETURN(const json::value* fresh_value, Member(*root, "bundle", "freshness"));
  OPENPCC_ASSIGN_OR_RETURN(const json::object* fresh, Object(*fresh_value, "freshness"));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*fresh, "freshness", {"kind", "value", "checkpoint"}));
  OPENPCC_ASSIGN_OR_RETURN(uint64_t kind, Unsigned(*fresh, "freshness", "kind"));
  if (kind != 1 && kind != 2) return Bad("freshness.kind", "1 (log checkpoint) or 2 (client nonce)");
  bundle.freshness.binding.kind = static_cast<FreshnessKind>(kind);
  OPENPCC_ASSIGN_OR_RETURN(Bytes fresh_bytes, BinaryMember(*fresh, "freshness", "value"));
  if (fresh_bytes.size() != 32) return Bad("freshness.value", "32 bytes");
  std::copy(fresh_bytes.begin(), fresh_bytes.end(), bundle.freshness.binding.value.begin());
  if (kind == 1) {
    OPENPCC_ASSIGN_OR_RETURN(bundle.freshness.checkpoint, String(*fresh, "freshness", "checkpoint"));
  } else if (fresh->contains("checkpoint")) {
    return Bad("freshness.checkpoint", "absent for kind 2");
  }

  if (const json::value* release_value = root->if_contains("release")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* release, Object(*release_value, "release"));
    OPENPCC_RETURN_IF_ERROR(
        OnlyKnown(*release, "release", {"manifest", "log_index", "inclusion_proof", "checkpoint"}));
    BundleRelease r;
    OPENPCC_ASSIGN_OR_RETURN(r.manifest_entry, BinaryMember(*release, "release", "manifest"));
    OPENPCC_ASSIGN_OR_RETURN(r.log_index, Unsigned(*release, "release", "log_index"));
    OPENPCC_ASSIGN_OR_RETURN(r.inclusion_proof,
                             BinaryArray(*release, "release", "inclusion_proof", kMaxProofHashes));
    for (size_t i = 0; i < r.inclusion_proof.size(); ++i) {
      if (r.inclusion_proof[i].size() != 32) {
        return Bad("release.inclusion_proof[" + std::to_string(i) + "]", "32 bytes");
      }
    }
    OPENPCC_ASSIGN_OR_RETURN(r.checkpoint, String(*release, "release", "checkpoint"));
    bundle.release = std::move(r);
  }
  return bundle;
}

}  // namespace openpcc::attest
