// services/node/evidence.h — how the node obtains its evidence bundle (DESIGN §2.4).
//
// The node builds a bundle for each of its keys: it fixes the key config, the claims (models it
// serves, with their weight digests, and any operator decision the claims record) and the
// freshness value, and an `EvidenceCollector` — one per platform (sev-snp, tdx, tpm, sim; the
// collectors live in attest/) — produces the platform and GPU evidence that binds them
// (REPORT_DATA = SHA-512 of the binding preimage). The node serves the bundle at `POST /v1/attest`
// (fresh, over a client's nonce) and sends it to the gateway when it registers.
//
// `BuilderCollector` is what `openpcc node` runs: it drives attest/bundle_builder.h with one of the
// platform collectors of attest/collect (sim, sev-snp, tdx, tpm) and optionally a GPU collector.
//
// `UnattestedCollector` remains for unit tests of the service only (the CLI no longer offers
// it): it fills the `sim` parts with the binding's expected REPORT_DATA and no signature, so every
// verifier refuses its bundles.
//
// Thread safety: Collect may be called from several threads at once (BuilderCollector serialises
// its calls, because the attest collectors do not).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::services::node {

struct BundleInputs {
  Bytes key_config;                 // the encoded KeyConfig
  attest::Claims claims;
  attest::BundleFreshness freshness;
};

class EvidenceCollector {
 public:
  virtual ~EvidenceCollector() = default;
  virtual attest::Platform platform() const = 0;
  // A bundle binding `inputs` (without `release`, which the node adds).
  virtual Result<attest::EvidenceBundle> Collect(const BundleInputs& inputs) = 0;
};

class UnattestedCollector final : public EvidenceCollector {
 public:
  attest::Platform platform() const override { return attest::Platform::kSim; }
  Result<attest::EvidenceBundle> Collect(const BundleInputs& inputs) override;
};

class BuilderCollector final : public EvidenceCollector {
 public:
  // `gpus` may be null (a node without GPUs).
  BuilderCollector(std::unique_ptr<attest::PlatformCollector> platform,
                   std::unique_ptr<attest::GpuCollector> gpus = nullptr)
      : platform_(std::move(platform)), gpus_(std::move(gpus)) {}
  attest::Platform platform() const override { return platform_->platform(); }
  Result<attest::EvidenceBundle> Collect(const BundleInputs& inputs) override;
  // Every bundle from now on names this release (clients require one, DESIGN §2.4 step 4).
  void AttachRelease(attest::BundleRelease release);

 private:
  std::mutex mu_;  // the attest collectors serialise nothing (configfs entries, device ioctls)
  std::unique_ptr<attest::PlatformCollector> platform_;
  std::unique_ptr<attest::GpuCollector> gpus_;
  std::optional<attest::BundleRelease> release_;
};

// The record `openpcc release publish --out FILE` writes (JSON: "entry" and "inclusion_proof" in
// base64, "log_index", "checkpoint"), as the bundle's release. Errors name the member.
Result<attest::BundleRelease> ParseReleaseRecord(std::string_view json);

// The bundle's fields that come from `inputs` (node_id, key_config, claims, freshness), with
// `platform`; collectors add their evidence to it.
Result<attest::EvidenceBundle> BundleSkeleton(const BundleInputs& inputs, attest::Platform platform);

}  // namespace openpcc::services::node
