#include "openpcc/tlog/note.h"

#include <openssl/sha.h>

#include "openpcc/util/base64.h"
#include "openpcc/util/utf8.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tlog {
namespace {

constexpr std::string_view kEmDashSpace = "\xe2\x80\x94 ";  // U+2014 then a space

Error NoteError(ErrorCode code, const std::string& what) { return Error(code, "note: " + what); }


bool IsUnicodeSpace(uint32_t cp) {
  return cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000 ||
         (cp >= 0x09 && cp <= 0x0d);
}

// Valid UTF-8 and no control characters other than newline.
Status CheckText(std::string_view s, std::string_view what) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t at = i;
    uint32_t cp = 0;
    if (!NextCodePoint(s, i, &cp)) {
      return NoteError(ErrorCode::kMalformed, std::string(what) + " is not valid UTF-8 at byte " + std::to_string(at));
    }
    if ((cp < 0x20 && cp != '\n') || cp == 0x7f) {
      return NoteError(ErrorCode::kMalformed, std::string(what) + " has a control character at byte " + std::to_string(at));
    }
  }
  return OkStatus();
}

Result<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
    return NoteError(ErrorCode::kMalformed, "signature line does not start with an em dash and a space");
  }
  line.remove_prefix(kEmDashSpace.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return NoteError(ErrorCode::kMalformed, "signature line has no space between key name and signature");
  }
  const std::string_view name = line.substr(0, space);
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(name));
  auto decoded = Base64Decode(line.substr(space + 1));
  if (!decoded.ok()) {
    return NoteError(ErrorCode::kMalformed, "signature of key " + std::string(name) + ": " + decoded.error().message());
  }
  wire::ByteReader reader(*decoded);
  NoteSignature sig;
  sig.name = std::string(name);
  if (!reader.ReadU32(&sig.key_id) || reader.empty()) {
    return NoteError(ErrorCode::kMalformed, "signature of key " + sig.name + " is shorter than 5 bytes");
  }
  sig.signature = ToBytes(reader.rest());
  return sig;
}

}  // namespace

Status CheckKeyName(std::string_view name) {
  if (name.empty()) return NoteError(ErrorCode::kMalformed, "key name is empty");
  size_t i = 0;
  while (i < name.size()) {
    uint32_t cp = 0;
    if (!NextCodePoint(name, i, &cp)) return NoteError(ErrorCode::kMalformed, "key name is not valid UTF-8");
    if (cp == '+') return NoteError(ErrorCode::kMalformed, "key name contains '+'");
    if (IsUnicodeSpace(cp)) return NoteError(ErrorCode::kMalformed, "key name contains a space");
    if (cp < 0x20 || cp == 0x7f) return NoteError(ErrorCode::kMalformed, "key name contains a control character");
  }
  return OkStatus();
}

Result<std::vector<NoteSignature>> ParseSignatureLines(std::string_view lines, const NoteLimits& limits) {
  if (lines.empty()) return NoteError(ErrorCode::kMalformed, "no signature lines");
  if (lines.back() != '\n') return NoteError(ErrorCode::kMalformed, "signature lines do not end with a newline");
  std::vector<NoteSignature> out;
  size_t start = 0;
  while (start < lines.size()) {
    const size_t end = lines.find('\n', start);
    if (out.size() == limits.max_signatures) {
      return NoteError(ErrorCode::kOutOfRange, "more than " + std::to_string(limits.max_signatures) + " signatures");
    }
    OPENPCC_ASSIGN_OR_RETURN(auto sig, ParseSignatureLine(lines.substr(start, end - start)));
    out.push_back(std::move(sig));
    start = end + 1;
  }
  return out;
}

Result<Note> ParseNote(std::string_view note, const NoteLimits& limits) {
  if (note.size() > limits.max_note_bytes) {
    return NoteError(ErrorCode::kOutOfRange, "note is " + std::to_string(note.size()) + " bytes, limit " +
                                                 std::to_string(limits.max_note_bytes));
  }
  OPENPCC_RETURN_IF_ERROR(CheckText(note, "note"));
  if (note.empty() || note.back() != '\n') {
    return NoteError(ErrorCode::kMalformed, "note does not end with a newline");
  }
  // The text is separated from the signatures by the last blank line.
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return NoteError(ErrorCode::kMalformed, "note has no blank line before its signatures");
  }
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  OPENPCC_ASSIGN_OR_RETURN(out.signatures, ParseSignatureLines(note.substr(split + 2), limits));
  return out;
}

std::string FormatSignatureLine(const NoteSignature& s) {
  wire::ByteWriter w(4 + s.signature.size());
  w.WriteU32(s.key_id);
  w.WriteBytes(s.signature);
  return std::string(kEmDashSpace) + s.name + " " + Base64Encode(w.view()) + "\n";
}

std::string FormatNote(const Note& note) {
  std::string out = note.text + "\n";
  for (const auto& s : note.signatures) out += FormatSignatureLine(s);
  return out;
}

uint32_t KeyId(std::string_view name, uint8_t type, ByteView public_key) {
  Bytes input = ToBytes(name);
  input.push_back('\n');
  input.push_back(type);
  Append(input, public_key);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(input.data(), input.size(), digest);
  return (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) | digest[3];
}

