// tokens/base64url.h — base64url (RFC 4648 §5) as the PrivateToken scheme and the issuer directory
// carry binary values. Encoding pads with '=' (as RFC 9577's examples and privacypass-ts do);
// decoding accepts padded and unpadded input, and refuses '+', '/', misplaced or excess padding and
// non-zero trailing bits (so each value has one accepted encoding per padding choice).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

std::string Base64UrlEncode(ByteView bytes, bool pad = true);
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace openpcc::tokens
