// crypto/x509.h — X.509 certificates, CRLs and chain verification at a given time.
//
// Attestation rests on vendor certificate chains (AMD ARK/ASK/VCEK, Intel SGX root/PCK, NVIDIA
// device identity, TPM AK certificates). `VerifyChain` builds a path from a leaf through the given
// intermediates to one of the pinned roots and evaluates validity at the caller's time (never the
// wall clock), with CRLs when given. Errors name the failing certificate by depth and subject.
//
// Thread safety: Certificate and Crl are immutable after parsing; copies share the OpenSSL object
// (reference counted), which OpenSSL allows to be read concurrently.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL, X509_CRL_free>>;

class Certificate {
 public:
  // One certificate, DER.
  static Result<Certificate> ParseDer(ByteView der);
  // Every certificate in a PEM text (at least one), or a single DER certificate: the forms in which
  // vendors and the vectors ship them. Leading text before the first PEM block is ignored.
  static Result<std::vector<Certificate>> ParseAll(ByteView der_or_pem);
  // Exactly one certificate, DER or PEM.
  static Result<Certificate> ParseOne(ByteView der_or_pem);

  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  X509* get() const { return cert_.get(); }
  Bytes Der() const;
  std::string Subject() const;  // RFC 2253 one-line form, for messages
  std::string Issuer() const;
  // The subject's / issuer's commonName (the last one if several), or "" when there is none: for
  // checks that an issuer is a specific CA ("SEV-Milan"), which the one-line forms make ambiguous.
  std::string SubjectCommonName() const;
  std::string IssuerCommonName() const;
  std::chrono::sys_seconds NotBefore() const;
  std::chrono::sys_seconds NotAfter() const;
  // The subject public key; the certificate keeps ownership.
  const EVP_PKEY* PublicKey() const;
  // The contents of the extension with this dotted OID (the OCTET STRING's bytes), or nullopt.
  std::optional<Bytes> Extension(std::string_view oid) const;

 private:
  explicit Certificate(X509Ptr cert) : cert_(std::move(cert)) {}
  X509Ptr cert_;
};

class Crl {
 public:
  static Result<Crl> ParseOne(ByteView der_or_pem);
  X509_CRL* get() const { return crl_.get(); }
  std::string Issuer() const;

  Crl(const Crl& other);
  Crl& operator=(const Crl& other);
  Crl(Crl&&) noexcept = default;
  Crl& operator=(Crl&&) noexcept = default;

 private:
  explicit Crl(X509CrlPtr crl) : crl_(std::move(crl)) {}
  X509CrlPtr crl_;
};

struct ChainPolicy {
  std::chrono::sys_seconds at;  // validity is evaluated at this time
  std::vector<Crl> crls;        // checked for every certificate whose issuer has a CRL here
  // When true, every certificate below the root must have a CRL from its issuer in `crls`.
  bool require_crls = false;
};

// Verifies leaf ← intermediates ← one of roots, at policy.at. Roots are trust anchors (pinned by
// the caller); intermediates are untrusted. The error says which certificate failed and why.
Status VerifyChain(std::string_view what, const Certificate& leaf,
                   std::span<const Certificate> intermediates,
                   std::span<const Certificate> roots, const ChainPolicy& policy);

// Parses "YYYY-MM-DDTHH:MM:SSZ" (and the date-only "YYYY-MM-DD" as midnight UTC), as used by
// `--at` and by Intel's collateral JSON (which may also carry fractional seconds).
Result<std::chrono::sys_seconds> ParseUtcTime(std::string_view text);
std::string FormatUtcTime(std::chrono::sys_seconds time);

}  // namespace openpcc::crypto
