// crypto/aead.h — the AEADs of HPKE (RFC 9180 §7.3): AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
//
// An `AeadKey` schedules its key into an OpenSSL cipher context on first use in each direction and
// keeps it, so that sealing many small chunks under one key costs only the per-message work, and a
// key used in one direction only (every HPKE context) pays for one key schedule. Nonces are supplied by the caller
// (HPKE contexts and chunk streams derive them from a counter; they never reuse one).
// Export-only (0xFFFF) is an identifier here but has no key: `AeadKey::Create` refuses it.
//
// Thread safety: an AeadKey is single-threaded (its cipher contexts are reused per call).
#pragma once

#include <array>
#include <cstdint>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

enum class AeadId : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
  kExportOnly = 0xFFFF,
};

inline constexpr size_t kAeadTagLength = 16;    // Nt for all three AEADs.
inline constexpr size_t kAeadNonceLength = 12;  // Nn for all three AEADs.
using AeadNonce = std::array<uint8_t, kAeadNonceLength>;

// base_nonce XOR I2OSP(counter, Nn): the per-message nonce of an HPKE context (RFC 9180 §5.2) and
// of a chunk stream. Fails unless base_nonce is Nn bytes.
Result<AeadNonce> CounterNonce(ByteView base_nonce, uint64_t counter);

bool IsKnownAead(uint16_t id);
// Nk, Nn, Nt (RFC 9180 Table 5). Export-only has 0 for all three.
size_t AeadKeyLength(AeadId id);
size_t AeadNonceLength(AeadId id);
size_t AeadTagLength(AeadId id);

class AeadKey {
 public:
  // Fails on export-only, an unknown id or a key that is not Nk bytes.
  static Result<AeadKey> Create(AeadId id, ByteView key);

  AeadKey(AeadKey&&) noexcept = default;
  AeadKey& operator=(AeadKey&&) noexcept = default;

  AeadId id() const { return id_; }

  // Appends ciphertext || tag to `out`. `nonce` must be Nn bytes.
  Status SealAppend(ByteView nonce, ByteView aad, ByteView plaintext, Bytes& out);
  Result<Bytes> Seal(ByteView nonce, ByteView aad, ByteView plaintext);
  // Fails with kAuthenticationFailed when the tag does not verify; no plaintext is released then.
  Result<SecretBytes> Open(ByteView nonce, ByteView aad, ByteView ciphertext);
  // Appends the plaintext to `out`; on any failure `out` is left as it was (what was decrypted
  // before the tag failed is wiped).
  Status OpenAppend(ByteView nonce, ByteView aad, ByteView ciphertext, SecretBytes& out);

 private:
  AeadKey(AeadId id, SecretBytes key) : id_(id), key_(std::move(key)) {}
  Result<EVP_CIPHER_CTX*> Context(bool encrypt);

  AeadId id_;
  SecretBytes key_;
  EvpCipherCtxPtr seal_;
  EvpCipherCtxPtr open_;
};

}  // namespace openpcc::crypto
