// fuzz/snp_fuzz.cc — SEV-SNP parsers on untrusted bytes: the ATTESTATION_REPORT, the Azure HCL
// envelope (and the report inside it), the raw-or-hex input decoder, and the AMD extensions of a
// VEK certificate. Seeds: the reports, HCL reports and VCEKs of ../shared/vectors.
//
// Invariants beyond "no crash, leak or undefined behaviour":
//  - a report that parses is exactly 1184 bytes, its signed bytes are the input's first 0x2A0, its
//    CPUID is present exactly from version 3 and its mitigation vectors exactly from version 5;
//  - a TCB decodes and re-encodes to itself, less the bytes its family's layout reserves;
//  - an HCL report that parses has a 0x4A0-byte hardware report, and runtime claims that end within
//    the input at report_size;
//  - DecodeReportBytes returns the input itself unless it is hex.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "openpcc/attest/snp/hcl.h"
#include "openpcc/attest/snp/report.h"
#include "openpcc/attest/snp/vek.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::attest::snp {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "snp_fuzz: %s\n", what);
    std::abort();
  }
}

void FuzzReport(ByteView input) {
  Result<SnpReport> report = ParseSnpReport(input);
  if (!report.ok()) return;
  Check(input.size() == kReportSize, "a report of the wrong size parsed");
  Check(report->signed_bytes == ToBytes(input.first(kSignedLength)), "signed bytes are not the input's");
  Check(report->version >= kMinReportVersion && report->version <= kMaxReportVersion,
        "a report of an unknown version parsed");
  Check(report->cpuid.has_value() == (report->version >= 3), "CPUID presence disagrees with VERSION");
  Check(report->launch_mit_vector.has_value() == (report->version >= 5),
        "mitigation vector presence disagrees with VERSION");
  for (SnpFamily family : {SnpFamily::kMilan, SnpFamily::kGenoa, SnpFamily::kTurin}) {
    const uint64_t used = family == SnpFamily::kTurin ? 0xff000000ffffffffULL : 0xffff00000000ffffULL;
    for (uint64_t raw : {report->reported_tcb, report->current_tcb, report->committed_tcb, report->launch_tcb}) {
      SnpTcb tcb = DecodeTcb(raw, family);
      Check(EncodeTcb(tcb, family) == (raw & used), "TCB does not re-encode");
      (void)TcbToString(tcb);
    }
  }
  (void)report->CpuidFamily();
}

void FuzzHcl(ByteView input) {
  Result<HclReport> hcl = ParseHclReport(input);
  if (!hcl.ok()) return;
  Check(hcl->hardware_report.size() == 0x4A0, "HCL hardware report area is not 0x4A0 bytes");
  Check(hcl->report_size <= input.size(), "HCL report_size beyond the input");
  Check(0x4D4 + hcl->runtime_claims.size() == hcl->report_size, "runtime claims do not end at report_size");
  Result<SnpReport> inner = ParseSnpReport(hcl->hardware_report);
  if (inner.ok()) (void)CheckHclClaimsBinding(*hcl, *inner);
}

void FuzzDecode(ByteView input) {
  Result<Bytes> decoded = DecodeReportBytes(input);
  if (!decoded.ok()) return;
  if (decoded->size() != input.size()) {
    Check(decoded->size() * 2 <= input.size(), "hex decoding grew the input");
  }
}

void FuzzVekExtensions(ByteView input) {
  Result<crypto::Certificate> cert = crypto::Certificate::ParseDer(input);
  if (!cert.ok()) return;
  Result<VekExtensions> ext = ParseVekExtensions(*cert);
  if (ext.ok()) (void)SnpFamilyFromProductName(ext->product_name);
}

}  // namespace
}  // namespace openpcc::attest::snp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const openpcc::ByteView input(data, size);
  openpcc::attest::snp::FuzzReport(input);
  openpcc::attest::snp::FuzzHcl(input);
  openpcc::attest::snp::FuzzDecode(input);
  openpcc::attest::snp::FuzzVekExtensions(input);
  return 0;
}
