// Certificate revocation lists made at test time, for the revocation tests of the attestation
// verifiers (the vectors' own CRLs revoke nothing the vectors use). Nothing here is used outside
// tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openpcc/util/bytes.h"

namespace openpcc::testing {

// A v2 CRL whose issuer name is `issuer` (the issuing certificate's subject), signed by
// `issuer_key` with `digest`, valid from `this_update` to `next_update`, revoking `serials` (each
// revoked at `this_update`). DER.
Bytes MakeTestCrl(const X509_NAME* issuer, EVP_PKEY* issuer_key, const std::vector<long>& serials,
                  std::chrono::sys_seconds this_update, std::chrono::sys_seconds next_update,
                  const EVP_MD* digest);

// The same CRL as PEM ("-----BEGIN X509 CRL-----"), the form Intel's PCS serves.
std::string TestCrlPem(ByteView der);

}  // namespace openpcc::testing
