// The client policy file (attest/bundle_policy.h): a local file, but parsed strictly and with every
// error naming a field. Files it names are served by a loader returning one fixed certificate (so
// the roots path is exercised) or an error for names starting with "missing".
// Whatever parses must satisfy the policy's invariants.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "openpcc/attest/bundle_policy.h"
#include "openpcc/attest/sim/sim.h"

namespace {

const std::string& RootPem() {
  static const std::string pem = [] {
    auto root = openpcc::attest::sim::SimRoot::Generate("fuzz", std::chrono::sys_seconds(std::chrono::seconds(1700000000)));
    return root.ok() ? root->CertificatePem() : std::string();
  }();
  return pem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  attest::PolicyFileLoader loader = [](std::string_view path) -> Result<Bytes> {
    if (path.starts_with("missing")) return Error(ErrorCode::kInvalidArgument, "no such file");
    return ToBytes(RootPem());
  };
  Result<attest::BundlePolicy> policy = attest::ParseBundlePolicy(text, loader);
  if (!policy.ok()) {
    if (policy.error().message().rfind("policy: ", 0) != 0) std::abort();  // every error names the policy
    return 0;
  }
  const attest::BundlePolicy& p = policy.value();
  if (p.platforms.empty() || !p.log.has_value() || p.release_keys.empty()) std::abort();
  if (p.Accepts(attest::Platform::kSim) && p.sim_roots.empty()) std::abort();
  if (p.Accepts(attest::Platform::kTpm) && p.tpm_ak_roots.empty()) std::abort();
  if (p.log->max_age.count() <= 0 || p.tdx_accepted_statuses.empty()) std::abort();
  return 0;
}