Result<Vkey> ParseVkey(std::string_view vkey) {
  // Split on the first two '+' only: base64 has '+' too.
  const size_t p1 = vkey.find('+');
  const size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return NoteError(ErrorCode::kMalformed, "vkey is not <name>+<key id>+<key>");
  }
  Vkey out;
  out.name = std::string(vkey.substr(0, p1));
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(out.name));
  const std::string_view id_hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  auto id = HexDecode(id_hex);
  if (!id.ok() || id->size() != 4 || HexEncode(*id) != id_hex) {
    return NoteError(ErrorCode::kMalformed, "vkey key id is not 8 lowercase hex digits");
  }
  out.key_id = (uint32_t{(*id)[0]} << 24) | (uint32_t{(*id)[1]} << 16) | (uint32_t{(*id)[2]} << 8) | (*id)[3];
  auto key = Base64Decode(vkey.substr(p2 + 1));
  if (!key.ok()) return NoteError(ErrorCode::kMalformed, "vkey key: " + key.error().message());
  if (key->empty()) return NoteError(ErrorCode::kMalformed, "vkey key is empty");
  out.type = (*key)[0];
  out.key.assign(key->begin() + 1, key->end());
  if (KeyId(out.name, out.type, out.key) != out.key_id) {
    return NoteError(ErrorCode::kMalformed, "vkey key id does not match SHA-256(name, type, key)");
  }
  return out;
}

std::string FormatVkey(std::string_view name, uint8_t type, ByteView key) {
  const uint32_t id = KeyId(name, type, key);
  const uint8_t id_bytes[4] = {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                               static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  Bytes material{type};
  Append(material, key);
  return std::string(name) + "+" + HexEncode(id_bytes) + "+" + Base64Encode(material);
}

NoteVerifier::NoteVerifier(std::string name, crypto::Ed25519PublicKey key)
    : name_(std::move(name)), key_(std::move(key)), key_id_(KeyId(name_, kSignatureTypeEd25519, key_.bytes())) {}

Result<NoteVerifier> NoteVerifier::FromVkey(std::string_view vkey) {
  OPENPCC_ASSIGN_OR_RETURN(auto parsed, ParseVkey(vkey));
  if (parsed.type != kSignatureTypeEd25519) {
    return NoteError(ErrorCode::kUnsupported, "vkey of " + parsed.name + " has signature type " +
                                                  std::to_string(parsed.type) + ", expected 1 (Ed25519)");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto key, crypto::Ed25519PublicKey::FromBytes(parsed.key));
  return NoteVerifier(std::move(parsed.name), std::move(key));
}

Result<NoteVerifier> NoteVerifier::FromPublicKey(std::string_view name, const crypto::Ed25519PublicKey& key) {
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(name));
  return NoteVerifier(std::string(name), key);
}

std::string NoteVerifier::vkey() const { return FormatVkey(name_, kSignatureTypeEd25519, key_.bytes()); }

Status NoteVerifier::Verify(std::string_view text, const NoteSignature& signature) const {
  if (!Matches(signature)) return NoteError(ErrorCode::kUnknownKey, "signature is not by key " + name_);
  auto status = key_.Verify(AsBytes(text), signature.signature);
  if (!status.ok()) {
    return NoteError(ErrorCode::kAuthenticationFailed, "signature by " + name_ + " does not verify");
  }
  return OkStatus();
}

Result<NoteSigner> NoteSigner::Create(std::string_view name, crypto::Ed25519PrivateKey key) {
  OPENPCC_RETURN_IF_ERROR(CheckKeyName(name));
  return NoteSigner(std::string(name), std::move(key));
}

NoteVerifier NoteSigner::verifier() const {
  auto v = NoteVerifier::FromPublicKey(name_, key_.public_key());
  return std::move(v).value();  // the name was checked in Create
}

Result<NoteSignature> NoteSigner::Sign(std::string_view text) const {
  OPENPCC_ASSIGN_OR_RETURN(auto sig, key_.Sign(AsBytes(text)));
  return NoteSignature{name_, KeyId(name_, kSignatureTypeEd25519, key_.public_key().bytes()), std::move(sig)};
}

Result<std::vector<bool>> VerifyNote(const Note& note, std::span<const NoteVerifier> verifiers) {
  std::vector<bool> verified(verifiers.size(), false);
  bool any = false;
  for (const auto& sig : note.signatures) {
    for (size_t i = 0; i < verifiers.size(); ++i) {
      if (!verifiers[i].Matches(sig)) continue;
      OPENPCC_RETURN_IF_ERROR(verifiers[i].Verify(note.text, sig));
      verified[i] = true;
      any = true;
    }
  }
  if (!any) return NoteError(ErrorCode::kUnknownKey, "no signature by a known key");
  return verified;
}

Result<std::string> SignNote(std::string_view text, const NoteSigner& signer) {
  if (text.empty() || text.back() != '\n') {
    return NoteError(ErrorCode::kInvalidArgument, "text does not end with a newline");
  }
  OPENPCC_RETURN_IF_ERROR(CheckText(text, "text"));
  OPENPCC_ASSIGN_OR_RETURN(auto sig, signer.Sign(text));
  Note note{std::string(text), {std::move(sig)}};
  return FormatNote(note);
}

}  // namespace openpcc::tlog
