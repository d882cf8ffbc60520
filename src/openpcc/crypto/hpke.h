// crypto/hpke.h — Hybrid Public Key Encryption (RFC 9180), all four modes.
//
// Suites are typed constants: KEM DHKEM(X25519) or DHKEM(P-256) (both HKDF-SHA256), KDF
// HKDF-SHA256/384/512, AEAD AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 or export-only.
// The mode follows from the options: a PSK selects psk, a sender key (sender side) or a sender
// public key (recipient side) selects auth, both select auth_psk.
//
// An `HpkeContext` is move-only, owns its AEAD key, base nonce and exporter secret (all wiped on
// destruction), and keeps its sequence number to itself: a sender context can only Seal, a
// recipient context can only Open, both can Export. After 2^64 messages (stricter than the
// 2^96 - 1 of RFC 9180 §5.2) the context refuses to seal or open further. An export-only context
// refuses Seal and Open.
//
// The recipient's private key is a `DhPrivateKey`, so its DH step can run in a TPM.
//
// Thread safety: a context is single-threaded; setup functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "openpcc/crypto/aead.h"
#include "openpcc/crypto/kdf.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

enum class HpkeMode : uint8_t { kBase = 0x00, kPsk = 0x01, kAuth = 0x02, kAuthPsk = 0x03 };

struct HpkeSuite {
  KemId kem;
  KdfId kdf;
  AeadId aead;
  friend bool operator==(const HpkeSuite&, const HpkeSuite&) = default;
};

// Validates numeric identifiers from the wire and returns the suite, or kUnsupported naming the
// identifier that is not supported.
Result<HpkeSuite> HpkeSuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id);

struct HpkePsk {
  ByteView psk;     // at least 32 bytes (RFC 9180 §9.5)
  ByteView psk_id;  // non-empty
};

struct HpkeSenderOptions {
  std::optional<HpkePsk> psk;
  const DhPrivateKey* sender_key = nullptr;  // auth modes
  // Deterministic ephemeral key, for RFC test vectors only; production leaves it null.
  const DhPrivateKey* ephemeral_key_for_testing = nullptr;
};

struct HpkeRecipientOptions {
  std::optional<HpkePsk> psk;
  ByteView sender_public_key;  // auth modes
};

class HpkeContext {
 public:
  enum class Role : uint8_t { kSender, kRecipient };

  HpkeContext(HpkeContext&&) noexcept = default;
  HpkeContext& operator=(HpkeContext&&) noexcept = default;

  const HpkeSuite& suite() const { return suite_; }
  Role role() const { return role_; }

  // Sender only. Appends the ciphertext to `out` (avoids a copy when building messages).
  Status SealAppend(ByteView aad, ByteView plaintext, Bytes& out);
  Result<Bytes> Seal(ByteView aad, ByteView plaintext);
  // Recipient only.
  Result<SecretBytes> Open(ByteView aad, ByteView ciphertext);
  // Recipient only. Appends the plaintext to `out`, leaving it unchanged on failure.
  Status OpenAppend(ByteView aad, ByteView ciphertext, SecretBytes& out);
  // Secret export (RFC 9180 §5.3); length at most 255 * Nh.
  Result<SecretBytes> Export(ByteView exporter_context, size_t length) const;

 private:
  friend Result<HpkeContext> KeySchedule(Role, HpkeMode, const HpkeSuite&, ByteView, ByteView,
                                         const std::optional<HpkePsk>&);
  HpkeContext(Role role, const HpkeSuite& suite, std::optional<AeadKey> key, SecretBytes base_nonce,
              SecretBytes exporter_secret)
      : role_(role), suite_(suite), key_(std::move(key)), base_nonce_(std::move(base_nonce)),
        exporter_secret_(std::move(exporter_secret)) {}
  Result<AeadNonce> NextNonce() const;

  Role role_;
  HpkeSuite suite_;
  std::optional<AeadKey> key_;  // absent for export-only
  SecretBytes base_nonce_;
  SecretBytes exporter_secret_;
  uint64_t sequence_ = 0;  // 2^64 messages is unreachable; the 2^96 limit is enforced as 2^64
  bool exhausted_ = false;
};

struct HpkeSender {
  Bytes enc;
  HpkeContext context;
};

Result<HpkeSender> SetupSender(const HpkeSuite& suite, ByteView recipient_public_key, ByteView info,
                               const HpkeSenderOptions& options = {});
Result<HpkeContext> SetupRecipient(const HpkeSuite& suite, ByteView enc,
                                   const DhPrivateKey& recipient_key, ByteView info,
                                   const HpkeRecipientOptions& options = {});

// The internal key schedule (RFC 9180 §5.1), exposed for the RFC vectors' intermediate values.
Result<HpkeContext> KeySchedule(HpkeContext::Role role, HpkeMode mode, const HpkeSuite& suite,
                                ByteView shared_secret, ByteView info,
                                const std::optional<HpkePsk>& psk);

}  // namespace openpcc::crypto
