#include "openpcc/net/url.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace openpcc::net {
namespace {

Error UrlError(std::string message) { return Error(ErrorCode::kMalformed, "url: " + message); }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f'); }
bool IsAlnum(char c) { return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'z'); }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsIpv4(const std::string& host) {
  std::array<unsigned char, 4> out{};
  // glibc's inet_pton accepts exactly four decimal parts without leading zeros.
  return inet_pton(AF_INET, host.c_str(), out.data()) == 1;
}

bool IsIpv6(const std::string& host) {
  std::array<unsigned char, 16> out{};
  return inet_pton(AF_INET6, host.c_str(), out.data()) == 1;
}

Status CheckDnsName(std::string_view host) {
  if (host.size() > 253) return UrlError("host is longer than 253 characters");
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(start, dot - start);
    if (label.empty()) {
      // One trailing dot ("example.com.") is a valid absolute name; an empty label elsewhere is not.
      if (dot == host.size() && start == host.size() && start > 0) break;
      return UrlError("host has an empty label");
    }
    if (label.size() > 63) return UrlError("host label is longer than 63 characters");
    for (char c : label) {
      if (!IsAlnum(c) && c != '-' && c != '_') {
        return UrlError("host contains a character outside [A-Za-z0-9._-]");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return UrlError("host label starts or ends with '-'");
    }
    start = dot + 1;
  }
  return OkStatus();
}

bool NumericLastLabel(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  std::string_view digits = last;
  if (digits.size() > 2 && digits[0] == '0' && Lower(digits[1]) == 'x') {
    digits.remove_prefix(2);
    for (char c : digits) {
      if (!IsHexDigit(c)) return false;
    }
    return true;
  }
  for (char c : digits) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

Status CheckTarget(std::string_view target) {
  for (size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return UrlError("path or query contains a space, control or non-ASCII byte");
    }
    if (c == '#') return UrlError("fragments are not allowed");
    if (c == '%') {
      if (i + 2 >= target.size() || !IsHexDigit(target[i + 1]) || !IsHexDigit(target[i + 2])) {
        return UrlError("'%' is not followed by two hex digits");
      }
    }
  }
  return OkStatus();
}

}  // namespace

std::string_view Url::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string Url::Origin() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  return out;
}

std::string Url::HostHeader() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  size_t colon = text.find("://");
  if (colon == std::string_view::npos) return UrlError("missing \"scheme://\"");
  url.scheme = ToLower(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") {
    return Error(ErrorCode::kUnsupported, "url: scheme must be http or https");
  }
  std::string_view rest = text.substr(colon + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.empty()) return UrlError("missing host");
  if (authority.find('@') != std::string_view::npos) return UrlError("userinfo is not allowed");

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError("IPv6 host is missing ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return UrlError("unexpected characters after IPv6 host");
      port = after.substr(1);
      has_port = true;
    }
    url.host = ToLower(host);
    if (url.host.find('%') != std::string::npos) return UrlError("IPv6 zone ids are not allowed");
    if (!IsIpv6(url.host)) return UrlError("host is not a valid IPv6 address");
  } else {
    size_t port_colon = authority.find(':');
    host = authority.substr(0, port_colon);
    if (port_colon != std::string_view::npos) {
      port = authority.substr(port_colon + 1);
      has_port = true;
    }
    if (host.empty()) return UrlError("missing host");
    url.host = ToLower(host);
    if (NumericLastLabel(url.host)) {
      if (!IsIpv4(url.host)) {
        return UrlError("host looks numeric but is not a dotted-quad IPv4 address");
      }
    } else {
      OPENPCC_RETURN_IF_ERROR(CheckDnsName(url.host));
    }
  }

  if (has_port) {
    if (port.empty()) return UrlError("empty port after ':'");
    if (port.size() > 5) return UrlError("port is not a number in 1..65535");
    for (char c : port) {
      if (!IsDigit(c)) return UrlError("port is not a number in 1..65535");
    }
    unsigned value = 0;
    std::from_chars(port.data(), port.data() + port.size(), value);
    if (value == 0 || value > 65535) return UrlError("port is not a number in 1..65535");
    url.port = static_cast<uint16_t>(value);
  } else {
    url.port = url.tls() ? 443 : 80;
  }

  if (target.empty()) {
    url.target = "/";
  } else {
    if (target.front() == '?') {
      url.target = "/" + std::string(target);
    } else {
      url.target = std::string(target);
    }
    OPENPCC_RETURN_IF_ERROR(CheckTarget(url.target));
  }
  return url;
}

bool IsLoopbackHost(std::string_view host_in) {
  std::string host = ToLower(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host == "localhost") return true;
  constexpr std::string_view kSuffix = ".localhost";
  if (host.size() > kSuffix.size() &&
      std::string_view(host).substr(host.size() - kSuffix.size()) == kSuffix) {
    return CheckDnsName(host).ok();
  }
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, host.c_str(), v6.data()) == 1) {
    static constexpr std::array<unsigned char, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 0, 0, 1};
    if (v6 == kLoopback6) return true;
    // IPv4-mapped ::ffff:127.x.y.z
    for (size_t i = 0; i < 10; ++i) {
      if (v6[i] != 0) return false;
    }
    return v6[10] == 0xff && v6[11] == 0xff && v6[12] == 127;
  }
  std::array<unsigned char, 4> v4{};
  if (inet_pton(AF_INET, host.c_str(), v4.data()) == 1) return v4[0] == 127;
  return false;
}

}  // namespace openpcc::net
