// crypto/signature.h — verifying the signatures that platform evidence carries.
//
// Attestation verifiers meet signatures in several encodings: DER ECDSA in X.509 and SPDM
// (NVIDIA), raw big-endian r||s in DCAP quotes and TPM structures, RSA PKCS#1 v1.5 and PSS in TPM
// quotes and AMD's certificates. Public keys arrive as SPKI DER/PEM, as raw EC points, or as an
// RSA modulus and exponent. Each function here returns kAuthenticationFailed when the signature
// does not verify and names what was being verified (`what`), so the caller's error says which
// check failed ("tdx: quote signature: ...").
//
// Thread safety: stateless; EVP_PKEY objects are only read.
#pragma once

#include <string_view>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

enum class EcCurve : uint8_t { kP256, kP384 };

// Coordinate length in bytes: 32 for P-256, 48 for P-384.
size_t EcCoordinateLength(EcCurve curve);

// A public key from SubjectPublicKeyInfo, DER or PEM ("-----BEGIN PUBLIC KEY-----").
Result<EvpPkeyPtr> ParsePublicKey(ByteView der_or_pem);
Result<Bytes> EncodePublicKeyDer(const EVP_PKEY* key);

// An EC public key from big-endian affine coordinates, each exactly EcCoordinateLength bytes.
// The point must be on the curve.
Result<EvpPkeyPtr> EcPublicKeyFromCoordinates(EcCurve curve, ByteView x, ByteView y);

// An RSA public key from a big-endian modulus and exponent (no leading-zero requirement).
Result<EvpPkeyPtr> RsaPublicKeyFromModulus(ByteView modulus, ByteView exponent);

// ECDSA over message (hashed here with `hash`), signature in DER.
Status VerifyEcdsaDer(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView der_signature);
// ECDSA with r and s given as big-endian integers (any length up to the curve's, leading zeros
// allowed), as DCAP quotes and TPMT_SIGNATURE carry them.
Status VerifyEcdsaRaw(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView r, ByteView s);
// ECDSA over an already-computed digest (SPDM signs a transcript hash).
Status VerifyEcdsaDigestRaw(std::string_view what, const EVP_PKEY* key, ByteView digest,
                            ByteView r, ByteView s);

// RSASSA-PKCS1-v1_5 and RSASSA-PSS over message. PSS salt length: kPssSaltDigestLength (the
// TPM's choice) or kPssSaltAuto (any salt length, recovered from the signature).
inline constexpr int kPssSaltDigestLength = -1;
inline constexpr int kPssSaltAuto = -2;
Status VerifyRsaPkcs1(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView signature);
Status VerifyRsaPss(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                    ByteView signature, int salt_length = kPssSaltDigestLength);

// A DER ECDSA-Sig-Value from big-endian r and s (for tests that sign and for re-encoding).
Result<Bytes> EcdsaRawToDer(ByteView r, ByteView s);

}  // namespace openpcc::crypto
