#include "openpcc/attest/bundle_policy.h"

#include <algorithm>

#include <boost/json.hpp>

#include "openpcc/wire/jcs.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;

constexpr size_t kMaxListItems = 64;

Error Bad(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::kMalformed,
               "policy: " + std::string(field) + ": expected " + std::string(expected));
}

std::string Join(std::string_view parent, std::string_view name) {
  return parent.empty() ? std::string(name) : std::string(parent) + "." + std::string(name);
}

Result<const json::object*> Object(const json::value& value, std::string_view field) {
  if (!value.is_object()) return Bad(field.empty() ? "policy" : field, "an object");
  return &value.as_object();
}

Status OnlyKnown(const json::object& object, std::string_view field,
                 std::initializer_list<std::string_view> known) {
  for (const auto& member : object) {
    if (std::find(known.begin(), known.end(), std::string_view(member.key())) == known.end()) {
      return Error(ErrorCode::kMalformed, "policy: " + Join(field, member.key()) + ": unknown field");
    }
  }
  return OkStatus();
}

Result<uint64_t> Unsigned(const json::value& value, std::string_view field, uint64_t max) {
  uint64_t n = 0;
  if (value.is_uint64()) {
    n = value.as_uint64();
  } else if (value.is_int64() && value.as_int64() >= 0) {
    n = static_cast<uint64_t>(value.as_int64());
  } else {
    return Bad(field, "a non-negative integer");
  }
  if (n > max) return Bad(field, "at most " + std::to_string(max));
  return n;
}

Result<std::string> String(const json::value& value, std::string_view field) {
  if (!value.is_string()) return Bad(field, "a string");
  return std::string(value.as_string());
}

Result<std::vector<std::string>> Strings(const json::value& value, std::string_view field) {
  if (!value.is_array()) return Bad(field, "an array of strings");
  const json::array& array = value.as_array();
  if (array.size() > kMaxListItems) return Bad(field, "at most " + std::to_string(kMaxListItems) + " items");
  std::vector<std::string> out;
  for (size_t i = 0; i < array.size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(std::string s, String(array[i], std::string(field) + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<crypto::Certificate>> Roots(const json::value& value, std::string_view field,
                                               const PolicyFileLoader& load) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<std::string> files, Strings(value, field));
  std::vector<crypto::Certificate> out;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    Result<Bytes> bytes = load(files[i]);
    if (!bytes.ok()) return Error(ErrorCode::kInvalidArgument, "policy: " + where + ": " + bytes.error().message());
    Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(bytes.value());
    if (!certs.ok()) return Bad(where, "a file of certificates (" + certs.error().message() + ")");
    for (crypto::Certificate& cert : certs.value()) out.push_back(std::move(cert));
  }
  return out;
}

Result<std::string> TextFile(const json::value& value, std::string_view field, const PolicyFileLoader& load) {
  OPENPCC_ASSIGN_OR_RETURN(std::string path, String(value, field));
  Result<Bytes> bytes = load(path);
  if (!bytes.ok()) return Error(ErrorCode::kInvalidArgument, "policy: " + std::string(field) + ": " + bytes.error().message());
  return std::string(AsChars(bytes.value()));
}

Result<SnpMinimumTcb> ParseSnpMinimum(const json::value& value, std::string_view field) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(value, field));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, field, {"bootloader", "tee", "snp", "microcode", "fmc"}));
  SnpMinimumTcb tcb;
  for (const auto& member : *object) {
    OPENPCC_ASSIGN_OR_RETURN(uint64_t n, Unsigned(member.value(), Join(field, member.key()), 255));
    const auto v = static_cast<uint8_t>(n);
    if (member.key() == "bootloader") tcb.bootloader = v;
    if (member.key() == "tee") tcb.tee = v;
    if (member.key() == "snp") tcb.snp = v;
    if (member.key() == "microcode") tcb.microcode = v;
    if (member.key() == "fmc") tcb.fmc = v;
  }
  return tcb;
}

