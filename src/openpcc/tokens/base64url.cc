#include "openpcc/tokens/base64url.h"

#include "openpcc/util/base64.h"

namespace openpcc::tokens {

// The alphabet and strictness are util/base64's; this adds only the '=' padding that RFC 9577's
// examples and privacypass-ts write, and accepts it (exactly as much as the length needs) on input.
std::string Base64UrlEncode(ByteView bytes, bool pad) {
  std::string out = openpcc::Base64UrlEncode(bytes);
  if (pad) out.append((4 - out.size() % 4) % 4, '=');
  return out;
}

Result<Bytes> Base64UrlDecode(std::string_view text) {
  size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 0 && (padding > 2 || text.size() % 4 != 0)) {
    return Error(ErrorCode::kMalformed, "base64url: misplaced or excess '=' padding");
  }
  return openpcc::Base64UrlDecode(text.substr(0, text.size() - padding));
}

}  // namespace openpcc::tokens
