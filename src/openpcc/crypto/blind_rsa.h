// crypto/blind_rsa.h — RSA blind signatures (RFC 9474), the primitive behind Privacy Pass
// publicly verifiable tokens (RFC 9578 type 0x0002 uses RSABSSA-SHA384-PSS-Deterministic).
//
// The protocol has two sides. The client prepares a message (`BlindRsaPrepare`), blinds it to the
// signer's public key (`BlindRsaBlind`, keeping the returned inverse secret), sends the blinded
// message, and unblinds the signer's answer (`BlindRsaFinalize`, which also verifies the result).
// The signer (`BlindRsaBlindSign`) signs without learning the message; anyone verifies the final
// signature as a plain RSASSA-PSS signature (`BlindRsaVerify`).
//
// All four RFC 9474 variants are supported: SHA-384 with PSS (48-byte salt) or PSSZERO (no salt),
// each Randomized (a 32-byte random prefix is prepended by Prepare) or Deterministic.
//
// What is secret where: the signer's private key (held by OpenSSL, whose private operation is
// blinded and constant time), the client's blinding factor r and its inverse (r^e is computed with
// BN_mod_exp_mont_consttime; BIGNUMs are cleared when freed; the inverse travels in SecretBytes).
//
// Keys: public keys import from and export to SubjectPublicKeyInfo DER, in either the rsaEncryption
// encoding (what WebCrypto exports) or the id-RSASSA-PSS encoding with SHA-384/MGF1-SHA-384/salt 48
// parameters that RFC 9578 §6.5 prescribes for token keys (and whose SHA-256 is the token key id).
// Private keys import from PKCS#8 (DER or PEM) and export to PKCS#8 DER in SecretBytes.
//
// Thread safety: keys are immutable after construction and may be shared across threads; the free
// functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

enum class BlindRsaVariant : uint8_t {
  kSha384PssRandomized,
  kSha384PssZeroRandomized,
  kSha384PssDeterministic,
  kSha384PssZeroDeterministic,
};

// "RSABSSA-SHA384-PSS-Randomized", … (RFC 9474 §5).
std::string_view BlindRsaVariantName(BlindRsaVariant variant);
// 48 for PSS, 0 for PSSZERO.
size_t BlindRsaSaltLength(BlindRsaVariant variant);
bool BlindRsaIsRandomized(BlindRsaVariant variant);

// Length of the random prefix a Randomized variant prepends (RFC 9474 §4.1).
inline constexpr size_t kBlindRsaPrefixLength = 32;

class BlindRsaPublicKey {
 public:
  // Accepts rsaEncryption SPKI, or id-RSASSA-PSS SPKI whose parameters are exactly the RFC 9578
  // ones (SHA-384, MGF1 with SHA-384, salt length 48). Anything else — other OIDs, other PSS
  // parameters, trailing bytes, non-DER encodings, moduli outside [2048, 4096] bits, even moduli,
  // exponents that are even or below 3 — is refused.
  static Result<BlindRsaPublicKey> FromSpki(ByteView der);
  // From big-endian modulus and public exponent.
  static Result<BlindRsaPublicKey> FromComponents(ByteView n, ByteView e);

  BlindRsaPublicKey(BlindRsaPublicKey&&) noexcept = default;
  BlindRsaPublicKey& operator=(BlindRsaPublicKey&&) noexcept = default;
  BlindRsaPublicKey Clone() const;

  // The RFC 9578 token key encoding (id-RSASSA-PSS with SHA-384 parameters).
  const Bytes& SpkiRsaPss() const { return spki_pss_; }
  // The rsaEncryption encoding (for peers such as WebCrypto).
  Bytes SpkiRsaEncryption() const;
  // Modulus length in bytes (RFC 9474's modulus_len).
  size_t modulus_length() const { return modulus_length_; }
  size_t modulus_bits() const;
  Bytes ModulusBytes() const;
  Bytes ExponentBytes() const;

  const EVP_PKEY* evp() const { return key_.get(); }
  const BIGNUM* n() const { return n_.get(); }
  const BIGNUM* e() const { return e_.get(); }

 private:
  friend class BlindRsaPrivateKey;
  BlindRsaPublicKey() = default;
  static Result<BlindRsaPublicKey> FromBignums(BignumPtr n, BignumPtr e);