Result<tlog::LogPolicy> ParseLog(const json::value& value) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(value, "log"));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "log", {"origin", "key", "witnesses", "threshold"}));
  for (std::string_view required : {"origin", "key", "witnesses"}) {
    if (!object->contains(required)) {
      return Error(ErrorCode::kMalformed, "policy: log." + std::string(required) + ": missing");
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(std::string origin, String(object->at("origin"), "log.origin"));
  OPENPCC_ASSIGN_OR_RETURN(std::string key, String(object->at("key"), "log.key"));
  OPENPCC_ASSIGN_OR_RETURN(std::vector<std::string> witnesses, Strings(object->at("witnesses"), "log.witnesses"));
  uint64_t threshold = 2;
  if (const json::value* t = object->if_contains("threshold")) {
    OPENPCC_ASSIGN_OR_RETURN(threshold, Unsigned(*t, "log.threshold", kMaxListItems));
  }
  if (origin.empty()) return Bad("log.origin", "a non-empty string");
  Result<tlog::LogPolicy> policy = tlog::LogPolicy::Create(origin, key, witnesses, threshold);
  if (!policy.ok()) return Error(ErrorCode::kMalformed, "policy: log: " + policy.error().message());
  return policy;
}

Result<std::vector<crypto::Ed25519PublicKey>> Keys(const json::value& value, std::string_view field) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<std::string> keys, Strings(value, field));
  std::vector<crypto::Ed25519PublicKey> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    Result<Bytes> raw = HexDecode(keys[i]);
    if (!raw.ok() || raw->size() != crypto::kEd25519PublicKeyLength) return Bad(where, "64 hex digits");
    Result<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromBytes(raw.value());
    if (!key.ok()) return Bad(where, "an Ed25519 public key");
    out.push_back(std::move(key.value()));
  }
  return out;
}

}  // namespace

bool BundlePolicy::Accepts(Platform platform) const {
  return std::find(platforms.begin(), platforms.end(), platform) != platforms.end();
}

