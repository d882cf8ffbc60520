// tlog/checkpoint.h — C2SP tlog-checkpoint: the note text "<origin>\n<size>\n<base64 root>\n"
// followed by optional extension lines, signed by the log as a note (tlog/note.h).
//
// Parsing is strict: a non-empty origin, a decimal size without leading zeroes that fits in 63 bits,
// a root hash that is exactly 32 bytes of canonical base64, non-empty extension lines. Verifying a
// checkpoint note = parse the note, verify the log's signature, parse the text, compare the origin.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tlog/merkle.h"
#include "openpcc/tlog/note.h"

namespace openpcc::tlog {

inline constexpr size_t kMaxCheckpointExtensions = 16;

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

Result<Checkpoint> ParseCheckpointText(std::string_view text);
std::string FormatCheckpointText(const Checkpoint& checkpoint);

// The checkpoint note signed by the log (one signature line).
Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const NoteSigner& log_signer);

struct VerifiedCheckpointNote {
  Checkpoint checkpoint;
  Note note;  // the parsed note, for cosignature checks
};
// Parses `note`, requires a valid signature by `log_key` and the origin `origin`.
Result<VerifiedCheckpointNote> VerifyCheckpointNote(std::string_view note, std::string_view origin,
                                                    const NoteVerifier& log_key, const NoteLimits& limits = {});

}  // namespace openpcc::tlog
