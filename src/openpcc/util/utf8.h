// util/utf8.h — strict UTF-8 decoding, shared by every parser that must refuse invalid text
// (signed notes, canonical JSON, model output).
//
// Strict means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
// U+10FFFF, no truncated sequences.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace openpcc {

// Decodes the code point starting at s[i] into *out and advances i past it; false (i unchanged)
// on an invalid or truncated sequence. Requires i < s.size().
bool NextCodePoint(std::string_view s, size_t& i, uint32_t* out);

bool IsValidUtf8(std::string_view s);

}  // namespace openpcc
