// net/sse.h — server-sent events (WHATWG HTML §9.2) as OpenAI streams them: `data: {json}\n\n`
// per chunk, `data: [DONE]\n\n` at the end, and named events such as `event: error`.
//
// The encoder writes LF line endings and one `data:` line per line of the payload. The decoder
// is incremental: it accepts input split at any byte (including between CR and LF), strips a
// leading UTF-8 BOM, ignores comments and unknown fields, and bounds both the length of a line
// and the size of an event's data, so an upstream cannot make it buffer without limit. It trusts
// nothing in its input; errors are sticky.
//
// Thread safety: the decoder is a single-threaded object; the encoder functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/result.h"

namespace openpcc::net {

struct SseEvent {
  std::string event;  // the `event:` field; empty means the default type "message"
  std::string data;   // `data:` lines joined by '\n'
  std::string id;     // the last event id seen in the stream (it persists across events)

  bool operator==(const SseEvent&) const = default;
};

// The line that ends an OpenAI stream.
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// `data: ...` lines for `data` (split at CR, LF or CRLF) and the blank line ending the event.
std::string EncodeSseData(std::string_view data);
// An event with optional `event:` and `id:` fields. Fails if `event` or `id` contains CR, LF or
// NUL, which would end the field early and let payload text inject fields.
Result<std::string> EncodeSseEvent(const SseEvent& event);

struct SseLimits {
  size_t max_line_bytes = 256 * 1024;   // one line, without its terminator
  size_t max_event_bytes = 1024 * 1024; // the data of one event
};

class SseDecoder {
 public:
  explicit SseDecoder(SseLimits limits = {});

  // Consumes `bytes` and appends every event they complete to `out`. After an error every further
  // call returns the same error.
  Status Feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Signals the end of the stream. As the standard says, an event without its blank line is not
  // dispatched; this returns kTruncated when such a partial event (or line) was pending, so a
  // caller that needs a complete stream can tell.
  Status Finish();
  // The last `retry:` value, in milliseconds.
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }

 private:
  Status ProcessLine(std::vector<SseEvent>& out);

  SseLimits limits_;
  std::string line_;       // the current line, without its terminator
  std::string data_;       // the pending event's data, each line followed by '\n'
  std::string event_;      // the pending event's type
  std::string last_id_;
  bool has_fields_ = false;  // the pending event has a field (for Finish)
  bool after_cr_ = false;    // the last byte was CR: a following LF belongs to the same terminator
  bool at_start_ = true;     // nothing consumed yet (for the BOM)
  size_t bom_matched_ = 0;   // bytes of a leading BOM matched so far
  std::optional<uint64_t> retry_ms_;
  std::optional<Error> error_;
};

}  // namespace openpcc::net
