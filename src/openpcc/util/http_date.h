// util/http_date.h — the HTTP `Date` format (RFC 9110 §5.6.7, IMF-fixdate), which every inner
// request carries and the gateway and node check against their clocks (DESIGN §2.1, §2.2).
//
// Only IMF-fixdate is produced and accepted ("Sun, 06 Nov 1994 08:49:37 GMT"): the obsolete
// RFC 850 and asctime forms are refused, since no OpenPCC client sends them.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "openpcc/util/result.h"

namespace openpcc {

std::string FormatHttpDate(std::chrono::sys_seconds time);
// Errors (kMalformed) say what part is wrong; they quote nothing of the input.
Result<std::chrono::sys_seconds> ParseHttpDate(std::string_view text);

}  // namespace openpcc
