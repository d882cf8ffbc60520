#include "openpcc/tlog/entry.h"

#include <algorithm>

#include "openpcc/crypto/hash.h"
#include "openpcc/tlog/release.h"
#include "openpcc/tlog/tiles.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"
#include "openpcc/wire/jcs.h"

namespace openpcc::tlog {
namespace {

Error EntryError(ErrorCode code, const std::string& what) { return Error(code, "entry: " + what); }

bool KnownKind(uint8_t kind) { return kind >= 1 && kind <= 4; }

}  // namespace

std::string_view EntryKindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kReleaseManifest: return "release-manifest";
    case EntryKind::kNodeDirectory: return "node-directory";
    case EntryKind::kRevocation: return "revocation";
    case EntryKind::kMinimumTcb: return "minimum-tcb";
  }
  return "unknown";
}

Result<Entry> ParseEntry(ByteView bytes) {
  if (bytes.size() > kMaxEntrySize) {
    return EntryError(ErrorCode::kOutOfRange, "is " + std::to_string(bytes.size()) + " bytes, limit 65535");
  }
  wire::ByteReader reader(bytes);
  ByteView magic;
  if (!reader.ReadBytes(kEntryMagic.size(), &magic) || AsChars(magic) != kEntryMagic) {
    return EntryError(ErrorCode::kMalformed, "does not start with \"openpcc-entry/v1\"");
  }
  Entry e;
  uint8_t kind = 0;
  if (!reader.ReadU8(&kind)) return EntryError(ErrorCode::kTruncated, "kind");
  if (!KnownKind(kind)) return EntryError(ErrorCode::kUnsupported, "kind " + std::to_string(kind) + " is unknown");
  e.kind = static_cast<EntryKind>(kind);
  if (!reader.CopyBytes(e.key_id)) return EntryError(ErrorCode::kTruncated, "key id");
  wire::ByteReader body;
  if (!reader.ReadU16Prefixed(&body)) return EntryError(ErrorCode::kTruncated, "body");
  if (body.empty()) return EntryError(ErrorCode::kMalformed, "body is empty");
  e.body = std::string(AsChars(body.rest()));
  ByteView signature;
  if (!reader.ReadBytes(crypto::kEd25519SignatureLength, &signature)) return EntryError(ErrorCode::kTruncated, "signature");
  e.signature = ToBytes(signature);
  if (!reader.empty()) return EntryError(ErrorCode::kMalformed, std::to_string(reader.remaining()) + " trailing bytes");
  return e;
}

Result<Bytes> EncodeEntry(const Entry& e) {
  if (e.signature.size() != crypto::kEd25519SignatureLength) {
    return EntryError(ErrorCode::kInvalidArgument, "signature is not 64 bytes");
  }
  wire::ByteWriter w;
  w.WriteBytes(AsBytes(kEntryMagic));
  w.WriteU8(static_cast<uint8_t>(e.kind));
  w.WriteBytes(e.key_id);
  if (e.body.empty() || !w.WriteU16Prefixed(AsBytes(e.body))) {
    return EntryError(ErrorCode::kOutOfRange, "body of " + std::to_string(e.body.size()) + " bytes is empty or too long");
  }
  w.WriteBytes(e.signature);
  if (w.size() > kMaxEntrySize) return EntryError(ErrorCode::kOutOfRange, "encodes to more than 65535 bytes");
  return w.Take();
}

Bytes EntrySignedMessage(EntryKind kind, std::string_view body) {
  wire::ByteWriter w;
  w.WriteBytes(AsBytes(kEntrySignatureLabel));
  w.WriteU8(0x00);
  w.WriteU8(static_cast<uint8_t>(kind));
  w.WriteU16(static_cast<uint16_t>(std::min<size_t>(body.size(), 0xffff)));  // callers bound the body first
  w.WriteBytes(AsBytes(body));
  return w.Take();
}

Hash EntryKeyId(const crypto::Ed25519PublicKey& key) {
  Hash id;
  const Bytes digest = crypto::Sha256(key.bytes());
  std::copy(digest.begin(), digest.end(), id.begin());
  return id;
}

