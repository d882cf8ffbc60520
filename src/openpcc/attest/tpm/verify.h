// attest/tpm/verify.h — offline verification of TPM 2.0 evidence: a quote (TPM2_Quote) over PCRs
// with qualifying data, signed by an attestation key (AK) whose certificate chains to a configured
// root, and the certification of a TPM-resident key by that AK (TPM2_CertifyCreation).
//
// What each check establishes, in the order VerifyQuote runs them (after parsing both structures):
//   1. AK certificate (when given): chains to one of the configured roots at `at`, and its subject
//      public key is the AK. Without a certificate the AK is trusted as pinned by the caller (an AK
//      from a hardware-signed Azure HCL report, or a configured key).
//   2. AK shape (when its TPMT_PUBLIC is known): a restricted signing key, fixedTPM. Only a
//      restricted key refuses to sign outside data that imitates a TPMS_ATTEST.
//   3. Signature: TPMT_SIGNATURE over the exact TPMS_ATTEST bytes, with the scheme the AK allows.
//   4. Structure: TPMS_ATTEST is a QUOTE.
//   5. Qualifying data: extraData equals the expected nonce (when one is given).
//   6. PCR digest: the hash of the caller's PCR values for every selected bank and index, in
//      selection order, equals pcrDigest. The hash is the signature scheme's (the TPM uses the
//      signing scheme's hash for every bank: a SHA-1 bank is digested with SHA-256 under an
//      RSASSA-SHA256 AK, as the GCE vectors show).
// Each failure names its check ("tpm: PCR digest ...", "tpm: quote signature ...").
//
// Thread safety: AttestationKey is immutable after construction; functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/attest/tpm/structures.h"
#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

// PCR values by bank (TPM hash algorithm id) and index.
using PcrValues = std::map<uint16_t, std::map<uint32_t, Bytes>>;

// Parses PCR values as text, one per line: "INDEX HEX" (the bank follows from the value's length:
// 20 bytes sha1, 32 sha256, 48 sha384, 64 sha512) or "BANK:INDEX HEX" (e.g. "sha384:7 ab…").
// Blank lines and lines starting with '#' are skipped. A PCR given twice is an error.
Result<PcrValues> ParsePcrValues(std::string_view text);
// The concatenated values of the selected PCRs, in selection order; an error names a missing one.
Result<Bytes> SelectedPcrValues(const PcrValues& values, std::span<const PcrSelection> selections);

// The AK as the verifier knows it: an OpenSSL public key, and its TPMT_PUBLIC when that is known.
class AttestationKey {
 public:
  // From a TPMT_PUBLIC (checked to be a restricted, fixedTPM signing key).
  static Result<AttestationKey> FromTpmPublic(const Public& pub);
  // From a SubjectPublicKeyInfo, DER or PEM (trusted as pinned; attributes unknown).
  static Result<AttestationKey> FromSpki(ByteView der_or_pem, std::string source = "spki");
  // From an existing key (e.g. an Azure HCL report's HCLAkPub).
  static AttestationKey FromKey(crypto::EvpPkeyPtr key, std::string source);
  // A file's contents: TPMT_PUBLIC, TPM2B_PUBLIC, or SPKI (DER or PEM).
  static Result<AttestationKey> Parse(ByteView bytes);

  const EVP_PKEY* key() const { return key_.get(); }
  const std::optional<Public>& tpm_public() const { return public_; }
  const std::string& source() const { return source_; }
  boost::json::object ToJson() const;

  AttestationKey(const AttestationKey& other);
  AttestationKey& operator=(const AttestationKey& other);
  AttestationKey(AttestationKey&&) noexcept = default;
  AttestationKey& operator=(AttestationKey&&) noexcept = default;

 private:
  AttestationKey(crypto::EvpPkeyPtr key, std::optional<Public> pub, std::string source)
      : key_(std::move(key)), public_(std::move(pub)), source_(std::move(source)) {}
  crypto::EvpPkeyPtr key_;
  std::optional<Public> public_;
  std::string source_;
};

// Where the AK's trust comes from when a certificate is required.
struct AkCertificatePolicy {
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> intermediates;  // untrusted, used for path building
  std::vector<crypto::Certificate> roots;          // pinned
  std::chrono::sys_seconds at;                     // validity time (never the wall clock)
};

// Checks that `certificate` chains to a root at `at` and that its public key is the AK.
Status VerifyAkCertificate(const AttestationKey& ak, const AkCertificatePolicy& policy);

// Checks the TPMT_SIGNATURE over `signed_bytes` with the AK, in the scheme the AK allows.
Status VerifyTpmSignature(std::string_view what, const AttestationKey& ak, ByteView signed_bytes,
                          const Signature& signature);

struct QuotePolicy {
  std::optional<Bytes> expected_nonce;  // extraData must equal it
  std::optional<AkCertificatePolicy> ak_certificate;
};

// What a verified quote says.
struct QuoteClaims {
  Attest attest;
  Signature signature;
  PcrValues pcrs;  // exactly the quoted PCRs
  bool nonce_checked = false;
  std::optional<std::string> ak_certificate_subject;
  std::optional<std::string> ak_certificate_issuer;
  boost::json::object ak;

  // {"type":"tpm-quote","pcrs":{"sha256":{"0":"hex",…}},"extra_data","nonce_checked","clock":{…},
  //  "firmware_version","qualified_signer","signature":{…},"ak":{…},"ak_certificate":{…}}
  boost::json::object ToJson() const;
};

Result<QuoteClaims> VerifyQuote(ByteView attest_bytes, ByteView signature_bytes,
                                const PcrValues& pcrs, const AttestationKey& ak,
                                const QuotePolicy& policy);

// What TPM2_CertifyCreation must show about the node's key.
struct CreationPolicy {
  // TPMA_OBJECT bits that must be set (fixedTPM and fixedParent: the key cannot leave this TPM).
  uint32_t required_attributes = attr::kFixedTpm | attr::kFixedParent;
  // The key's authPolicy must equal this (e.g. PolicyPcrDigest over the measured PCRs).
  std::optional<Bytes> expected_auth_policy;
  std::optional<Bytes> expected_qualifying_data;  // extraData of the certification
};

struct CertifiedKey {
  Public key;      // the certified TPMT_PUBLIC
  Bytes name;      // its Name, equal to the certification's objectName
  Attest attest;   // the TPMS_ATTEST of type CREATION
  boost::json::object ToJson() const;
};

// Verifies that the AK certified the creation of `certified_public` (a TPMT_PUBLIC or TPM2B_PUBLIC):
// signature by the AK, type CREATION, objectName = Name(certified_public), the required attributes
// and authPolicy, and the qualifying data when expected.
Result<CertifiedKey> VerifyCertifyCreation(ByteView attest_bytes, ByteView signature_bytes,
                                           ByteView certified_public, const AttestationKey& ak,
                                           const CreationPolicy& policy);

}  // namespace openpcc::attest::tpm
