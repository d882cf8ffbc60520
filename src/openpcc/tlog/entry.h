// tlog/entry.h — the log's entries: a typed, signed envelope around a canonical JSON body.
//
// Every entry of the OpenPCC log is one of: a release manifest or a revocation of a release or a
// minimum-TCB notice (signed by a release key), or a node directory (signed by the directory key)
// (DESIGN §2.6). The envelope, all integers big-endian:
//
//   "openpcc-entry/v1"   16 bytes, magic and version
//   kind                 u8: 1 release manifest, 2 node directory, 3 revocation, 4 minimum TCB
//   key_id               32 bytes: SHA-256 of the signer's raw Ed25519 public key
//   body                 u16 length || RFC 8785 canonical JSON (an object)
//   signature            64 bytes: Ed25519 over EntrySignedMessage(kind, body)
//
//   EntrySignedMessage = "openpcc tlog entry v1" || 0x00 || kind || u16 length || body
//
// The label separates these signatures from anything else the same key signs (the directory key
// signs nothing else today, but a signature over bare JSON would be valid wherever that JSON is).
// The whole entry is at most 65535 bytes, the limit of a tlog-tiles entry bundle.
//
// Parsing checks only the envelope's form; EntryKeyring::Verify checks that the key is accepted for
// the kind, the signature, the body's canonical form and the body's schema for its kind. The log
// accepts only entries that verify; clients verify every entry they read.
//
// Thread safety: plain values; an EntryKeyring is immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/tlog/merkle.h"

namespace openpcc::tlog {

inline constexpr std::string_view kEntryMagic = "openpcc-entry/v1";
inline constexpr std::string_view kEntrySignatureLabel = "openpcc tlog entry v1";

enum class EntryKind : uint8_t {
  kReleaseManifest = 1,
  kNodeDirectory = 2,
  kRevocation = 3,
  kMinimumTcb = 4,
};
std::string_view EntryKindName(EntryKind kind);

struct Entry {
  EntryKind kind = EntryKind::kReleaseManifest;
  Hash key_id{};
  std::string body;  // canonical JSON text
  Bytes signature;
};

Result<Entry> ParseEntry(ByteView bytes);
Result<Bytes> EncodeEntry(const Entry& entry);
Bytes EntrySignedMessage(EntryKind kind, std::string_view body);
Hash EntryKeyId(const crypto::Ed25519PublicKey& key);

// Canonicalizes `body`, checks its schema for `kind`, signs, and encodes the entry.
Result<Bytes> SignEntry(EntryKind kind, const boost::json::value& body, const crypto::Ed25519PrivateKey& key);

// The body's schema for its kind (release manifest, revocation and minimum-TCB per
// tlog/release.h; a node directory must be an object with a non-negative integer "epoch" — its
// full schema belongs to the directory module).
Status CheckEntryBody(EntryKind kind, const boost::json::value& body);

struct VerifiedEntry {
  EntryKind kind;
  Hash key_id;
  std::string body_text;
  boost::json::value body;
};

// The keys a log or a client accepts, per kind.
class EntryKeyring {
 public:
  void Add(EntryKind kind, const crypto::Ed25519PublicKey& key);
  // Release key for manifests, revocations and minimum-TCB notices.
  void AddReleaseKey(const crypto::Ed25519PublicKey& key);
  void AddDirectoryKey(const crypto::Ed25519PublicKey& key);
  Result<VerifiedEntry> Verify(ByteView entry) const;

 private:
  struct Accepted {
    EntryKind kind;
    Hash key_id;
    crypto::Ed25519PublicKey key;
  };
  std::vector<Accepted> keys_;
};

}  // namespace openpcc::tlog
