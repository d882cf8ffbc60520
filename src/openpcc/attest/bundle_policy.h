// attest/bundle_policy.h — what a client accepts of an evidence bundle (DESIGN §2.4, §2.6): the
// policy file, parsed strictly (known fields only, each error naming the field).
//
// Policy file (JSON; every member but "version", "platforms", "log" and "release_keys" optional):
//   { "version": 1,
//     "platforms": ["sev-snp", "tdx", "tpm", "sim"],   accepted platforms; tpm and sim are never
//                                                      accepted unless listed here
//     "roots": { "sim": [FILE], "tpm_ak": [FILE] },    PEM or DER files; AMD, Intel and NVIDIA
//                                                      roots are pinned in the binary, not here
//     "minimum_tcb": { "sev-snp": { "bootloader": n, "tee": n, "snp": n, "microcode": n,
//                                   "fmc": n } },      raised further by logged minimum-TCB notices
//     "tdx": { "accepted_tcb_statuses": ["UpToDate", ...] },          default ["UpToDate"]
//     "gpu": { "minimum_devices": n, "driver_rim": FILE, "vbios_rim": FILE },
//     "freshness": { "max_age_seconds": n },                         default 900 (15 min)
//     "log": { "origin": str, "key": vkey, "witnesses": [vkey], "threshold": n },
//     "release_keys": [hex of a raw 32-byte Ed25519 public key],
//     "directory_keys": [hex ...] }   the operator's directory keys, so that node-directory entries
//                                      of the log verify when the client reads every entry
// FILE paths are resolved by the caller's loader (the CLI: relative to the policy file).
// A policy that lists "sim" without a sim root, or "tpm" without a TPM AK root, is refused: it
// could accept nothing and is certainly a mistake.
//
// Thread safety: a BundlePolicy is immutable after parsing and may be shared.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/snp/report.h"
#include "openpcc/attest/tdx/collateral.h"
#include "openpcc/crypto/ed25519.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/util/result.h"

namespace openpcc::attest {

inline constexpr std::chrono::seconds kDefaultMaxAge{15 * 60};
inline constexpr size_t kMaxPolicyBytes = 256 * 1024;

// SEV-SNP TCB components a minimum may name (per component: the report's REPORTED_TCB must be
// at least this). fmc is compared on Turin only.
struct SnpMinimumTcb {
  uint8_t bootloader = 0, tee = 0, snp = 0, microcode = 0;
  std::optional<uint8_t> fmc;
};

struct BundlePolicy {
  std::vector<Platform> platforms;
  std::vector<crypto::Certificate> sim_roots;
  std::vector<crypto::Certificate> tpm_ak_roots;
  std::optional<SnpMinimumTcb> snp_minimum_tcb;
  std::vector<tdx::TcbStatus> tdx_accepted_statuses{tdx::TcbStatus::kUpToDate};
  uint32_t minimum_gpus = 0;  // on top of what the release manifest requires
  std::optional<std::string> driver_rim;  // RIM XML texts
  std::optional<std::string> vbios_rim;
  // Required (the parser refuses a policy without it); optional only so that the struct has a
  // default value. log->max_age is the freshness window.
  std::optional<tlog::LogPolicy> log;
  std::vector<crypto::Ed25519PublicKey> release_keys;
  std::vector<crypto::Ed25519PublicKey> directory_keys;

  bool Accepts(Platform platform) const;
};

// Reads a file named in the policy; returns its bytes or an error naming it.
using PolicyFileLoader = std::function<Result<Bytes>(std::string_view path)>;

Result<BundlePolicy> ParseBundlePolicy(std::string_view json_text, const PolicyFileLoader& load);

}  // namespace openpcc::attest
