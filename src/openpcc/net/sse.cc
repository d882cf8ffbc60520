#include "openpcc/net/sse.h"

#include <charconv>

namespace openpcc::net {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

std::string EncodeSseData(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 8);
  size_t start = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

Result<std::string> EncodeSseEvent(const SseEvent& event) {
  if (HasLineBreakOrNul(event.event)) {
    return Error(ErrorCode::kInvalidArgument, "sse: event name contains CR, LF or NUL");
  }
  if (HasLineBreakOrNul(event.id)) {
    return Error(ErrorCode::kInvalidArgument, "sse: event id contains CR, LF or NUL");
  }
  std::string out;
  if (!event.event.empty()) out += "event: " + event.event + "\n";
  if (!event.id.empty()) out += "id: " + event.id + "\n";
  out += EncodeSseData(event.data);
  return out;
}

SseDecoder::SseDecoder(SseLimits limits) : limits_(limits) {}

Status SseDecoder::Feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (error_) return *error_;
  size_t i = 0;
  // A UTF-8 BOM may open the stream, possibly split across calls.
  while (at_start_ && i < bytes.size()) {
    if (bytes[i] == kBom[bom_matched_]) {
      ++bom_matched_;
      ++i;
      if (bom_matched_ == kBom.size()) at_start_ = false;
      continue;
    }
    // Not a BOM: the bytes matched so far were content after all.
    line_.append(kBom.substr(0, bom_matched_));
    at_start_ = false;
  }
  while (i < bytes.size()) {
    char c = bytes[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {
        ++i;
        continue;
      }
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = (c == '\r');
      ++i;
      Status status = ProcessLine(out);
      if (!status.ok()) {
        error_ = status.error();
        return status;
      }
      continue;
    }
    // Copy the run of ordinary bytes at once.
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = bytes.size();
    if (line_.size() + (end - i) > limits_.max_line_bytes) {
      error_ = Error(ErrorCode::kOutOfRange, "sse: line is longer than the limit of " +
                                                 std::to_string(limits_.max_line_bytes) + " bytes");
      return *error_;
    }
    line_.append(bytes.substr(i, end - i));
    i = end;
  }
  return OkStatus();
}

Status SseDecoder::ProcessLine(std::vector<SseEvent>& out) {
  std::string_view line = line_;
  if (line.empty()) {
    if (!data_.empty()) {
      data_.pop_back();  // the '\n' after the last data line
      out.push_back(SseEvent{event_.empty() ? std::string() : event_, std::move(data_), last_id_});
    }
    data_.clear();
    event_.clear();
    has_fields_ = false;
    return OkStatus();
  }
  if (line.front() == ':') {  // comment
    line_.clear();
    return OkStatus();
  }
  has_fields_ = true;
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event_bytes) {
      line_.clear();
      return Error(ErrorCode::kOutOfRange, "sse: event data is larger than the limit of " +
                                               std::to_string(limits_.max_event_bytes) + " bytes");
    }
    data_.append(value);
    data_ += '\n';
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    uint64_t ms = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    bool all_digits = !value.empty() && ec == std::errc() && ptr == value.data() + value.size();
    for (char c : value) all_digits = all_digits && c >= '0' && c <= '9';
    if (all_digits) retry_ms_ = ms;
  }
  line_.clear();
  return OkStatus();
}

Status SseDecoder::Finish() {
  if (error_) return *error_;
  if (!line_.empty() || has_fields_ || (at_start_ && bom_matched_ > 0)) {
    return Error(ErrorCode::kTruncated, "sse: stream ended inside an event (no blank line)");
  }
  return OkStatus();
}

}  // namespace openpcc::net
