#include "openpcc/net/http_text.h"

#include <array>
#include <cstdio>

#include "openpcc/net/beast.h"

namespace openpcc::net::detail {

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              kSpecials.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsFieldValue(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool IsFramingHeader(std::string_view name) {
  constexpr std::array<std::string_view, 8> kReserved = {
      "content-length", "transfer-encoding", "connection", "keep-alive",
      "upgrade",        "te",                "trailer",    "host"};
  std::string lower(name);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (std::string_view r : kReserved) {
    if (lower == r) return true;
  }
  return false;
}

std::string StatusLine(unsigned status) {
  std::string_view reason = http::obsolete_reason(http::int_to_status(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

std::string ChunkSizeLine(size_t size) {
  std::array<char, 24> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%zx\r\n", size);
  return std::string(buf.data(), static_cast<size_t>(n));
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
          out += buf.data();
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace openpcc::net::detail
