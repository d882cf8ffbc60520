// libFuzzer target for net/sse's decoder. The input is an SSE stream. The target aborts unless:
//   - decoding it whole and in pieces of 1..16 bytes (sizes from the input) gives the same events
//     and the same error, under default and under small limits;
//   - the events, written out again, decode to the same events.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/net/sse.h"

namespace {

using openpcc::Status;
using openpcc::net::EncodeSseData;
using openpcc::net::SseDecoder;
using openpcc::net::SseEvent;
using openpcc::net::SseLimits;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "sse_fuzz: %s\n", what);
    std::abort();
  }
}

struct Outcome {
  std::vector<SseEvent> events;
  bool ok = true;
  std::string error;
  bool finished_ok = true;
};

Outcome Decode(std::string_view input, SseLimits limits, std::string_view sizes) {
  SseDecoder decoder(limits);
  Outcome out;
  size_t i = 0;
  size_t k = 0;
  while (i < input.size()) {
    size_t piece = sizes.empty() ? input.size()
                                 : 1 + static_cast<unsigned char>(sizes[k++ % sizes.size()]) % 16;
    Status s = decoder.Feed(input.substr(i, piece), out.events);
    if (!s.ok()) {
      out.ok = false;
      out.error = s.error().message();
      return out;
    }
    i += piece;
  }
  out.finished_ok = decoder.Finish().ok();
  return out;
}

bool Same(const Outcome& a, const Outcome& b) {
  return a.ok == b.ok && a.error == b.error && a.events == b.events &&
         (!a.ok || a.finished_ok == b.finished_ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view sizes = input.substr(0, 8);
  for (SseLimits limits : {SseLimits{}, SseLimits{16, 32}}) {
    Outcome whole = Decode(input, limits, "");
    Outcome split = Decode(input, limits, sizes);
    Outcome bytes = Decode(input, limits, std::string_view("\0", 1));
    Check(Same(whole, split), "split input changed the result");
    Check(Same(whole, bytes), "byte-by-byte input changed the result");
    if (!whole.ok) {
      // Events before the error are the same events the decoder would give for a valid prefix.
      continue;
    }
    std::string again;
    for (const SseEvent& e : whole.events) {
      if (!e.event.empty()) again += "event: " + e.event + "\n";
      again += "id: " + e.id + "\n";
      again += EncodeSseData(e.data);
    }
    Outcome round = Decode(again, SseLimits{1 << 20, 1 << 20}, "");
    Check(round.ok && round.finished_ok, "re-encoded events do not decode");
    Check(round.events == whole.events, "re-encoded events decode differently");
  }
  return 0;
}