  EvpPkeyPtr key_;  // type "RSA" (never RSA-PSS, whose restrictions would forbid raw operations)
  BignumPtr n_;
  BignumPtr e_;
  size_t modulus_length_ = 0;
  Bytes spki_pss_;
};

class BlindRsaPrivateKey {
 public:
  // A fresh key pair; `bits` in [2048, 4096], public exponent 65537.
  static Result<BlindRsaPrivateKey> Generate(size_t bits = 2048);
  // PKCS#8 PrivateKeyInfo, DER or PEM ("-----BEGIN PRIVATE KEY-----"), RSA or RSA-PSS.
  static Result<BlindRsaPrivateKey> FromPkcs8(ByteView der_or_pem);
  // From big-endian n, e, d, p, q (as RFC 9474's vectors give them); the CRT values are derived.
  static Result<BlindRsaPrivateKey> FromComponents(ByteView n, ByteView e, ByteView d, ByteView p,
                                                   ByteView q);

  BlindRsaPrivateKey(BlindRsaPrivateKey&&) noexcept = default;
  BlindRsaPrivateKey& operator=(BlindRsaPrivateKey&&) noexcept = default;

  // PKCS#8 DER (rsaEncryption), for the key store.
  Result<SecretBytes> ToPkcs8Der() const;
  const BlindRsaPublicKey& public_key() const { return public_key_; }
  const EVP_PKEY* evp() const { return key_.get(); }

 private:
  BlindRsaPrivateKey(EvpPkeyPtr key, BlindRsaPublicKey pub)
      : key_(std::move(key)), public_key_(std::move(pub)) {}
  static Result<BlindRsaPrivateKey> FromEvp(EvpPkeyPtr key);

  EvpPkeyPtr key_;  // type "RSA"
  BlindRsaPublicKey public_key_;
};

// RFC 9474 §4.1 Prepare: returns the message to blind and, later, to verify — `msg` itself for the
// Deterministic variants, 32 random bytes followed by `msg` for the Randomized ones.
Bytes BlindRsaPrepare(BlindRsaVariant variant, ByteView msg);

struct BlindRsaBlinding {
  Bytes blinded_msg;  // modulus_length bytes, sent to the signer
  SecretBytes inv;    // modulus_length bytes, the inverse of the blinding factor; kept by the client
};

// RFC 9474 §4.2 Blind, with a fresh salt and blinding factor. Fails (kInvalidArgument) if the
// encoded message is not invertible modulo n.
Result<BlindRsaBlinding> BlindRsaBlind(BlindRsaVariant variant, const BlindRsaPublicKey& key,
                                       ByteView prepared_msg);

// RFC 9474 §4.3 BlindSign. Refuses a blinded message of the wrong length or not below n, and
// checks its own result with the public key before returning it (so a faulty signature never
// leaves the signer).
Result<Bytes> BlindRsaBlindSign(const BlindRsaPrivateKey& key, ByteView blinded_msg);

// RFC 9474 §4.4 Finalize: unblinds and verifies. kAuthenticationFailed if the signer's answer does
// not unblind to a valid signature.
Result<Bytes> BlindRsaFinalize(BlindRsaVariant variant, const BlindRsaPublicKey& key,
                               ByteView prepared_msg, ByteView blind_sig, const SecretBytes& inv);

// RFC 9474 §4.5 Verify: RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384 and the variant's salt length.
Status BlindRsaVerify(BlindRsaVariant variant, const BlindRsaPublicKey& key, ByteView prepared_msg,
                      ByteView signature);

// Test vectors fix the randomness: the Randomized prefix, the PSS salt and the blinding factor,
// given either as r (RFC 9578's vectors) or as its inverse (RFC 9474's). Production code never
// calls these.
struct BlindRsaTestingValues {
  ByteView salt;
  ByteView r;    // exactly one of r and inv is non-empty, modulus_length bytes
  ByteView inv;
};
Bytes BlindRsaPrepareForTesting(BlindRsaVariant variant, ByteView msg, ByteView prefix);
Result<BlindRsaBlinding> BlindRsaBlindForTesting(BlindRsaVariant variant,
                                                 const BlindRsaPublicKey& key,
                                                 ByteView prepared_msg,
                                                 const BlindRsaTestingValues& values);

}  // namespace openpcc::crypto
