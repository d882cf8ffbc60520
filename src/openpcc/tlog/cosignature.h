// tlog/cosignature.h — C2SP tlog-cosignature v1 with Ed25519: a witness's timestamped signature
// of a checkpoint, carried as one more signature line of the checkpoint note.
//
// Signed message = "cosignature/v1\n" || "time <decimal timestamp>\n" || the checkpoint note text.
// Signature line payload = key_id[4] || u64 timestamp (big-endian) || Ed25519 signature[64]; the key
// ID is SHA-256(name || "\n" || 0x04 || public key)[:4]. Timestamps are POSIX seconds <= 2^63-1.
//
// Thread safety: immutable objects and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/tlog/note.h"

namespace openpcc::tlog {

// The exact bytes a cosigner signs.
std::string CosignedMessage(std::string_view checkpoint_text, uint64_t timestamp);

class CosignatureVerifier {
 public:
  // A vkey of signature type 0x04.
  static Result<CosignatureVerifier> FromVkey(std::string_view vkey);
  static Result<CosignatureVerifier> FromPublicKey(std::string_view name, const crypto::Ed25519PublicKey& key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  std::string vkey() const;
  bool Matches(const NoteSignature& s) const { return s.name == name_ && s.key_id == key_id_; }
  // The cosignature's timestamp if it verifies over `checkpoint_text`.
  Result<uint64_t> Verify(std::string_view checkpoint_text, const NoteSignature& signature) const;

 private:
  CosignatureVerifier(std::string name, crypto::Ed25519PublicKey key);
  std::string name_;
  crypto::Ed25519PublicKey key_;
  uint32_t key_id_;
};

class Cosigner {
 public:
  static Result<Cosigner> Create(std::string_view name, crypto::Ed25519PrivateKey key);
  const std::string& name() const { return name_; }
  CosignatureVerifier verifier() const;
  Result<NoteSignature> Cosign(std::string_view checkpoint_text, uint64_t timestamp) const;

 private:
  Cosigner(std::string name, crypto::Ed25519PrivateKey key) : name_(std::move(name)), key_(std::move(key)) {}
  std::string name_;
  crypto::Ed25519PrivateKey key_;
};

}  // namespace openpcc::tlog
