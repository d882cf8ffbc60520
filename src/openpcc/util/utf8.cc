#include "openpcc/util/utf8.h"

namespace openpcc {

bool NextCodePoint(std::string_view s, size_t& i, uint32_t* out) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  size_t length = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (b0 < 0x80) {
    *out = b0;
    ++i;
    return true;
  } else if ((b0 & 0xe0) == 0xc0) {
    length = 2, cp = b0 & 0x1fu, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    length = 3, cp = b0 & 0x0fu, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    length = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return false;
  }
  if (s.size() - i < length) return false;
  for (size_t k = 1; k < length; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  *out = cp;
  i += length;
  return true;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  uint32_t cp = 0;
  while (i < s.size()) {
    if (!NextCodePoint(s, i, &cp)) return false;
  }
  return true;
}

}  // namespace openpcc
