// crypto/kem.h — DHKEM(X25519, HKDF-SHA256) and DHKEM(P-256, HKDF-SHA256) (RFC 9180 §4.1, §7.1).
//
// The Diffie-Hellman step of a private key is an interface, `DhPrivateKey`, so that a key that
// never leaves a TPM can take part in HPKE: the TPM performs DH (TPM2_ECDH_ZGen) and everything
// else — ExtractAndExpand, the key schedule, the AEAD — runs here. `SoftwareDhKey` is the OpenSSL
// implementation used everywhere else.
//
// Public keys are in HPKE's serialized form: 32 raw bytes for X25519; the 65-byte uncompressed
// point for P-256. Deserialisation rejects anything else (wrong length, compressed points, points
// not on the curve). A DH whose result is the all-zero X25519 value fails.
//
// Thread safety: keys are immutable after construction and may be shared across threads.
#pragma once

#include <cstdint>
#include <memory>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

enum class KemId : uint16_t { kP256HkdfSha256 = 0x0010, kX25519HkdfSha256 = 0x0020 };

bool IsKnownKem(uint16_t id);
size_t KemPublicKeyLength(KemId id);   // Npk (= Nenc for both KEMs)
size_t KemPrivateKeyLength(KemId id);  // Nsk
size_t KemSharedSecretLength(KemId id);  // Nsecret

// A private key whose owner can compute DH(sk, peer_public).
class DhPrivateKey {
 public:
  virtual ~DhPrivateKey() = default;
  virtual KemId kem_id() const = 0;
  // The serialized public key (pkXm).
  virtual ByteView public_key() const = 0;
  // DH(sk, pkPeer) for a serialized peer public key; fails on an invalid peer key.
  virtual Result<SecretBytes> DiffieHellman(ByteView peer_public_key) const = 0;
};

// A private key held by OpenSSL in this process.
class SoftwareDhKey final : public DhPrivateKey {
 public:
  static Result<SoftwareDhKey> Generate(KemId kem);
  // DeriveKeyPair(ikm) of RFC 9180 §7.1.3 (deterministic; used by tests and the RFC vectors).
  static Result<SoftwareDhKey> Derive(KemId kem, ByteView ikm);
  // From SerializePrivateKey output (Nsk bytes).
  static Result<SoftwareDhKey> FromPrivateKey(KemId kem, ByteView private_key);

  SoftwareDhKey(SoftwareDhKey&&) noexcept = default;
  SoftwareDhKey& operator=(SoftwareDhKey&&) noexcept = default;

  KemId kem_id() const override { return kem_; }
  ByteView public_key() const override { return public_key_; }
  Result<SecretBytes> DiffieHellman(ByteView peer_public_key) const override;
  // SerializePrivateKey (Nsk bytes). For key files only; never log it.
  Result<SecretBytes> PrivateKeyBytes() const;

 private:
  SoftwareDhKey(KemId kem, EvpPkeyPtr key, Bytes public_key)
      : kem_(kem), key_(std::move(key)), public_key_(std::move(public_key)) {}

  KemId kem_;
  EvpPkeyPtr key_;
  Bytes public_key_;
};

// Checks that `public_key` is a valid serialized public key of `kem`.
Status ValidatePublicKey(KemId kem, ByteView public_key);

struct Encapsulation {
  SecretBytes shared_secret;
  Bytes enc;
};

// Encap / AuthEncap (RFC 9180 §4.1). `ephemeral` is the sender's fresh key (tests pass a derived
// one; everything else lets Encap generate it). `sender` is set for AuthEncap.
Result<Encapsulation> Encap(KemId kem, ByteView recipient_public_key,
                            const DhPrivateKey* ephemeral = nullptr,
                            const DhPrivateKey* sender = nullptr);
// Decap / AuthDecap. `sender_public_key` non-empty selects AuthDecap.
Result<SecretBytes> Decap(ByteView enc, const DhPrivateKey& recipient,
                          ByteView sender_public_key = {});

}  // namespace openpcc::crypto
