// crypto/ed25519.h — Ed25519 signatures (RFC 8032, pure Ed25519) through OpenSSL 3 EVP.
//
// Used for the transparency log: signed notes and checkpoints, witness cosignatures, and the
// release and directory keys that sign log entries. A private key is kept as its 32-byte RFC 8032
// seed in SecretBytes (wiped on destruction) beside the OpenSSL key object; public keys are the raw
// 32-byte encoding. Verification refuses malformed public keys and signatures of the wrong length.
//
// Thread safety: keys are immutable after construction; Sign and Verify may be called from several
// threads at once (each call uses its own OpenSSL context).
#pragma once

#include <cstddef>
#include <memory>

#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace openpcc::crypto {

inline constexpr size_t kEd25519SeedLength = 32;
inline constexpr size_t kEd25519PublicKeyLength = 32;
inline constexpr size_t kEd25519SignatureLength = 64;

class Ed25519PublicKey {
 public:
  // The raw 32-byte RFC 8032 encoding; fails if it is not a valid point encoding.
  static Result<Ed25519PublicKey> FromBytes(ByteView raw);

  // Ok, or kAuthenticationFailed ("ed25519: signature does not verify"), or kMalformed for a
  // signature that is not 64 bytes.
  Status Verify(ByteView message, ByteView signature) const;
  const Bytes& bytes() const { return raw_; }

  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) { return a.raw_ == b.raw_; }

 private:
  Ed25519PublicKey(Bytes raw, std::shared_ptr<EVP_PKEY> key) : raw_(std::move(raw)), key_(std::move(key)) {}
  Bytes raw_;
  std::shared_ptr<EVP_PKEY> key_;  // shared: the key is immutable and OpenSSL reference-counts it
};

class Ed25519PrivateKey {
 public:
  // From the 32-byte RFC 8032 seed (the form in which `openpcc keys` stores a key).
  static Result<Ed25519PrivateKey> FromSeed(ByteView seed);
  // A new key from the CSPRNG.
  static Ed25519PrivateKey Generate();

  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept = default;

  // 64-byte signature. Ed25519 is deterministic: the same message gives the same signature.
  Result<Bytes> Sign(ByteView message) const;
  const Ed25519PublicKey& public_key() const { return public_key_; }
  // For persisting the key; handle as a secret.
  const SecretBytes& seed() const { return seed_; }

 private:
  Ed25519PrivateKey(SecretBytes seed, std::shared_ptr<EVP_PKEY> key, Ed25519PublicKey public_key)
      : seed_(std::move(seed)), key_(std::move(key)), public_key_(std::move(public_key)) {}
  SecretBytes seed_;
  std::shared_ptr<EVP_PKEY> key_;
  Ed25519PublicKey public_key_;
};

}  // namespace openpcc::crypto
