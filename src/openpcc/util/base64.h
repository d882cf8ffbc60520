// util/base64.h — RFC 4648 base64 (§4, padded) and base64url (§5, unpadded), strict.
//
// Decoding is strict because the decoded bytes are often signed or hashed by someone else: a
// decoder that accepted several spellings of the same bytes would let a signed text change without
// its meaning changing. So: padding exactly as RFC 4648 §4 requires (none for base64url), no
// whitespace, no characters outside the alphabet, and the unused low bits of the last character
// must be zero (the canonical spelling).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc {

std::string Base64Encode(ByteView bytes);
Result<Bytes> Base64Decode(std::string_view text);
std::string Base64UrlEncode(ByteView bytes);
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace openpcc
