// libFuzzer target for engine/text_filter (the filters between a model's token pieces and the
// stream). Input: byte 0 picks piece sizes, byte 1 a stop length L, then L bytes of stop sequence,
// then the model's raw output bytes. The target aborts unless:
//   - Utf8Holder's output is valid UTF-8, the same however the bytes are split, and equal to the
//     input when the input is valid UTF-8;
//   - StopMatcher's output, however the text is split, is the text up to the first occurrence of
//     the stop sequence (or all of it, when the stop never occurs), and it reports the stop iff it
//     occurs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/engine/text_filter.h"

namespace {

using openpcc::crypto::SecretString;
using namespace openpcc::engine;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "text_filter_fuzz: %s\n", what);
    std::abort();
  }
}

std::string Str(const SecretString& s) { return std::string(s.begin(), s.end()); }

// Splits `text` into pieces of 1..8 bytes driven by `seed`.
template <typename F>
void ForPieces(std::string_view text, uint8_t seed, F&& f) {
  uint32_t state = seed | 1u;
  while (!text.empty()) {
    state = state * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(text.size(), 1 + (state >> 16) % 8);
    f(text.substr(0, n));
    text.remove_prefix(n);
  }
}

std::string Utf8Whole(std::string_view bytes) {
  Utf8Holder h;
  std::string out = Str(h.Push(bytes));
  return out + Str(h.Flush());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t seed = data[0];
  const size_t stop_len = data[1] % 9;
  if (size < 2 + stop_len) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::string_view stop = all.substr(2, stop_len);
  const std::string_view bytes = all.substr(2 + stop_len);

  const std::string whole = Utf8Whole(bytes);
  Check(IsValidUtf8(whole), "Utf8Holder emitted invalid UTF-8");
  if (IsValidUtf8(bytes)) Check(whole == bytes, "Utf8Holder changed valid UTF-8");
  {
    Utf8Holder h;
    std::string split;
    ForPieces(bytes, seed, [&](std::string_view piece) {
      const std::string out = Str(h.Push(piece));
      Check(IsValidUtf8(out), "Utf8Holder emitted invalid UTF-8 from a piece");
      split += out;
    });
    split += Str(h.Flush());
    Check(split == whole, "Utf8Holder output depends on how the bytes are split");
  }

  if (stop.empty()) return 0;
  std::vector<SecretString> stops;
  stops.emplace_back(stop.data(), stop.size());
  StopMatcher m(std::move(stops));
  std::string emitted;
  bool stopped = false;
  ForPieces(whole, static_cast<uint8_t>(seed ^ 0x5A), [&](std::string_view piece) {
    const StopMatcher::Output out = m.Push(piece);
    Check(!(stopped && !out.text.empty()), "StopMatcher emitted text after the stop");
    emitted += Str(out.text);
    stopped = stopped || out.stopped;
  });
  if (!stopped) emitted += Str(m.Flush());
  const size_t at = whole.find(stop);
  Check(stopped == (at != std::string::npos), "StopMatcher missed or invented a stop");
  Check(emitted == (at == std::string::npos ? whole : whole.substr(0, at)),
        "StopMatcher emitted something other than the text before the stop");
  return 0;
}