Result<BundlePolicy> ParseBundlePolicy(std::string_view json_text, const PolicyFileLoader& load) {
  if (json_text.size() > kMaxPolicyBytes) {
    return Error(ErrorCode::kOutOfRange, "policy: larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  wire::JsonLimits limits;
  limits.max_bytes = kMaxPolicyBytes;
  Result<json::value> parsed = wire::ParseJson(json_text, limits);
  if (!parsed.ok()) return Error(ErrorCode::kMalformed, "policy: " + parsed.error().message());
  OPENPCC_ASSIGN_OR_RETURN(const json::object* root, Object(parsed.value(), ""));
  OPENPCC_RETURN_IF_ERROR(OnlyKnown(*root, "", {"version", "platforms", "roots", "minimum_tcb", "tdx",
                                                "gpu", "freshness", "log", "release_keys",
                                                "directory_keys"}));
  for (std::string_view required : {"version", "platforms", "log", "release_keys"}) {
    if (!root->contains(required)) {
      return Error(ErrorCode::kMalformed, "policy: " + std::string(required) + ": missing");
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(uint64_t version, Unsigned(root->at("version"), "version", 1000));
  if (version != 1) return Bad("version", "1");

  BundlePolicy policy;
  OPENPCC_ASSIGN_OR_RETURN(std::vector<std::string> platforms, Strings(root->at("platforms"), "platforms"));
  if (platforms.empty()) return Bad("platforms", "at least one platform");
  for (size_t i = 0; i < platforms.size(); ++i) {
    Result<Platform> platform = ParsePlatform(platforms[i]);
    if (!platform.ok()) return Bad("platforms[" + std::to_string(i) + "]", "one of sev-snp, tdx, tpm, sim");
    if (policy.Accepts(platform.value())) return Bad("platforms[" + std::to_string(i) + "]", "no platform listed twice");
    policy.platforms.push_back(platform.value());
  }

  if (const json::value* roots = root->if_contains("roots")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(*roots, "roots"));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "roots", {"sim", "tpm_ak"}));
    if (const json::value* sim = object->if_contains("sim")) {
      OPENPCC_ASSIGN_OR_RETURN(policy.sim_roots, Roots(*sim, "roots.sim", load));
    }
    if (const json::value* tpm = object->if_contains("tpm_ak")) {
      OPENPCC_ASSIGN_OR_RETURN(policy.tpm_ak_roots, Roots(*tpm, "roots.tpm_ak", load));
    }
  }
  if (policy.Accepts(Platform::kSim) && policy.sim_roots.empty()) {
    return Bad("roots.sim", "a sim root, since platforms lists sim");
  }
  if (policy.Accepts(Platform::kTpm) && policy.tpm_ak_roots.empty()) {
    return Bad("roots.tpm_ak", "a TPM AK root, since platforms lists tpm");
  }

  if (const json::value* minimum = root->if_contains("minimum_tcb")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(*minimum, "minimum_tcb"));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "minimum_tcb", {"sev-snp"}));
    if (const json::value* snp = object->if_contains("sev-snp")) {
      OPENPCC_ASSIGN_OR_RETURN(policy.snp_minimum_tcb, ParseSnpMinimum(*snp, "minimum_tcb.sev-snp"));
    }
  }
  if (const json::value* tdx_value = root->if_contains("tdx")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(*tdx_value, "tdx"));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "tdx", {"accepted_tcb_statuses"}));
    if (const json::value* statuses = object->if_contains("accepted_tcb_statuses")) {
      OPENPCC_ASSIGN_OR_RETURN(std::vector<std::string> names,
                               Strings(*statuses, "tdx.accepted_tcb_statuses"));
      if (names.empty()) return Bad("tdx.accepted_tcb_statuses", "at least one status");
      policy.tdx_accepted_statuses.clear();
      for (size_t i = 0; i < names.size(); ++i) {
        Result<tdx::TcbStatus> status = tdx::ParseTcbStatus(names[i]);
        if (!status.ok()) {
          return Bad("tdx.accepted_tcb_statuses[" + std::to_string(i) + "]", "a TCB status name (" +
                                                                                  status.error().message() + ")");
        }
        policy.tdx_accepted_statuses.push_back(status.value());
      }
    }
  }
  if (const json::value* gpu = root->if_contains("gpu")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(*gpu, "gpu"));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "gpu", {"minimum_devices", "driver_rim", "vbios_rim"}));
    if (const json::value* n = object->if_contains("minimum_devices")) {
      OPENPCC_ASSIGN_OR_RETURN(uint64_t devices, Unsigned(*n, "gpu.minimum_devices", 16));
      policy.minimum_gpus = static_cast<uint32_t>(devices);
    }
    if (const json::value* rim = object->if_contains("driver_rim")) {
      OPENPCC_ASSIGN_OR_RETURN(std::string text, TextFile(*rim, "gpu.driver_rim", load));
      policy.driver_rim = std::move(text);
    }
    if (const json::value* rim = object->if_contains("vbios_rim")) {
      OPENPCC_ASSIGN_OR_RETURN(std::string text, TextFile(*rim, "gpu.vbios_rim", load));
      policy.vbios_rim = std::move(text);
    }
  }
  std::chrono::seconds max_age = kDefaultMaxAge;
  if (const json::value* fresh = root->if_contains("freshness")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::object* object, Object(*fresh, "freshness"));
    OPENPCC_RETURN_IF_ERROR(OnlyKnown(*object, "freshness", {"max_age_seconds"}));
    if (const json::value* n = object->if_contains("max_age_seconds")) {
      // A day at most: evidence older than that says little about the node now.
      OPENPCC_ASSIGN_OR_RETURN(uint64_t seconds, Unsigned(*n, "freshness.max_age_seconds", 86400));
      if (seconds == 0) return Bad("freshness.max_age_seconds", "a positive number of seconds");
      max_age = std::chrono::seconds(seconds);
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(policy.log, ParseLog(root->at("log")));
  policy.log->max_age = max_age;

  OPENPCC_ASSIGN_OR_RETURN(policy.release_keys, Keys(root->at("release_keys"), "release_keys"));
  if (policy.release_keys.empty()) return Bad("release_keys", "at least one release key");
  if (const json::value* keys = root->if_contains("directory_keys")) {
    OPENPCC_ASSIGN_OR_RETURN(policy.directory_keys, Keys(*keys, "directory_keys"));
  }
  return policy;
}

}  // namespace openpcc::attest
