// attest/sim/verify.h — verification of simulated TEE evidence (attest/sim/sim.h), client side.
//
// A sim report is accepted only under a sim root the caller configured (a deployment's policy
// lists its root; there is no built-in one), and what comes out is marked simulated: SimClaims
// has `simulated = true` and its JSON says "simulated": true, so no output can pass a simulated
// node off as hardware-attested. Checks, in order, each failing with an error naming it
// ("sim: report signature: ..."):
//   1. at least one sim root is configured;
//   2. the report parses (attest/snp/report.h), SIGNATURE_ALGO is ECDSA P-384/SHA-384 and
//      SIGNING_KEY is the VEK;
//   3. the sim VEK is a P-384 key certified directly by one of the sim roots, valid at `at`
//      (the evidence's copy of the root is never trusted);
//   4. the report signature over bytes 0x000..0x29F verifies with the VEK;
//   5. policy: DEBUG and MIGRATE_MA clear, VMPL 0.
// REPORT_DATA (the binding) and MEASUREMENT (the reference value) are the bundle verifier's.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include <boost/json/object.hpp>

#include "openpcc/attest/snp/report.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::sim {

struct SimClaims {
  snp::SnpReport report;
  std::string root_subject;  // the configured sim root that certified the VEK
  std::string vek_subject;
  static constexpr bool simulated = true;

  ByteView measurement() const { return report.measurement; }
  ByteView report_data() const { return report.report_data; }
  // {"type":"sim","simulated":true,"measurement","report_data","chip_id","policy","vmpl",
  //  "root_subject","vek_subject"}; byte fields in lower-case hex.
  boost::json::object ToJson() const;
};

// `report` raw or hex (as snp::DecodeReportBytes); `vek` DER or PEM (one certificate).
Result<SimClaims> VerifySimEvidence(ByteView report, ByteView vek,
                                    std::span<const crypto::Certificate> sim_roots,
                                    std::chrono::sys_seconds at);

}  // namespace openpcc::attest::sim
