// net/url: the strict URL parser and the loopback test. Each refusal asserts the part it names.
#include "openpcc/net/url.h"

#include <gtest/gtest.h>

#include <string>

namespace openpcc::net {
namespace {

void ExpectRefused(const std::string& text, const std::string& reason) {
  Result<Url> url = ParseUrl(text);
  ASSERT_FALSE(url.ok()) << text;
  EXPECT_NE(url.error().message().find(reason), std::string::npos)
      << text << " -> " << url.error().message();
}

TEST(NetUrl, ParsesSchemeHostPortAndTarget) {
  Result<Url> url = ParseUrl("https://Relay.Example.com:8443/v1/infer?x=1");
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "relay.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/v1/infer?x=1");
  EXPECT_EQ(url->path(), "/v1/infer");
  EXPECT_TRUE(url->tls());
  EXPECT_EQ(url->Origin(), "https://relay.example.com:8443");
  EXPECT_EQ(url->HostHeader(), "relay.example.com:8443");
}

TEST(NetUrl, DefaultsPortAndPath) {
  Result<Url> http = ParseUrl("http://127.0.0.1");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->target, "/");
  EXPECT_EQ(http->HostHeader(), "127.0.0.1");
  Result<Url> https = ParseUrl("HTTPS://localhost?q");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->target, "/?q");
}

TEST(NetUrl, ParsesBracketedIpv6) {
  Result<Url> url = ParseUrl("http://[::1]:7200/v1/models");
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 7200);
  EXPECT_EQ(url->Origin(), "http://[::1]:7200");
  EXPECT_EQ(url->HostHeader(), "[::1]:7200");
}

TEST(NetUrl, RefusesMalformedUrls) {
  ExpectRefused("relay.example.com/v1", "missing \"scheme://\"");
  ExpectRefused("ftp://example.com/", "scheme must be http or https");
  ExpectRefused("http:///path", "missing host");
  ExpectRefused("http://user:pw@example.com/", "userinfo is not allowed");
  ExpectRefused("http://example.com:/", "empty port");
  ExpectRefused("http://example.com:0/", "port is not a number in 1..65535");
  ExpectRefused("http://example.com:65536/", "port is not a number in 1..65535");
  ExpectRefused("http://example.com:+80/", "port is not a number in 1..65535");
  ExpectRefused("http://example.com:123456/", "port is not a number in 1..65535");
  ExpectRefused("http://example.com/a#frag", "fragments are not allowed");
  ExpectRefused("http://example.com/a b", "space, control or non-ASCII");
  ExpectRefused("http://example.com/\xc3\xa9", "space, control or non-ASCII");
  ExpectRefused("http://example.com/%zz", "'%' is not followed by two hex digits");
  ExpectRefused("http://example.com/%4", "'%' is not followed by two hex digits");
  ExpectRefused("http://exa mple.com/", "outside [A-Za-z0-9._-]");
  ExpectRefused("http://a..b/", "empty label");
  ExpectRefused("http://-a.com/", "starts or ends with '-'");
  ExpectRefused("http://[::1/", "missing ']'");
  ExpectRefused("http://[::1]x/", "unexpected characters after IPv6 host");
  ExpectRefused("http://[fe80::1%25eth0]/", "zone ids are not allowed");
  ExpectRefused("http://[example.com]/", "not a valid IPv6 address");
  ExpectRefused("http://" + std::string(64, 'a') + ".com/", "longer than 63");
}

TEST(NetUrl, RefusesNumericHostsThatAreNotDottedQuads) {
  // Resolvers read these as 127.0.0.1 in one way or another.
  ExpectRefused("http://127.1/", "not a dotted-quad IPv4 address");
  ExpectRefused("http://0x7f.0.0.1/", "not a dotted-quad IPv4 address");
  ExpectRefused("http://2130706433/", "not a dotted-quad IPv4 address");
  ExpectRefused("http://127.0.0.01/", "not a dotted-quad IPv4 address");
  ExpectRefused("http://256.0.0.1/", "not a dotted-quad IPv4 address");
  EXPECT_TRUE(ParseUrl("http://1.2.3.4/").ok());
  EXPECT_TRUE(ParseUrl("http://v4.example.com/").ok());
}

TEST(NetUrl, RecognisesLoopbackHosts) {
  for (const char* host : {"127.0.0.1", "127.255.0.9", "::1", "[::1]", "localhost", "LOCALHOST",
                           "localhost.", "api.localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"128.0.0.1", "10.0.0.1", "example.com", "localhost.example.com",
                           "::2", "::ffff:10.0.0.1", "0.0.0.0", "", "127.1", "localhostx"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace openpcc::net
