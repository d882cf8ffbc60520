// tokens/auth_scheme.h — the PrivateToken HTTP authentication scheme (RFC 9577 §2): challenges in
// WWW-Authenticate, credentials in Authorization.
//
// Parsing follows RFC 9110 §11 (a list of challenges, each a scheme then auth-params
// `name = token / quoted-string`) and RFC 9577: parameter names compare case-insensitively, each
// at most once per challenge; unknown parameters and other schemes are ignored; base64url values
// are accepted with or without padding. It is strict where RFC 9110 is (no unquoted '=' padding,
// no control characters, no unterminated quotes) and bounded: a header of at most 16 KiB, 16
// challenges and 32 parameters each. Bytes are not interpreted beyond the token type: callers parse
// TokenChallenge / Token from the returned bytes.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

inline constexpr size_t kMaxAuthHeaderLength = 16 * 1024;
inline constexpr size_t kMaxAuthChallenges = 16;
inline constexpr size_t kMaxAuthParams = 32;

struct PrivateTokenChallenge {
  uint16_t token_type = 0;  // the first two bytes of `challenge`
  Bytes challenge;          // an encoded TokenChallenge
  Bytes token_key;          // the issuer's token key (type 0x0002: RFC 9578 SPKI)
  std::optional<uint32_t> max_age;
};

// Every PrivateToken challenge of a WWW-Authenticate value (other schemes are skipped). A
// PrivateToken challenge without `challenge` or `token-key`, or with a value that is not base64url,
// fails the whole header (kMalformed, naming the parameter).
Result<std::vector<PrivateTokenChallenge>> ParseWwwAuthenticate(std::string_view value);
// `PrivateToken challenge="…", token-key="…"[, max-age=N]`, challenges joined by ", ".
std::string FormatWwwAuthenticate(std::span<const PrivateTokenChallenge> challenges);

// The token bytes of an Authorization value `PrivateToken token="…"`. Refuses other schemes
// (kUnsupported), more than one credential, and a missing or repeated `token` parameter.
Result<Bytes> ParseAuthorization(std::string_view value);
std::string FormatAuthorization(ByteView token);

}  // namespace openpcc::tokens
