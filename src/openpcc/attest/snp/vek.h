// attest/snp/vek.h — the AMD extensions of a VCEK or VLEK certificate.
//
// AMD's Key Distribution Service issues each versioned endorsement key a certificate carrying what
// the key was derived for (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS
// Interface Specification", publication 57230):
//   1.3.6.1.4.1.3704.1.2      productName  IA5String, e.g. "Milan-B0", "Genoa", "Turin"
//   1.3.6.1.4.1.3704.1.3.1    blSPL        INTEGER  (boot loader security patch level)
//   1.3.6.1.4.1.3704.1.3.2    teeSPL       INTEGER
//   1.3.6.1.4.1.3704.1.3.3    snpSPL       INTEGER
//   1.3.6.1.4.1.3704.1.3.8    ucodeSPL     INTEGER
//   1.3.6.1.4.1.3704.1.3.9    fmcSPL       INTEGER  (Turin)
//   1.3.6.1.4.1.3704.1.4      hwID         the chip id: 64 bytes (8 on Turin); VCEK only
// KDS writes hwID as raw bytes inside the extension; an OCTET STRING wrapping is accepted too.
// A VLEK has no hwID (it is loaded by the cloud provider, not derived from one chip).
//
// Parsing reads the extensions of a parsed certificate and proves nothing by itself: the values
// mean something only once the certificate's chain to a pinned ARK has been verified.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::snp {

inline constexpr const char* kOidProductName = "1.3.6.1.4.1.3704.1.2";
inline constexpr const char* kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr const char* kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr const char* kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr const char* kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr const char* kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr const char* kOidHwid = "1.3.6.1.4.1.3704.1.4";

struct VekExtensions {
  std::string product_name;
  std::optional<uint8_t> bl_spl;
  std::optional<uint8_t> tee_spl;
  std::optional<uint8_t> snp_spl;
  std::optional<uint8_t> ucode_spl;
  std::optional<uint8_t> fmc_spl;
  std::optional<Bytes> hwid;
};

// Fails when productName is missing, or when a present extension is not of its type (an SPL that
// is not an INTEGER in [0, 255], a hwID that is neither raw bytes nor one OCTET STRING).
Result<VekExtensions> ParseVekExtensions(const crypto::Certificate& vek);

}  // namespace openpcc::attest::snp
