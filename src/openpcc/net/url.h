// net/url.h — strict parsing of the http(s) URLs that OpenPCC services and tools are configured with,
// and the loopback test that lets a caller refuse an upstream leaving the machine (DESIGN §4, §5).
//
// Only absolute `http://` and `https://` URLs are accepted, and only in one spelling: no userinfo,
// no fragment, no whitespace or non-ASCII bytes, a port of 1..65535 when one is given, and a host
// that is a DNS name, a dotted-quad IPv4 address or a bracketed IPv6 address. A host that looks
// numeric but is not a dotted quad ("127.1", "0x7f.0.0.1") is refused, because resolvers read such
// names as IPv4 addresses in more than one way, which would let a URL hide where it points.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "openpcc/util/result.h"

namespace openpcc::net {

struct Url {
  std::string scheme;  // "http" or "https" (lower case)
  std::string host;    // lower-case DNS name, IPv4 literal, or IPv6 literal without brackets
  uint16_t port = 0;   // as given, or 80 / 443 for the scheme
  std::string target;  // path and optional "?query"; "/" when the URL has no path

  bool tls() const { return scheme == "https"; }
  // The path part of `target` (without the query).
  std::string_view path() const;
  // "scheme://host:port", the key of a connection pool (IPv6 in brackets).
  std::string Origin() const;
  // The Host header value: host, and ":port" unless it is the scheme's default.
  std::string HostHeader() const;
};

// Parses an absolute http(s) URL; errors name the part that is wrong ("url: port ...").
Result<Url> ParseUrl(std::string_view text);

// True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z, "localhost" and names under ".localhost"
// (RFC 6761). The client resolves loopback names only to loopback addresses, so a name that passes
// this test cannot be redirected off the machine through DNS or /etc/hosts.
bool IsLoopbackHost(std::string_view host);

}  // namespace openpcc::net
