#include "openpcc/tlog/checkpoint.h"

#include "openpcc/util/base64.h"

namespace openpcc::tlog {
namespace {

Error CheckpointError(ErrorCode code, const std::string& what) { return Error(code, "checkpoint: " + what); }

Result<uint64_t> ParseSize(std::string_view s) {
  if (s.empty()) return CheckpointError(ErrorCode::kMalformed, "tree size line is empty");
  if (s.size() > 1 && s[0] == '0') return CheckpointError(ErrorCode::kMalformed, "tree size has a leading zero");
  if (s.size() > 19) return CheckpointError(ErrorCode::kOutOfRange, "tree size does not fit in 63 bits");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return CheckpointError(ErrorCode::kMalformed, "tree size is not a decimal number");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > (uint64_t{1} << 63) - 1) return CheckpointError(ErrorCode::kOutOfRange, "tree size does not fit in 63 bits");
  return v;
}

}  // namespace

Result<Checkpoint> ParseCheckpointText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return CheckpointError(ErrorCode::kMalformed, "text does not end with a newline");
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (lines.size() == 3 + kMaxCheckpointExtensions) {
      return CheckpointError(ErrorCode::kOutOfRange, "more than " + std::to_string(kMaxCheckpointExtensions) + " extension lines");
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() < 3) return CheckpointError(ErrorCode::kMalformed, "text has fewer than 3 lines");
  Checkpoint out;
  if (lines[0].empty()) return CheckpointError(ErrorCode::kMalformed, "origin line is empty");
  out.origin = std::string(lines[0]);
  OPENPCC_ASSIGN_OR_RETURN(out.size, ParseSize(lines[1]));
  auto root = Base64Decode(lines[2]);
  if (!root.ok()) return CheckpointError(ErrorCode::kMalformed, "root hash: " + root.error().message());
  OPENPCC_ASSIGN_OR_RETURN(out.root, HashFromBytes(*root, "checkpoint: root hash"));
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return CheckpointError(ErrorCode::kMalformed, "extension line " + std::to_string(i - 2) + " is empty");
    out.extensions.emplace_back(lines[i]);
  }
  return out;
}

std::string FormatCheckpointText(const Checkpoint& c) {
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" + Base64Encode(View(c.root)) + "\n";
  for (const auto& e : c.extensions) out += e + "\n";
  return out;
}

Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const NoteSigner& log_signer) {
  const std::string text = FormatCheckpointText(checkpoint);
  if (auto check = ParseCheckpointText(text); !check.ok()) return std::move(check).error();
  return SignNote(text, log_signer);
}

Result<VerifiedCheckpointNote> VerifyCheckpointNote(std::string_view note, std::string_view origin,
                                                    const NoteVerifier& log_key, const NoteLimits& limits) {
  OPENPCC_ASSIGN_OR_RETURN(auto parsed, ParseNote(note, limits));
  auto verified = VerifyNote(parsed, std::span<const NoteVerifier>(&log_key, 1));
  if (!verified.ok()) {
    return CheckpointError(verified.error().code(), "log signature: " + verified.error().message());
  }
  OPENPCC_ASSIGN_OR_RETURN(auto checkpoint, ParseCheckpointText(parsed.text));
  if (checkpoint.origin != origin) {
    return CheckpointError(ErrorCode::kUnknownKey, "origin \"" + checkpoint.origin + "\" is not the expected \"" +
                                                       std::string(origin) + "\"");
  }
  return VerifiedCheckpointNote{std::move(checkpoint), std::move(parsed)};
}

}  // namespace openpcc::tlog
