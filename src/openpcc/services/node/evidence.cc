#include "openpcc/services/node/evidence.h"

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
  return attest::BuildBundle(built, *platform_, gpus_.get());
}

}  // namespace openpcc::services::node
