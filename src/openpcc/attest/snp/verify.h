// attest/snp/verify.h — offline verification of AMD SEV-SNP evidence (DESIGN §2.4, step 1).
//
// Input: a report, the VCEK or VLEK certificate that signed it, the untrusted intermediates (ASK
// for a VCEK, ASVK for a VLEK; a copy of the ARK may be included and is ignored as a trust anchor),
// optional CRLs, a policy, and the time at which certificates and CRLs are evaluated (never the
// wall clock). Trust anchors are AMD's ARKs pinned in roots.h. Checks run in this order, and the
// first failure is returned as an Error naming it ("sev-snp: policy: DEBUG is set"):
//   1. SIGNATURE_ALGO is ECDSA P-384 with SHA-384; SIGNING_KEY is VCEK or VLEK (not "none").
//   2. The VEK's productName names a family (Milan, Genoa, Turin) with a pinned ARK; a v3+ report's
//      CPUID names the same family.
//   3. VEK ← ASK/ASVK ← ARK-<family> at `at`, with the CRLs given; a VCEK's issuer is
//      "SEV-<family>", a VLEK's is "SEV-VLEK-<family>" (the report's SIGNING_KEY says which).
//   4. The VEK is a P-384 key; a VCEK's hwID equals CHIP_ID; the VEK's blSPL, teeSPL, snpSPL,
//      ucodeSPL (and fmcSPL, which a Turin VEK must carry) equal REPORTED_TCB.
//   5. The report signature over bytes 0x000..0x29F verifies with the VEK.
//   6. (Azure HCL evidence only) REPORT_DATA begins with the hash of the HCL runtime claims.
//   7. Policy (CheckSnpPolicy): DEBUG, MIGRATE_MA, SMT, VMPL, minimum REPORTED_TCB, HOST_DATA,
//      ID_KEY_DIGEST, REPORT_DATA.
// Chain and binding failures are kAuthenticationFailed; policy refusals kFailedPrecondition;
// malformed inputs kMalformed/kTruncated; unknown versions, algorithms and families kUnsupported.
//
// What a success proves, and what it does not, is in docs/attestation.md ("SEV-SNP").
//
// Thread safety: pure functions over their arguments; the pinned roots are immutable.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/attest/snp/hcl.h"
#include "openpcc/attest/snp/report.h"
#include "openpcc/attest/snp/roots.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::snp {

// What a policy expects of a byte field of the report.
struct ExpectedBytes {
  enum class Kind : uint8_t { kAny, kZero, kEqual };
  Kind kind = Kind::kZero;
  Bytes value;  // kEqual only

  static ExpectedBytes Any() { return {Kind::kAny, {}}; }
  static ExpectedBytes Zero() { return {Kind::kZero, {}}; }
  static ExpectedBytes Equal(Bytes value) { return {Kind::kEqual, std::move(value)}; }
};

// The defaults are the strict ones DESIGN §2.4 asks of a client: no debug, no migration agent,
// VMPL 0, HOST_DATA and ID_KEY_DIGEST zero unless a manifest states values.
struct SnpPolicy {
  bool allow_debug = false;
  bool allow_migrate_ma = false;
  // When false, refuses a guest whose policy allows SMT and a platform with SMT enabled (SMT
  // siblings share core resources with other tenants).
  bool allow_smt = true;
  std::optional<uint32_t> vmpl = 0;  // nullopt: any VMPL
  // Each component of REPORTED_TCB must be >= the minimum's; `fmc` is compared on Turin when set.
  std::optional<SnpTcb> minimum_tcb;
  ExpectedBytes host_data = ExpectedBytes::Zero();
  ExpectedBytes id_key_digest = ExpectedBytes::Zero();
  // The evidence bundle's binding (DESIGN §2.4 step 3) is checked by its verifier; this is for
  // callers that know the exact value, such as a fresh nonce.
  ExpectedBytes report_data = ExpectedBytes::Any();
};

struct SnpVerifyOptions {
  std::chrono::sys_seconds at;    // certificate and CRL validity are evaluated at this time
  std::vector<crypto::Crl> crls;  // e.g. AMD's ARK CRL, which covers the ASK and ASVK
  SnpPolicy policy;
  // Replaces the pinned AMD ARKs. Only tests set this (a chain made in the test); production
  // callers leave it empty.
  std::vector<SnpRoot> roots_for_testing;
};

// The verified report and what the verification established about it.
struct SnpClaims {
  SnpReport report;
  SnpFamily family = SnpFamily::kMilan;
  std::string product_name;  // the VEK's, e.g. "Milan-B0"
  SnpTcb reported_tcb;
  SnpTcb current_tcb;
  SnpTcb committed_tcb;
  SnpTcb launch_tcb;
  std::string vek_subject;
  std::optional<HclReport> hcl;  // set when the evidence was an Azure HCL report

  ByteView measurement() const { return report.measurement; }
  ByteView report_data() const { return report.report_data; }
  ByteView chip_id() const { return report.chip_id; }
  ByteView host_data() const { return report.host_data; }
  SnpSigningKey signing_key() const { return report.signing_key(); }

  // Every claim as JSON (byte fields in lower-case hex, TCBs by component), for the CLI.
  boost::json::object ToJson() const;
};

// Steps 1–5 and 7 (see the top of this file).
Result<SnpClaims> VerifySnpReport(const SnpReport& report, const crypto::Certificate& vek,
                                  std::span<const crypto::Certificate> intermediates,
                                  const SnpVerifyOptions& options);

// Step 7 alone, on claims whose authenticity was established by VerifySnpReport.
Status CheckSnpPolicy(const SnpClaims& claims, const SnpPolicy& policy);

// The whole verification for the CLI (`openpcc evidence verify --type sev-snp`) and other callers
// holding files:
//   report_bytes  a raw report, an Azure HCL report (detected by its "HCLA" magic), or either as hex;
//   vek_bytes     the VCEK or VLEK, DER or PEM; a PEM bundle may continue with its chain;
//   chain_bytes   ASK + ARK or ASVK + ARK (or all three), PEM or DER; may be empty if vek_bytes
//                 carries the chain;
//   crl           a CRL (DER or PEM) from AMD's KDS, when the caller has one.
Result<SnpClaims> VerifySnpEvidence(ByteView report_bytes, ByteView vek_bytes, ByteView chain_bytes,
                                    std::optional<ByteView> crl, const SnpPolicy& policy,
                                    std::chrono::sys_seconds at,
                                    std::span<const SnpRoot> roots_for_testing = {});

}  // namespace openpcc::attest::snp
