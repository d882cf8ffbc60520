// attest/nvgpu/rim.h — NVIDIA Reference Integrity Manifests (RIMs): SWID tags (ISO/IEC 19770-2)
// carrying the reference measurements of a GPU driver or VBIOS, signed with an enveloped XML-DSig
// signature whose certificate chain ends at NVIDIA's CoRIM signing Root CA.
//
// ParseRim reads the document (attest/nvgpu/xml.h, a bounded reader) and its reference values;
// nothing in it is trusted until VerifyRimSignature has checked, in this order:
//   1. the signature's shape: exactly one ds:Signature, a direct child of the SoftwareIdentity
//      root; inclusive C14N (1.0 or 1.1) for SignedInfo; ECDSA-SHA384; exactly one Reference with
//      URI="" and the transforms enveloped-signature then C14N; SHA-384 digest;
//   2. the digest: SHA-384 of the canonical document without the Signature element;
//   3. the signing certificate chain (KeyInfo's X509Certificates, signer first) to the pinned
//      RIM root, at the caller's time;
//   4. the signature (raw r||s) over canonical SignedInfo with the signer's key.
// Because the reference covers the whole document (URI="") and the values are read from the same
// parsed tree, outside the Signature element, the values used are exactly the values signed.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "openpcc/attest/nvgpu/xml.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::nvgpu {

struct RimMeasurement {
  uint32_t index = 0;  // RIM numbering: 0-based, SPDM block index - 1
  bool active = false;
  uint32_t size = 0;
  std::vector<Bytes> alternatives;  // any one of them matches
};

struct Rim {
  std::string tag_id;
  std::string name;     // SoftwareIdentity name, the chip: "GH100"
  std::string version;  // Meta colloquialVersion: driver "550.90.07" or VBIOS "96.00.5E.00.01"
  std::string product;  // Meta product
  std::map<uint32_t, RimMeasurement> measurements;
  xml::Node document;   // kept for signature verification
};

// Parses a RIM (SWID XML). Structure and values only; no signature check.
Result<Rim> ParseRim(std::string_view xml_text);

struct RimSignature {
  std::vector<std::string> chain_subjects;  // signer first
};

// Verifies the XML-DSig signature and the signer's chain to `roots` at `at` (steps above).
Result<RimSignature> VerifyRimSignature(const Rim& rim, std::span<const crypto::Certificate> roots,
                                        std::chrono::sys_seconds at);

// Strict base64 (RFC 4648, padding required); whitespace between characters is ignored, as XML
// element content wraps it.
Result<Bytes> DecodeBase64(std::string_view text);

}  // namespace openpcc::attest::nvgpu
