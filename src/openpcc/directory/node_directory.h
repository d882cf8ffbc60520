// directory/node_directory.h — the epoch's node directory (DESIGN §2.5), its canonical JSON, and
// its signature as a transparency-log entry.
//
// The gateway publishes one directory per epoch: for each model every node that serves it
// (node_id, key_config, platform), the valid OHTTP key configs, the valid token keys and the fixed
// TokenChallenge, K, the epoch number and its time bounds. Clients sample their candidates from it,
// so everything a client relies on for non-targetability is in these bytes:
//
//   { "epoch": n, "not_before": unix s, "not_after": unix s, "k": n, "service": "name",
//     "token_challenge": b64url,
//     "token_keys": [ { "token_type": 2, "token_key": b64url SPKI, "not_before": unix s,
//                       "redeem_until": unix s } ],
//     "ohttp_configs": [ b64url RFC 9458 KeyConfig ],
//     "models": { "NAME": [ { "node_id": b64url, "key_config": b64url, "platform": "sim" } ] } }
//
// Binary fields are unpadded base64url, as in the evidence bundle. The canonical form is RFC 8785
// (wire/jcs.h).
//
// Signature: the directory is signed as the transparency log's EntryKind::kNodeDirectory entry
// (tlog/entry.h): Ed25519 by the directory key over "openpcc tlog entry v1" || 0x00 || kind ||
// u16 length || canonical body. We reuse that envelope instead of a second, bare signature: the
// logged entry bytes are then exactly what the client verifies, and the label keeps the directory
// key's signatures from being valid anywhere else. So SignDirectory returns entry bytes and
// VerifyDirectoryEntry takes them.
//
// Parsing is strict (the bytes come from the network): canonical text only, at most the log's
// entry limit, known fields only, every list bounded, each node_id equal to SHA-256 of its
// key_config, no node twice under one model, and every error names the field ("node directory:
// models.m[0].node_id: ..."). Platform names are checked for form only; attest::ParsePlatform
// maps them (this module sits below attest).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::directory {

inline constexpr size_t kMaxDirectoryBytes = 65535;   // a log entry's body limit
inline constexpr size_t kMaxDirectoryModels = 64;
inline constexpr size_t kMaxNodesPerModel = 256;
inline constexpr size_t kMaxDirectoryTokenKeys = 2;   // DESIGN §2.3: at most two valid at a time
inline constexpr size_t kMaxDirectoryOhttpConfigs = 2;  // DESIGN §2.1
inline constexpr uint64_t kMaxK = 64;

struct DirectoryTokenKey {
  uint16_t token_type = 2;
  Bytes token_key;          // RFC 9578 SPKI for type 0x0002
  int64_t not_before = 0;   // unix seconds
  int64_t redeem_until = 0;  // end of the key's redemption window
  friend bool operator==(const DirectoryTokenKey&, const DirectoryTokenKey&) = default;
};

struct DirectoryNode {
  Bytes node_id;     // SHA-256 of key_config
  Bytes key_config;  // one RFC 9458 KeyConfig encoding
  std::string platform;  // "sev-snp", "tdx", "tpm", "sim"
  friend bool operator==(const DirectoryNode&, const DirectoryNode&) = default;
};

struct NodeDirectory {
  uint64_t epoch = 0;
  int64_t not_before = 0;  // unix seconds, inclusive
  int64_t not_after = 0;   // unix seconds, exclusive
  uint64_t k = 3;
  std::string service;     // the TokenChallenge's origin_info: one logical service name
  Bytes token_challenge;
  std::vector<DirectoryTokenKey> token_keys;
  std::vector<Bytes> ohttp_configs;  // KeyConfig encodings
  std::map<std::string, std::vector<DirectoryNode>> models;

  boost::json::value ToJson() const;
  // RFC 8785 bytes: the logged body. Fails if the directory would not parse back (limits).
  Result<std::string> EncodeCanonical() const;

  // The nodes of `model` (empty if the model is not listed).
  const std::vector<DirectoryNode>& NodesOf(std::string_view model) const;
  // Whether `node_id` is listed under any model.
  bool Lists(ByteView node_id) const;

  friend bool operator==(const NodeDirectory&, const NodeDirectory&) = default;
};

// Parses canonical directory text (the body of the log entry).
Result<NodeDirectory> ParseNodeDirectory(std::string_view canonical_text);
// The schema check on an already parsed JSON value (no canonical-form check).
Result<NodeDirectory> NodeDirectoryFromJson(const boost::json::value& value);

// The signed log entry (tlog/entry.h, kind kNodeDirectory) for `directory`.
Result<Bytes> SignDirectory(const NodeDirectory& directory, const crypto::Ed25519PrivateKey& directory_key);

// Verifies a log entry: kind node-directory, signed by `directory_key` (kUnknownKey for another
// key, kAuthenticationFailed for a bad signature), canonical body, and the schema above.
Result<NodeDirectory> VerifyDirectoryEntry(ByteView entry, const crypto::Ed25519PublicKey& directory_key);

}  // namespace openpcc::directory
