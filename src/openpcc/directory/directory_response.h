// directory/directory_response.h — the body of the gateway's inner `GET /v1/directory` (DESIGN
// §2.5): the logged directory entry, where it sits in the log, and beside it (not logged) the
// listed nodes' current evidence bundles.
//
//   { "entry": b64url log entry bytes (tlog/entry.h, kind node-directory),
//     "log_index": n,
//     "inclusion_proof": [ b64url 32-byte hash, ... ]   RFC 9162, leaf to root,
//     "checkpoint": "<signed checkpoint note the proof is against>",
//     "bundles": { "<b64url node_id>": "<evidence bundle JSON text>" } }
//
// Bundles are carried as JSON text, not nested objects, so the client parses exactly the bytes the
// node produced with attest::ParseBundle (this module sits below attest and does not look inside
// them). Bundles refresh every few minutes while the entry stays the epoch's.
//
// What a client must check, in order: the checkpoint note against its log policy (tlog/log_policy.h),
// CheckInclusion against that verified checkpoint, VerifyDirectoryEntry with the directory key, and
// each bundle with attest's verifier — its node_id must be listed in the directory. Parse only
// checks form and bounds.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::directory {

inline constexpr std::string_view kDirectoryResponseMediaType = "application/json";
inline constexpr size_t kMaxDirectoryResponseBytes = size_t{32} << 20;
inline constexpr size_t kMaxResponseBundles = 1024;
inline constexpr size_t kMaxBundleTextBytes = size_t{4} << 20;  // attest::kMaxBundleBytes
inline constexpr size_t kMaxProofHashes = 64;
inline constexpr size_t kMaxCheckpointNoteBytes = 16 * 1024;

struct DirectoryResponse {
  Bytes entry;
  uint64_t log_index = 0;
  std::vector<tlog::Hash> inclusion_proof;
  std::string checkpoint;
  std::map<Bytes, std::string> bundles;  // node_id → bundle JSON text

  std::string Encode() const;
  friend bool operator==(const DirectoryResponse&, const DirectoryResponse&) = default;
};

Result<DirectoryResponse> ParseDirectoryResponse(std::string_view json_text);

// The entry's inclusion at log_index in the tree of `verified` (a checkpoint the caller verified
// against its log policy; the response's own `checkpoint` text is not trusted here).
Status CheckInclusion(const DirectoryResponse& response, const tlog::Checkpoint& verified);

}  // namespace openpcc::directory
