// attest/tpm/evidence.h — `openpcc evidence verify --type tpm`: one call from the files an
// operator or client holds (a quote, its signature, PCR values, the AK and optionally its
// certificate and roots, or an Azure HCL report as the AK's source) to verified claims.
//
// Inputs are file contents, not paths: the CLI reads the files, this verifies them. The AK comes
// from exactly one of `ak` (TPMT_PUBLIC, TPM2B_PUBLIC or SPKI) and `hcl_report`. When an AK
// certificate is given, roots are required. A signature that is not a TPMT_SIGNATURE but exactly
// as long as an RSA AK's modulus (as Azure ships tpm-quote.sig) is taken as RSASSA-SHA256.
//
// Thread safety: pure function.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

struct TpmEvidenceInput {
  Bytes quote;       // TPMS_ATTEST
  Bytes signature;   // TPMT_SIGNATURE
  std::string pcrs;  // "INDEX HEX" / "BANK:INDEX HEX" lines
  std::optional<Bytes> ak;
  std::optional<Bytes> hcl_report;
  std::optional<Bytes> nonce;
  std::optional<Bytes> ak_certificate;  // DER or PEM
  std::vector<Bytes> intermediates;     // DER or PEM (bundles allowed)
  std::vector<Bytes> roots;             // DER or PEM (bundles allowed)
  std::chrono::sys_seconds at{};        // certificate validity time
};

// The verified claims (QuoteClaims::ToJson, plus "hcl" when the AK came from an HCL report).
Result<boost::json::object> VerifyTpmEvidence(const TpmEvidenceInput& input);

}  // namespace openpcc::attest::tpm
