#include "openpcc/engine/text_filter.h"

#include <algorithm>
#include <cstdint>

namespace openpcc::engine {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The accepted range of the second byte for a lead byte (RFC 3629 §4); later bytes are 80..BF.
struct LeadInfo {
  size_t length = 0;  // 0: not a lead byte
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
};

LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1};
  if (b >= 0xC2 && b <= 0xDF) return {2};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlong forms
  if (b >= 0xF1 && b <= 0xF3) return {4};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {};
}

enum class Scan { kValid, kIncomplete, kInvalid };

// Examines the character starting at text[0]. On kValid, *length is its length; on kInvalid, the
// number of bytes to replace by one U+FFFD (the maximal valid prefix, at least 1); on kIncomplete,
// every byte present is a valid prefix of a character.
Scan ScanCharacter(std::string_view text, size_t* length) {
  const LeadInfo lead = Lead(static_cast<uint8_t>(text[0]));
  if (lead.length == 0) {
    *length = 1;
    return Scan::kInvalid;
  }
  for (size_t i = 1; i < lead.length; ++i) {
    if (i >= text.size()) return Scan::kIncomplete;
    const auto b = static_cast<uint8_t>(text[i]);
    const uint8_t lo = i == 1 ? lead.second_min : 0x80;
    const uint8_t hi = i == 1 ? lead.second_max : 0xBF;
    if (b < lo || b > hi) {
      *length = i;
      return Scan::kInvalid;
    }
  }
  *length = lead.length;
  return Scan::kValid;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  while (!text.empty()) {
    size_t length = 0;
    if (ScanCharacter(text, &length) != Scan::kValid) return false;
    text.remove_prefix(length);
  }
  return true;
}

crypto::SecretString Utf8Holder::Push(std::string_view bytes) {
  held_.append(bytes);
  crypto::SecretString out;
  std::string_view rest(held_);
  while (!rest.empty()) {
    size_t length = 0;
    const Scan scan = ScanCharacter(rest, &length);
    if (scan == Scan::kIncomplete) break;
    if (scan == Scan::kValid) {
      out.append(rest.substr(0, length));
    } else {
      out.append(kReplacement);
    }
    rest.remove_prefix(length);
  }
  held_.erase(0, held_.size() - rest.size());
  return out;
}

crypto::SecretString Utf8Holder::Flush() {
  crypto::SecretString out;
  if (!held_.empty()) out.append(kReplacement);  // held bytes are one incomplete character
  held_.clear();
  return out;
}

StopMatcher::StopMatcher(std::vector<crypto::SecretString> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const crypto::SecretString& s) { return s.empty(); });
}

StopMatcher::Output StopMatcher::Push(std::string_view text) {
  Output out;
  if (stopped_) return out;
  held_.append(text);
  if (stops_.empty()) {
    out.text.swap(held_);
    return out;
  }
  // The earliest complete stop sequence ends generation; text before it is emitted.
  size_t first = crypto::SecretString::npos;
  for (const auto& stop : stops_) first = std::min(first, held_.find(stop));
  if (first != crypto::SecretString::npos) {
    out.text.assign(held_, 0, first);
    out.stopped = true;
    stopped_ = true;
    held_.clear();
    return out;
  }
  // Otherwise hold back the longest suffix that could still grow into a stop sequence.
  size_t keep = 0;
  const std::string_view held(held_);
  for (const auto& stop : stops_) {
    const size_t longest = std::min(held.size(), stop.size() - 1);
    for (size_t n = longest; n > keep; --n) {
      if (held.substr(held.size() - n) == std::string_view(stop).substr(0, n)) {
        keep = n;
        break;
      }
    }
  }
  out.text.assign(held_, 0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

crypto::SecretString StopMatcher::Flush() {
  crypto::SecretString out;
  if (!stopped_) out.swap(held_);
  held_.clear();
  return out;
}

}  // namespace openpcc::engine
