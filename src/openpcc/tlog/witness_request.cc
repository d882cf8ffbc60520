#include "openpcc/tlog/witness_request.h"

#include "openpcc/util/base64.h"

namespace openpcc::tlog {
namespace {

Error RequestError(const std::string& what) { return Error(ErrorCode::kMalformed, "add-checkpoint: " + what); }

}  // namespace

std::string FormatAddCheckpoint(uint64_t old_size, std::span<const Hash> proof, std::string_view checkpoint_note) {
  std::string out = "old " + std::to_string(old_size) + "\n";
  for (const Hash& h : proof) out += Base64Encode(View(h)) + "\n";
  out += "\n";
  out += checkpoint_note;
  return out;
}

Result<uint64_t> ParseTreeSize(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) {
    return Error(ErrorCode::kMalformed, "tree size: expected a decimal number without leading zeroes");
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Error(ErrorCode::kMalformed, "tree size: expected only decimal digits");
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > (uint64_t{1} << 63) - 1) return Error(ErrorCode::kOutOfRange, "tree size: above 2^63-1");
  return value;
}

Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body) {
  if (body.size() > kMaxAddCheckpointBytes) return Error(ErrorCode::kOutOfRange, "add-checkpoint: body over 64 KiB");
  AddCheckpointRequest request;
  auto next_line = [&body](std::string_view* line) {
    const size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line.substr(0, 4) != "old ") return RequestError("expected a first line \"old <size>\"");
  auto old_size = ParseTreeSize(line.substr(4));
  if (!old_size.ok()) return RequestError("old size: " + old_size.error().message());
  request.old_size = old_size.value();
  while (true) {
    if (!next_line(&line)) return RequestError("expected an empty line before the checkpoint");
    if (line.empty()) break;
    if (request.proof.size() == kMaxConsistencyProofHashes) {
      return RequestError("consistency proof longer than " + std::to_string(kMaxConsistencyProofHashes) + " hashes");
    }
    auto bytes = Base64Decode(line);
    if (!bytes.ok()) return RequestError("consistency proof line " + std::to_string(request.proof.size() + 1) + " is not canonical base64");
    auto hash = HashFromBytes(bytes.value(), "consistency proof hash");
    if (!hash.ok()) return RequestError(hash.error().message());
    request.proof.push_back(hash.value());
  }
  if (body.empty()) return RequestError("missing checkpoint note");
  request.checkpoint_note = std::string(body);
  return request;
}

}  // namespace openpcc::tlog
