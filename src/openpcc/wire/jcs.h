// wire/jcs.h — RFC 8785 JSON Canonicalization Scheme (JCS) over Boost.JSON values, and a bounded
// JSON parser for untrusted text.
//
// Canonical JSON is what OpenPCC signs and hashes: node directories, release manifests, log entry
// bodies and evidence claims. Canonicalize() writes object members sorted by the UTF-16 code units
// of their names, no whitespace, strings with the JCS escapes (\b \t \n \f \r \" \\ and \u00xx for
// other controls, everything else as UTF-8), and numbers as ECMAScript would print them.
//
// Numbers: only integers in the I-JSON safe range [-(2^53-1), 2^53-1] are supported (as int64,
// uint64 or integral doubles, -0 printing as 0). Everything else — fractions, exponents that leave
// the range, NaN — is refused with an error rather than risk a spelling another JCS implementation
// would not produce: OpenPCC's formats carry binary values and large numbers as strings.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "openpcc/util/result.h"

namespace openpcc::wire {

inline constexpr int64_t kJsonMaxSafeInteger = (int64_t{1} << 53) - 1;

struct JsonLimits {
  size_t max_bytes = size_t{1} << 20;
  size_t max_depth = 32;
};

// The RFC 8785 canonical form of `value`. Fails on strings that are not valid UTF-8, numbers
// outside the supported set, and nesting deeper than `max_depth`.
Result<std::string> Canonicalize(const boost::json::value& value, size_t max_depth = 64);

// Parses untrusted JSON text: at most limits.max_bytes, nesting at most limits.max_depth, valid
// UTF-8, no comments or trailing commas. Duplicate member names cannot be detected by Boost.JSON
// (the last wins); callers that need the text to be unambiguous compare it with its canonical form
// (ParseCanonicalJson).
Result<boost::json::value> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Parses `text` and requires it to be exactly its own canonical form — the check for signed JSON
// bodies, which also refuses duplicate member names (they do not survive the round trip).
Result<boost::json::value> ParseCanonicalJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace openpcc::wire
