// tlog/witness_request.h — the body of a C2SP tlog-witness `add-checkpoint` request, which the log
// sends to each witness:
//
//   old <decimal size>\n
//   <base64 consistency proof hash>\n        (zero or more, at most 63)
//   \n
//   <the checkpoint note, signed by the log>
//
// and the witness's 409 Conflict body (text/x.tlog.size): "<decimal size>\n", the size the witness
// last saw, so the log can retry with the right consistency proof.
//
// Parsing is strict (decimal without leading zeroes, canonical base64 of exactly 32 bytes, bounded
// size); it checks form only — the witness verifies the note and the proof (tlog/witness.h).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tlog/merkle.h"

namespace openpcc::tlog {

inline constexpr size_t kMaxConsistencyProofHashes = 63;
inline constexpr size_t kMaxAddCheckpointBytes = 64 * 1024;

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<Hash> proof;
  std::string checkpoint_note;
};

std::string FormatAddCheckpoint(uint64_t old_size, std::span<const Hash> proof, std::string_view checkpoint_note);
Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body);

// A decimal size ("123"), optionally followed by one newline (the 409 body).
Result<uint64_t> ParseTreeSize(std::string_view text);

}  // namespace openpcc::tlog
