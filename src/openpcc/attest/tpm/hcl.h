// attest/tpm/hcl.h — Azure confidential VMs' HCL report: where an Azure vTPM's AK comes from.
//
// On Azure SEV-SNP and TDX confidential VMs the paravisor (HCL) publishes, in vTPM NV index
// 0x01400001, a report that wraps a hardware report (SNP attestation report or TDX TD report) and a
// JSON document of runtime claims. The hardware report's REPORT_DATA[0:n] is the hash of those
// claims, and the claims carry the vTPM's AK as an RSA JWK ("HCLAkPub"). So the AK is as
// trustworthy as the hardware report that binds it — which the SEV-SNP or TDX verifier checks; this
// module checks the binding and extracts the key, and does not verify the hardware report itself.
//
// Layout (little-endian): 0x00 "HCLA" header (32 bytes); 0x20 hardware report (0x4A0 bytes,
// a TD report is 1024 of them); 0x4C0 runtime data header: data_size, version, report_type
// (2 = SNP, 4 = TDX), hash_type (1 SHA-256, 2 SHA-384, 3 SHA-512), claim_size; 0x4D4 the claims.
// The buffer is zero padded after the claims.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>

#include "openpcc/attest/tpm/verify.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

inline constexpr uint32_t kHclReportTypeSnp = 2;
inline constexpr uint32_t kHclReportTypeTdx = 4;

struct HclReport {
  uint32_t report_type = 0;
  Bytes hw_report;       // the SNP report (1184 bytes) or TD report (1024 bytes), for its verifier
  Bytes report_data;     // the hardware report's 64-byte REPORT_DATA
  uint32_t hash_type = 0;
  Bytes runtime_claims;  // the exact JSON bytes that were hashed
};

Result<HclReport> ParseHclReport(ByteView bytes);

// REPORT_DATA[0:n] equals the hash of the runtime claims.
Status VerifyHclClaimsBinding(const HclReport& report);

// The AK from the runtime claims (after checking the binding): the "HCLAkPub" RSA JWK.
Result<AttestationKey> HclAttestationKey(const HclReport& report);

// {"report_type":"sev-snp"|"tdx","vm_configuration":{…},"user_data":…,"claims_sha256":…}
Result<boost::json::object> HclClaimsJson(const HclReport& report);

}  // namespace openpcc::attest::tpm
