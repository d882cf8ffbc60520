// attest/tpm/credential.h — AK enrollment by an operator CA: TPM2_MakeCredential done in software
// (TPM 2.0 Part 1 §24), and the AK certificate the CA issues once the TPM has proven, with
// TPM2_ActivateCredential, that the AK lives in the same TPM as a certified EK.
//
// The protocol: the node sends its EK certificate, EK public and AK public. The CA checks the EK
// certificate against its EK roots and that it certifies this EK, checks that the AK is a
// restricted fixedTPM signing key, and encrypts a random secret to the EK bound to the AK's Name
// (MakeCredential). Only a TPM holding that EK's private key, and an object with that Name loaded
// in it, releases the secret (ActivateCredential). The CA issues the AK certificate when the
// secret comes back.
//
// MakeCredential: seed (nameAlg size, random) is encrypted with RSA-OAEP(nameAlg) to the EK with
// label "IDENTITY\0"; symKey = KDFa(nameAlg, seed, "STORAGE", Name(AK), "", symmetric key bits);
// encIdentity = AES-CFB(symKey, IV = 0, TPM2B(credential)); hmacKey = KDFa(nameAlg, seed,
// "INTEGRITY", "", "", digest bits); credentialBlob = TPM2B(HMAC(hmacKey, encIdentity || Name(AK)))
// || encIdentity.
//
// Thread safety: OperatorCa is immutable after creation and may be shared; Enrollment is a value.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "openpcc/attest/tpm/structures.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

// KDFa (Part 1 §11.4.10.2): SP 800-108 counter-mode KDF with HMAC-hash; `label` without its NUL
// (it is added here). Returns `bits` bits (a multiple of 8).
Result<crypto::SecretBytes> KdfA(crypto::HashId hash, ByteView key, std::string_view label,
                                 ByteView context_u, ByteView context_v, size_t bits);

struct CredentialChallenge {
  Bytes credential_blob;   // TPM2B_ID_OBJECT's buffer (integrityHMAC TPM2B || encIdentity)
  Bytes encrypted_secret;  // TPM2B_ENCRYPTED_SECRET's buffer (the RSA-OAEP ciphertext)
};

// MakeCredential to an RSA EK (restricted decryption key with AES-CFB symmetric) for `object_name`.
Result<CredentialChallenge> MakeCredential(const Public& ek, ByteView object_name,
                                           ByteView credential);

// A CA run by the operator that certifies AKs of TPMs whose EK certificates chain to `ek_roots`.
class OperatorCa {
 public:
  // A fresh self-signed P-256 CA, valid over [not_before, not_after].
  static Result<OperatorCa> Generate(std::string common_name, std::chrono::sys_seconds not_before,
                                     std::chrono::sys_seconds not_after);

  const crypto::Certificate& certificate() const { return certificate_; }

  struct Enrollment {
    Public ak;
    Bytes ak_name;
    crypto::SecretBytes expected_secret;
    CredentialChallenge challenge;
  };
  // Checks the EK certificate (chain to ek_roots at `at`, and it certifies `ek`), the AK's shape,
  // and returns the challenge for the TPM.
  Result<Enrollment> BeginEnrollment(const Public& ek, const crypto::Certificate& ek_certificate,
                                     std::span<const crypto::Certificate> ek_intermediates,
                                     std::span<const crypto::Certificate> ek_roots,
                                     std::chrono::sys_seconds at, const Public& ak) const;
  // The secret ActivateCredential returned must be the challenge's; then the AK certificate.
  Result<crypto::Certificate> FinishEnrollment(const Enrollment& enrollment,
                                               ByteView activated_secret,
                                               std::chrono::sys_seconds not_before,
                                               std::chrono::sys_seconds not_after) const;

 private:
  OperatorCa(crypto::EvpPkeyPtr key, crypto::Certificate certificate);
  std::shared_ptr<EVP_PKEY> key_;
  crypto::Certificate certificate_;
};

}  // namespace openpcc::attest::tpm
