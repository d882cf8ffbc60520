// attest/snp/hcl.h — Azure confidential VMs' HCL report: a hardware report plus runtime claims.
//
// On Azure CVMs the paravisor (HCL) requests the SEV-SNP report itself and publishes it in the
// vTPM's NV index 0x01400001 inside this envelope (all integers little-endian):
//   0x000  header: "HCLA", version (1 or 2), report_size, request_type, status, reserved[3]
//   0x020  the hardware report area, 0x4A0 bytes (the SNP report; a TDX report is padded into it)
//   0x4C0  runtime data header: data_size, version, report_type (2 = SNP, 4 = TDX), hash_type
//          (1 = SHA-256, 2 = SHA-384, 3 = SHA-512), variable_data_size
//   0x4D4  variable data: the runtime claims JSON (HCLAkPub/HCLEkPub JWKs, vm-configuration, ...)
// The hardware report's REPORT_DATA begins with hash_type(variable data): that is the only thing
// binding the claims (and so the vTPM attestation key) to the hardware. The NV index has a fixed
// size, so bytes after report_size are padding; they are not read.
//
// ParseHclReport only parses; CheckHclClaimsBinding does the hash comparison. Neither verifies the
// SNP report: pass `hardware_report` to ParseSnpReport/VerifySnpReport for that.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>

#include "openpcc/attest/snp/report.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::snp {

inline constexpr uint32_t kHclReportTypeSnp = 2;
inline constexpr uint32_t kHclReportTypeTdx = 4;

struct HclReport {
  uint32_t version = 0;
  uint32_t report_size = 0;
  uint32_t request_type = 0;
  uint32_t status = 0;
  Bytes hardware_report;  // the 0x4A0-byte area
  uint32_t runtime_data_version = 0;
  uint32_t report_type = 0;
  uint32_t hash_type = 0;
  Bytes runtime_claims;  // the variable data, exactly as hashed
};

// True when `bytes` begin with the "HCLA" magic (so callers can accept either form of evidence).
bool LooksLikeHclReport(ByteView bytes);

// Fails on a wrong magic, an unknown header version, lengths that disagree with each other or run
// past the input, or an unknown hash type.
Result<HclReport> ParseHclReport(ByteView bytes);

// REPORT_DATA[0 .. hash length] == hash(runtime_claims), the rest of REPORT_DATA is not examined.
Status CheckHclClaimsBinding(const HclReport& hcl, const SnpReport& report);

}  // namespace openpcc::attest::snp
