// tlog/note.h — C2SP signed notes (c2sp.org/signed-note): parsing, formatting, verifier keys
// ("vkeys"), key IDs and Ed25519 note signatures.
//
// A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
// "— <name> base64(key_id[4] || signature)". Parsing is strict and bounded (NoteLimits): valid
// UTF-8, no control characters but newline, names without spaces or '+', canonical base64, at most
// `max_signatures` lines. Parsing checks form only; verification is a separate step.
//
// Verification follows the spec: a signature line whose (name, key ID) matches no known key is
// ignored; one that matches must verify, or the whole note is refused; at least one known key must
// have signed. Other signature types (witness cosignatures, type 0x04) are recognised by the caller
// by (name, key ID) and checked by tlog/cosignature.h.
//
// Thread safety: plain values and pure functions; signers and verifiers are immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tlog {

inline constexpr uint8_t kSignatureTypeEd25519 = 0x01;
inline constexpr uint8_t kSignatureTypeCosignatureV1 = 0x04;

struct NoteLimits {
  size_t max_note_bytes = 16 * 1024;  // a checkpoint with 32 Ed25519 signatures is under 4 KiB
  size_t max_signatures = 32;         // the spec asks verifiers to accept at least 16
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // without the 4-byte key ID
  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};

struct Note {
  std::string text;  // including its final newline, not the blank line
  std::vector<NoteSignature> signatures;
};

Result<Note> ParseNote(std::string_view note, const NoteLimits& limits = {});
// text || "\n" || one line per signature.
std::string FormatNote(const Note& note);
std::string FormatSignatureLine(const NoteSignature& signature);
// Parses the signature lines alone (what a witness returns): one or more "— name sig\n" lines.
Result<std::vector<NoteSignature>> ParseSignatureLines(std::string_view lines, const NoteLimits& limits = {});

// SHA-256(name || "\n" || type || public_key)[:4], big-endian.
uint32_t KeyId(std::string_view name, uint8_t type, ByteView public_key);
// Names must be non-empty, without Unicode spaces and '+', and valid UTF-8 without controls.
Status CheckKeyName(std::string_view name);

// A vkey taken apart: "<name>+<hex key id>+base64(type || key)". The key ID is checked against
// KeyId(name, type, key) so that a mistyped vkey cannot silently match nothing.
struct Vkey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;
  Bytes key;
};
Result<Vkey> ParseVkey(std::string_view vkey);
std::string FormatVkey(std::string_view name, uint8_t type, ByteView key);

// An Ed25519 (type 0x01) note verifier.
class NoteVerifier {
 public:
  static Result<NoteVerifier> FromVkey(std::string_view vkey);
  static Result<NoteVerifier> FromPublicKey(std::string_view name, const crypto::Ed25519PublicKey& key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  const crypto::Ed25519PublicKey& key() const { return key_; }
  std::string vkey() const;
  bool Matches(const NoteSignature& s) const { return s.name == name_ && s.key_id == key_id_; }
  Status Verify(std::string_view text, const NoteSignature& signature) const;

 private:
  NoteVerifier(std::string name, crypto::Ed25519PublicKey key);
  std::string name_;
  crypto::Ed25519PublicKey key_;
  uint32_t key_id_;
};

class NoteSigner {
 public:
  // The name must be a valid key name.
  static Result<NoteSigner> Create(std::string_view name, crypto::Ed25519PrivateKey key);
  const std::string& name() const { return name_; }
  NoteVerifier verifier() const;
  Result<NoteSignature> Sign(std::string_view text) const;

 private:
  NoteSigner(std::string name, crypto::Ed25519PrivateKey key) : name_(std::move(name)), key_(std::move(key)) {}
  std::string name_;
  crypto::Ed25519PrivateKey key_;
};

// Verifies `note` under `verifiers` as the spec requires (above). Returns, for each verifier, whether
// its signature was present and valid.
Result<std::vector<bool>> VerifyNote(const Note& note, std::span<const NoteVerifier> verifiers);

// A signed note with one signature (the text must end in a newline).
Result<std::string> SignNote(std::string_view text, const NoteSigner& signer);

}  // namespace openpcc::tlog
