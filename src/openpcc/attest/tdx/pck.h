// attest/tdx/pck.h — the Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1).
//
// The PCK certificate, issued by Intel's PCK Platform or Processor CA, names the platform it was
// issued to: FMSPC (family-model-stepping-platform-CustomSKU, which selects the TCB info), PCE-ID,
// the 16 SGX TCB component SVNs and the PCE SVN the platform had when the key was derived. These
// feed the TCB matching (tcb.h). The extension is parsed with OpenSSL's ASN.1 decoder (a SEQUENCE
// of (OID, value) pairs, nested for the TCB), every element's type and length checked.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>

#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tdx {

inline constexpr const char* kSgxExtensionsOid = "1.2.840.113741.1.13.1";

struct PckExtensions {
  std::array<uint8_t, 16> ppid{};
  std::array<uint8_t, 16> cpu_svn{};
  std::array<uint8_t, 16> tcb_components{};  // SGX TCB component SVNs 01..16
  uint16_t pce_svn = 0;
  std::array<uint8_t, 2> pce_id{};
  std::array<uint8_t, 6> fmspc{};
  int sgx_type = 0;  // 0 Standard, 1 Scalable, 2 Scalable with integrity
};

// Parses the DER contents of the SGX extensions (the extension's OCTET STRING value).
Result<PckExtensions> ParsePckExtensions(ByteView extension_der);
// Finds and parses the extension in a PCK certificate.
Result<PckExtensions> PckExtensionsOf(const crypto::Certificate& pck);

}  // namespace openpcc::attest::tdx
