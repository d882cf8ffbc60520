#include "openpcc/services/node/evidence.h"

#include <boost/json.hpp>

#include "openpcc/util/base64.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::services::node {

Result<attest::EvidenceBundle> BundleSkeleton(const BundleInputs& inputs, attest::Platform platform) {
  OPENPCC_ASSIGN_OR_RETURN(wire::KeyConfig config, wire::ParseKeyConfig(inputs.key_config));
  attest::EvidenceBundle bundle;
  OPENPCC_ASSIGN_OR_RETURN(bundle.node_id, wire::NodeIdOf(config));
  bundle.key_config = inputs.key_config;
  bundle.claims = inputs.claims;
  bundle.platform = platform;
  bundle.freshness = inputs.freshness;
  return bundle;
}

Result<attest::EvidenceBundle> UnattestedCollector::Collect(const BundleInputs& inputs) {
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, BundleSkeleton(inputs, platform()));
  // What a report would carry, unsigned: a verifier fails on the missing signature chain.
  OPENPCC_ASSIGN_OR_RETURN(bundle.cpu_evidence["report"], bundle.ExpectedReportData());
  bundle.cpu_evidence["vek"] = Bytes();
  bundle.cpu_evidence["chain"] = Bytes();
  return bundle;
}

Result<attest::EvidenceBundle> BuilderCollector::Collect(const BundleInputs& inputs) {
  attest::BundleInputs built;
  built.key_config = inputs.key_config;
  built.claims = inputs.claims;
  built.freshness = inputs.freshness;
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::BuildBundle(built, *platform_, gpus_.get()));
  bundle.release = release_;
  return bundle;
}

void BuilderCollector::AttachRelease(attest::BundleRelease release) {
  std::lock_guard lock(mu_);
  release_ = std::move(release);
}

Result<attest::BundleRelease> ParseReleaseRecord(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(json, ec);
  if (ec || !value.is_object()) return Error(ErrorCode::kMalformed, "release record: not a JSON object");
  const boost::json::object& record = value.as_object();
  auto base64_member = [&](std::string_view name) -> Result<Bytes> {
    const boost::json::value* member = record.if_contains(name);
    if (member == nullptr || !member->is_string()) {
      return Error(ErrorCode::kMalformed, "release record: \"" + std::string(name) + "\" must be a base64 string");
    }
    auto bytes = Base64Decode(std::string_view(member->as_string()));
    if (!bytes.ok()) return Error(ErrorCode::kMalformed, "release record: \"" + std::string(name) + "\": " + bytes.error().message());
    return bytes;
  };
  attest::BundleRelease release;
  OPENPCC_ASSIGN_OR_RETURN(release.manifest_entry, base64_member("entry"));
  const boost::json::value* index = record.if_contains("log_index");
  if (index == nullptr || !index->is_number() || index->is_double() || (index->is_int64() && index->as_int64() < 0)) {
    return Error(ErrorCode::kMalformed, "release record: \"log_index\" must be a non-negative integer");
  }
  release.log_index = index->is_uint64() ? index->as_uint64() : static_cast<uint64_t>(index->as_int64());
  const boost::json::value* proof = record.if_contains("inclusion_proof");
  if (proof == nullptr || !proof->is_array() || proof->as_array().size() > 64) {
    return Error(ErrorCode::kMalformed, "release record: \"inclusion_proof\" must be an array of at most 64 hashes");
  }
  for (const boost::json::value& hash : proof->as_array()) {
    auto bytes = hash.is_string() ? Base64Decode(std::string_view(hash.as_string())) : Result<Bytes>(Error(ErrorCode::kMalformed, "not a string"));
    if (!bytes.ok() || bytes->size() != 32) {
      return Error(ErrorCode::kMalformed, "release record: \"inclusion_proof\" holds a value that is not a base64 SHA-256 hash");
    }
    release.inclusion_proof.push_back(std::move(bytes).value());
  }
  const boost::json::value* checkpoint = record.if_contains("checkpoint");
  if (checkpoint == nullptr || !checkpoint->is_string() || checkpoint->as_string().empty()) {
    return Error(ErrorCode::kMalformed, "release record: \"checkpoint\" must be the signed checkpoint note");
  }
  release.checkpoint = std::string(checkpoint->as_string());
  return release;
}

}  // namespace openpcc::services::node