Status CheckEntryBody(EntryKind kind, const boost::json::value& body) {
  switch (kind) {
    case EntryKind::kReleaseManifest:
      if (auto r = ParseReleaseManifest(body); !r.ok()) return std::move(r).error();
      return OkStatus();
    case EntryKind::kRevocation:
      if (auto r = ParseRevocation(body); !r.ok()) return std::move(r).error();
      return OkStatus();
    case EntryKind::kMinimumTcb:
      if (auto r = ParseMinimumTcb(body); !r.ok()) return std::move(r).error();
      return OkStatus();
    case EntryKind::kNodeDirectory: {
      const auto* object = body.if_object();
      const auto* epoch = object != nullptr ? object->if_contains("epoch") : nullptr;
      if (epoch == nullptr || !(epoch->is_uint64() || (epoch->is_int64() && epoch->get_int64() >= 0))) {
        return EntryError(ErrorCode::kMalformed, "node directory has no non-negative integer \"epoch\"");
      }
      return OkStatus();
    }
  }
  return EntryError(ErrorCode::kUnsupported, "unknown kind");
}

Result<Bytes> SignEntry(EntryKind kind, const boost::json::value& body, const crypto::Ed25519PrivateKey& key) {
  OPENPCC_RETURN_IF_ERROR(CheckEntryBody(kind, body));
  OPENPCC_ASSIGN_OR_RETURN(auto text, wire::Canonicalize(body));
  if (text.size() > kMaxEntrySize) return EntryError(ErrorCode::kOutOfRange, "body is longer than 65535 bytes");
  Entry e;
  e.kind = kind;
  e.key_id = EntryKeyId(key.public_key());
  e.body = std::move(text);
  OPENPCC_ASSIGN_OR_RETURN(e.signature, key.Sign(EntrySignedMessage(kind, e.body)));
  return EncodeEntry(e);
}

void EntryKeyring::Add(EntryKind kind, const crypto::Ed25519PublicKey& key) {
  keys_.push_back(Accepted{kind, EntryKeyId(key), key});
}

void EntryKeyring::AddReleaseKey(const crypto::Ed25519PublicKey& key) {
  Add(EntryKind::kReleaseManifest, key);
  Add(EntryKind::kRevocation, key);
  Add(EntryKind::kMinimumTcb, key);
}

void EntryKeyring::AddDirectoryKey(const crypto::Ed25519PublicKey& key) { Add(EntryKind::kNodeDirectory, key); }

Result<VerifiedEntry> EntryKeyring::Verify(ByteView bytes) const {
  OPENPCC_ASSIGN_OR_RETURN(auto e, ParseEntry(bytes));
  const std::string kind_name(EntryKindName(e.kind));
  const Accepted* accepted = nullptr;
  for (const auto& k : keys_) {
    if (k.kind == e.kind && k.key_id == e.key_id) accepted = &k;
  }
  if (accepted == nullptr) {
    return EntryError(ErrorCode::kUnknownKey, kind_name + " is signed by key " + HexEncode(ByteView(e.key_id).first(8)) +
                                                  "..., which is not accepted for this kind");
  }
  if (!accepted->key.Verify(EntrySignedMessage(e.kind, e.body), e.signature).ok()) {
    return EntryError(ErrorCode::kAuthenticationFailed, kind_name + " signature does not verify");
  }
  wire::JsonLimits limits;
  limits.max_bytes = kMaxEntrySize;
  auto body = wire::ParseCanonicalJson(e.body, limits);
  if (!body.ok()) return EntryError(body.error().code(), kind_name + " body: " + body.error().message());
  if (auto schema = CheckEntryBody(e.kind, *body); !schema.ok()) {
    return EntryError(schema.error().code(), kind_name + " body: " + schema.error().message());
  }
  return VerifiedEntry{e.kind, e.key_id, std::move(e.body), std::move(body).value()};
}

}  // namespace openpcc::tlog
