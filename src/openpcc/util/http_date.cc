#include "openpcc/util/http_date.h"

#include <array>
#include <cstdio>

namespace openpcc {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

Error Bad(std::string_view what) {
  return Error(ErrorCode::kMalformed, "date: " + std::string(what) + " (expected IMF-fixdate, "
                                      "e.g. \"Sun, 06 Nov 1994 08:49:37 GMT\")");
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatHttpDate(std::chrono::sys_seconds time) {
  using namespace std::chrono;
  const sys_days day = floor<days>(time);
  const year_month_day ymd(day);
  const hh_mm_ss hms(time - day);
  const weekday wd(day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                std::string(kDays[wd.c_encoding()]).c_str(), static_cast<unsigned>(ymd.day()),
                std::string(kMonths[static_cast<unsigned>(ymd.month()) - 1]).c_str(),
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

Result<std::chrono::sys_seconds> ParseHttpDate(std::string_view s) {
  using namespace std::chrono;
  // "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters exactly.
  if (s.size() != 29) return Bad("wrong length");
  if (s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT") {
    return Bad("wrong separators");
  }
  size_t wd = 0;
  while (wd < kDays.size() && kDays[wd] != s.substr(0, 3)) ++wd;
  if (wd == kDays.size()) return Bad("unknown day name");
  size_t mon = 0;
  while (mon < kMonths.size() && kMonths[mon] != s.substr(8, 3)) ++mon;
  if (mon == kMonths.size()) return Bad("unknown month name");
  int d = 0, y = 0, h = 0, m = 0, sec = 0;
  if (!Digits(s, 5, 2, &d) || !Digits(s, 12, 4, &y) || !Digits(s, 17, 2, &h) ||
      !Digits(s, 20, 2, &m) || !Digits(s, 23, 2, &sec)) {
    return Bad("non-digit in a number");
  }
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mon + 1)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || m > 59 || sec > 60) return Bad("date or time out of range");
  const sys_days dd(ymd);
  if (weekday(dd).c_encoding() != wd) return Bad("day name does not match the date");
  return sys_seconds(dd) + hours(h) + minutes(m) + seconds(std::min(sec, 59));
}

}  // namespace openpcc
