// services/key_files.h — the on-disk form of operator keys (docs/keys.md), shared by `openpcc keys`
// and every service that loads a key: PEM PKCS#8 private keys (files created 0600) and PEM SPKI
// public keys beside them, for Ed25519 (RFC 8410), X25519 (RFC 8410) and RSA (blind RSA token keys).
//
// Parsing is strict: one PEM block with the expected label, canonical base64, and for Ed25519 and
// X25519 exactly the RFC 8410 encoding (fixed prefix, 32-byte key, nothing else — no optional
// attributes or public-key field), so a key file has one meaning. Errors name the file and what was
// expected; they never contain key bytes.
//
// Thread safety: pure functions and independent file operations.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::services {

using crypto::SecretBytes;

inline constexpr std::string_view kPemPrivateKey = "PRIVATE KEY";
inline constexpr std::string_view kPemPublicKey = "PUBLIC KEY";

enum class RawKeyType { kEd25519, kX25519 };

// "-----BEGIN <label>-----\n" base64 in 64-character lines "-----END <label>-----\n".
std::string PemEncode(std::string_view label, ByteView der);
// The DER of the single PEM block of `label` in `text` (surrounding whitespace allowed).
Result<Bytes> PemDecode(std::string_view label, std::string_view text);

// RFC 8410 PKCS#8 (private, from the 32-byte seed / scalar) and SPKI (public) encodings.
SecretBytes RawPrivateKeyPkcs8(RawKeyType type, ByteView private_key);
Bytes RawPublicKeySpki(RawKeyType type, ByteView public_key);
Result<SecretBytes> ParseRawPrivateKeyPkcs8(RawKeyType type, ByteView der);
Result<Bytes> ParseRawPublicKeySpki(RawKeyType type, ByteView der);

// Writes `contents` atomically (temporary file, fsync, rename, fsync of the directory) with file
// mode `mode` (0600 for private keys, 0644 for public files).
Status WriteKeyFile(const std::filesystem::path& path, ByteView contents, unsigned mode);
// Reads a key file of at most 64 KiB. Private keys (`private_key`) must not be readable by group or
// others: a key another user could have read is refused.
Result<SecretBytes> ReadKeyFile(const std::filesystem::path& path, bool private_key);

// Convenience for the Ed25519 keys (directory, release, log, witness).
Result<crypto::Ed25519PrivateKey> ReadEd25519PrivateKey(const std::filesystem::path& path);
// Accepts a public key file (SPKI PEM).
Result<crypto::Ed25519PublicKey> ReadEd25519PublicKey(const std::filesystem::path& path);

// The note key name of a log or witness key: the first token of "<stem>.vkey" beside `key_path`
// ("name+keyid+key"), so a service started with only --key uses the name `openpcc keys` chose.
Result<std::string> NoteNameBeside(const std::filesystem::path& key_path);

}  // namespace openpcc::services
