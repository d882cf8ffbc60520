#include "openpcc/attest/bundle_builder.h"

#include "openpcc/crypto/hash.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest {

BundleFreshness FreshnessFromCheckpoint(std::string checkpoint_note) {
  BundleFreshness out;
  out.binding.kind = FreshnessKind::kLogCheckpoint;
  const Bytes digest = crypto::Sha256(AsBytes(checkpoint_note));
  std::copy(digest.begin(), digest.end(), out.binding.value.begin());
  out.checkpoint = std::move(checkpoint_note);
  return out;
}

BundleFreshness FreshnessFromNonce(const std::array<uint8_t, 32>& nonce) {
  BundleFreshness out;
  out.binding.kind = FreshnessKind::kClientNonce;
  out.binding.value = nonce;
  return out;
}

Result<EvidenceBundle> BuildBundle(const BundleInputs& inputs, PlatformCollector& platform,
                                   GpuCollector* gpus) {
  EvidenceBundle bundle;
  Result<wire::KeyConfig> config = wire::ParseKeyConfig(inputs.key_config);
  if (!config.ok()) return Error(config.error().code(), "bundle builder: key_config: " + config.error().message());
  OPENPCC_ASSIGN_OR_RETURN(bundle.node_id, wire::NodeIdOf(config.value()));
  bundle.key_config = inputs.key_config;
  bundle.claims = inputs.claims;
  bundle.platform = platform.platform();
  bundle.freshness = inputs.freshness;
  bundle.release = inputs.release;
  if (bundle.freshness.binding.kind == FreshnessKind::kLogCheckpoint && bundle.freshness.checkpoint.empty()) {
    return Error(ErrorCode::kInvalidArgument, "bundle builder: freshness kind 1 needs the checkpoint note");
  }

  if (gpus != nullptr) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes nonce, bundle.ExpectedGpuNonce());
    Result<std::vector<GpuEvidence>> evidence = gpus->Collect(nonce);
    if (!evidence.ok()) return Error(evidence.error().code(), "bundle builder: gpu: " + evidence.error().message());
    bundle.gpu_evidence = std::move(evidence.value());
  }

  const bool tpm = bundle.platform == Platform::kTpm;
  Result<Bytes> binding = tpm ? bundle.ExpectedTpmQualifyingData() : bundle.ExpectedReportData();
  if (!binding.ok()) return Error(binding.error().code(), "bundle builder: binding: " + binding.error().message());
  Result<std::map<std::string, Bytes>> parts = platform.CollectFor(inputs.key_config, binding.value());
  if (!parts.ok()) {
    return Error(parts.error().code(), "bundle builder: " + std::string(PlatformName(bundle.platform)) + ": " +
                                           parts.error().message());
  }
  bundle.cpu_evidence = std::move(parts.value());
  for (std::string_view name : RequiredCpuEvidence(bundle.platform)) {
    if (!bundle.cpu_evidence.contains(std::string(name))) {
      return Error(ErrorCode::kInternal, "bundle builder: the " + std::string(PlatformName(bundle.platform)) +
                                             " collector returned no '" + std::string(name) + "'");
    }
  }
  return bundle;
}

}  // namespace openpcc::attest
