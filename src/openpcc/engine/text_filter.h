// engine/text_filter.h — turns a model's token pieces into text that is safe to stream.
//
// A token's piece is raw bytes: a multibyte UTF-8 character may be split across tokens, and a
// model (especially one with random weights) can produce bytes that are not UTF-8 at all. And a
// stop sequence may arrive across several tokens, so text that could be the start of one must be
// held back until it is known not to be. Two small filters, applied in this order:
//
//   Utf8Holder   emits only whole, valid UTF-8 characters; holds a trailing incomplete character
//                until its next bytes arrive; replaces invalid bytes with U+FFFD.
//   StopMatcher  emits text up to (never including) the first stop sequence; holds back a suffix
//                that is a prefix of a stop sequence.
//
// Both hold plaintext completion text, so they keep it in wiping containers.
// Thread safety: plain values, one per request.
#pragma once

#include <string_view>
#include <vector>

#include "openpcc/crypto/secret.h"

namespace openpcc::engine {

// True if `text` is entirely valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

class Utf8Holder {
 public:
  // Appends `bytes` and returns the longest prefix of whole characters seen so far that has not
  // been returned before; a trailing incomplete character stays held.
  crypto::SecretString Push(std::string_view bytes);
  // Returns whatever is held, an incomplete character becoming U+FFFD; the holder is then empty.
  crypto::SecretString Flush();
  size_t held_bytes() const { return held_.size(); }

 private:
  crypto::SecretString held_;
};

class StopMatcher {
 public:
  // `stops` must be non-empty strings (ValidateRequest checks); an empty list matches nothing.
  explicit StopMatcher(std::vector<crypto::SecretString> stops);

  struct Output {
    crypto::SecretString text;  // safe to emit now
    bool stopped = false;       // a stop sequence completed; nothing after it may be emitted
  };
  // Feeds more text. After `stopped`, further pushes return nothing.
  Output Push(std::string_view text);
  // End of generation without a stop: returns the held-back text.
  crypto::SecretString Flush();
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<crypto::SecretString> stops_;
  crypto::SecretString held_;
  bool stopped_ = false;
};

}  // namespace openpcc::engine
