// services/node/evidence.h — how the node obtains its evidence bundle (DESIGN §2.4).
//
// The node builds a bundle for each of its keys: it fixes the key config, the claims (models it
// serves, with their weight digests, and any operator decision the claims record) and the
// freshness value, and an `EvidenceCollector` — one per platform (sev-snp, tdx, tpm, sim; the
// collectors live in attest/) — produces the platform and GPU evidence that binds them
// (REPORT_DATA = SHA-512 of the binding preimage). The node serves the bundle at `POST /v1/attest`
// (fresh, over a client's nonce) and sends it to the gateway when it registers.
//
// `UnattestedCollector` is a placeholder for development before a platform collector is wired in:
// it fills the `sim` parts with the binding's expected REPORT_DATA and no signature, so every
// verifier refuses its bundles. It exists so the node can run and register end to end; it is
// never a source of evidence.
//
// Thread safety: Collect may be called from several threads at once.
#pragma once

#include <string>

#include "openpcc/attest/bundle.h"
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

// The bundle's fields that come from `inputs` (node_id, key_config, claims, freshness), with
// `platform`; collectors add their evidence to it.
Result<attest::EvidenceBundle> BundleSkeleton(const BundleInputs& inputs, attest::Platform platform);

}  // namespace openpcc::services::node
