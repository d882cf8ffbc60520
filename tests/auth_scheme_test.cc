// The PrivateToken authentication scheme (RFC 9577 §2): the RFC's WWW-Authenticate vectors (read
// from the vector file, line folding removed), Authorization credentials, and refusals.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/base64url.h"
#include "openpcc/tokens/issuer_directory.h"
#include "support/vectors.h"

namespace openpcc::tokens {
namespace {

using openpcc::testing::Hex;

struct HeaderVector {
  std::vector<std::pair<std::string, std::string>> fields;  // "token-key-0" -> hex
  std::string header;
};

// Reads the "HTTP Header Test Vectors" section: "name: hex" fields folded over lines, then a
// "WWW-Authenticate: …" value folded over lines up to a blank line. Folding inserted newlines only.
std::vector<HeaderVector> HeaderVectors() {
  const std::string text = openpcc::testing::ReadVectorFile(
      "protocols/privacypass-rfc9578/rfc9577-test-vectors.md");
  const size_t start = text.find("## HTTP Header Test Vectors");
  std::vector<HeaderVector> out;
  HeaderVector cur;
  std::string* last = nullptr;
  bool in_header = false;
  size_t pos = text.find("~~~", start) + 4;
  const size_t end = text.find("~~~", pos);
  while (pos < end) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      if (in_header) {
        out.push_back(cur);
        cur = HeaderVector();
        in_header = false;
      }
      last = nullptr;
      continue;
    }
    if (line.rfind("WWW-Authenticate: ", 0) == 0) {
      cur.header = line.substr(18);
      in_header = true;
      continue;
    }
    if (in_header) {
      cur.header += line;
      continue;
    }
    const size_t colon = line.find(": ");
    if (colon != std::string::npos && (line.find("token-") == 0 || line.find("max-age") == 0)) {
      cur.fields.emplace_back(line.substr(0, colon), line.substr(colon + 2));
      last = &cur.fields.back().second;
    } else if (last != nullptr) {
      *last += line;
    }
  }
  if (in_header) out.push_back(cur);
  return out;
}

std::string Field(const HeaderVector& v, const std::string& name) {
  for (const auto& [k, val] : v.fields) {
    if (k == name) return val;
  }
  ADD_FAILURE() << "missing " << name;
  return "";
}

TEST(AuthSchemeTest, ParsesRfc9577HeaderVectors) {
  const auto vectors = HeaderVectors();
  ASSERT_EQ(vectors.size(), 3u);
  for (const HeaderVector& v : vectors) {
    SCOPED_TRACE(v.header.substr(0, 60));
    auto parsed = ParseWwwAuthenticate(v.header);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    size_t expected = 0;
    for (const auto& [k, val] : v.fields) expected += k.rfind("token-type-", 0) == 0 ? 1 : 0;
    ASSERT_EQ(parsed->size(), expected);
    for (size_t i = 0; i < parsed->size(); ++i) {
      const std::string n = std::to_string(i);
      const PrivateTokenChallenge& c = (*parsed)[i];
      EXPECT_EQ(c.challenge, Hex(Field(v, "token-challenge-" + n)));
      EXPECT_EQ(c.token_key, Hex(Field(v, "token-key-" + n)));
      const std::string type = Field(v, "token-type-" + n);
      EXPECT_EQ(c.token_type, std::stoul(type, nullptr, 16));
      bool has_age = false;
      for (const auto& [k, val] : v.fields) has_age |= k == "max-age-" + n;
      if (has_age) {
        ASSERT_TRUE(c.max_age.has_value());
        EXPECT_EQ(*c.max_age, std::stoul(Field(v, "max-age-" + n)));
      } else {
        EXPECT_FALSE(c.max_age.has_value());
      }
    }
    // What we format parses back to the same challenges.
    auto again = ParseWwwAuthenticate(FormatWwwAuthenticate(*parsed));
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->size(), parsed->size());
    EXPECT_EQ((*again)[0].challenge, (*parsed)[0].challenge);
  }
}

TEST(AuthSchemeTest, AuthorizationRoundTripsAndRefusesOtherSchemes) {
  const Bytes token(354, 0xab);
  const std::string header = FormatAuthorization(token);
  auto parsed = ParseAuthorization(header);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, token);
  // Case-insensitive scheme and parameter names, unpadded value, unknown parameter ignored.
  parsed = ParseAuthorization("privatetoken TOKEN=" + Base64UrlEncode(token, false) + ", x=1");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, token);

  auto r = ParseAuthorization("Bearer abcdef");
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  r = ParseAuthorization("PrivateToken foo=\"bar\"");
  EXPECT_EQ(r.error().message(), "auth: PrivateToken token parameter missing");
  r = ParseAuthorization("PrivateToken token=\"AAAA\", token=\"AAAA\"");
  EXPECT_EQ(r.error().message(), "auth: parameter token repeated");
  r = ParseAuthorization("PrivateToken token=\"AA+A\"");
  EXPECT_EQ(r.error().message(), "auth: PrivateToken token is not base64url");
  r = ParseAuthorization("PrivateToken token=\"AAAA");
  EXPECT_EQ(r.error().message(), "auth: unterminated quoted-string");
  r = ParseAuthorization("PrivateToken token=AAAA, PrivateToken token=AAAA");
  EXPECT_EQ(r.error().message(), "auth: Authorization carries 2 credentials, expected 1");
  r = ParseAuthorization("PrivateToken token=\"AA\x01\"");
  EXPECT_EQ(r.error().message(), "auth: control character in quoted-string");
  r = ParseAuthorization("PrivateToken token=AAAA==");
  EXPECT_EQ(r.error().code(), ErrorCode::kMalformed);  // '=' padding must be quoted
  r = ParseAuthorization("PrivateToken " + std::string(kMaxAuthHeaderLength, 'a'));
  EXPECT_EQ(r.error().code(), ErrorCode::kOutOfRange);
}

TEST(AuthSchemeTest, WwwAuthenticateRefusesIncompleteChallenges) {
  auto r = ParseWwwAuthenticate("PrivateToken token-key=\"AAAA\"");
  EXPECT_EQ(r.error().message(), "auth: PrivateToken challenge parameter missing");
  r = ParseWwwAuthenticate("PrivateToken challenge=\"AAIA\", token-key=\"AAAA\", max-age=-1");
  EXPECT_EQ(r.error().message(), "auth: PrivateToken max-age is not a decimal number below 2^32");
  r = ParseWwwAuthenticate("PrivateToken challenge=\"AAIA\" token-key=\"AAAA\"");
  EXPECT_EQ(r.error().message(), "auth: expected ',' after parameter challenge");
  // Other schemes alone: no PrivateToken challenge, not an error.
  auto none = ParseWwwAuthenticate("Basic realm=\"x\", Bearer");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(Base64UrlTest, DecodesPaddedAndUnpaddedAndRefusesNonCanonical) {
  EXPECT_EQ(*Base64UrlDecode("-_8"), (Bytes{0xfb, 0xff}));
  EXPECT_EQ(*Base64UrlDecode("-_8="), (Bytes{0xfb, 0xff}));
  EXPECT_EQ(Base64UrlEncode(Bytes{0xfb, 0xff}), "-_8=");
  EXPECT_EQ(Base64UrlDecode("-_9=").error().message(), "base64url: non-canonical final character");
  EXPECT_EQ(Base64UrlDecode("-_8==").error().message(), "base64url: misplaced or excess '=' padding");
  EXPECT_EQ(Base64UrlDecode("+/8=").error().message(), "base64url: invalid character at offset 0");
}

TEST(IssuerDirectoryTest, RoundTripsAndIgnoresUnknownMembers) {
  IssuerDirectory dir;
  dir.issuer_request_uri = "https://issuer.example/token-request";
  dir.token_keys.push_back({2, Bytes{1, 2, 3}, 1700000000, std::nullopt});
  dir.token_keys.push_back({1, Bytes{4}, std::nullopt, std::nullopt});
  dir.token_challenge = Bytes{0, 2, 0, 1, 'x', 0, 0, 0};
  auto parsed = IssuerDirectory::Parse(dir.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->issuer_request_uri, dir.issuer_request_uri);
  ASSERT_EQ(parsed->token_keys.size(), 2u);
  EXPECT_EQ(parsed->token_keys[0].token_key, (Bytes{1, 2, 3}));
  EXPECT_EQ(*parsed->token_keys[0].not_before, 1700000000);
  EXPECT_FALSE(parsed->token_keys[1].not_before.has_value());
  EXPECT_EQ(parsed->token_challenge, dir.token_challenge);

  // RFC 9578 §4's example shape, with an unknown member.
  auto rfc = IssuerDirectory::Parse(
      R"({"issuer-request-uri":"https://issuer.example.net/request","token-keys":[)"
      R"({"token-type":2,"token-key":"MI...AB","not-before":1686913811}],"x":[1,2]})");
  EXPECT_EQ(rfc.error().message(), "directory: token-key is not base64url");
  rfc = IssuerDirectory::Parse(
      R"({"issuer-request-uri":"https://issuer.example.net/request","token-keys":[)"
      R"({"token-type":2,"token-key":"MIAB","not-before":1686913811}],"x":[1,2]})");
  ASSERT_TRUE(rfc.ok()) << rfc.error().ToString();
}

TEST(IssuerDirectoryTest, RefusesWrongTypesAndLimits) {
  EXPECT_EQ(IssuerDirectory::Parse("[]").error().message(), "directory: top level is not an object");
  EXPECT_EQ(IssuerDirectory::Parse("{").error().message(), "directory: not valid JSON");
  EXPECT_EQ(IssuerDirectory::Parse(R"({"issuer-request-uri":"u","token-keys":[{"token-type":70000,"token-key":"AA"}]})")
                .error().message(),
            "directory: token-type is not in [0, 65535]");
  EXPECT_EQ(IssuerDirectory::Parse(R"({"issuer-request-uri":"u","token-keys":[{"token-type":2,"token-key":"AA","not-before":-5}]})")
                .error().message(),
            "directory: not-before is not a non-negative integer");
  EXPECT_EQ(IssuerDirectory::Parse(R"({"token-keys":[]})").error().message(),
            "directory: issuer-request-uri is not a non-empty string");
  std::string many = R"({"issuer-request-uri":"u","token-keys":[)";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + R"({"token-type":2,"token-key":"AA"})";
  many += "]}";
  EXPECT_EQ(IssuerDirectory::Parse(many).error().code(), ErrorCode::kOutOfRange);
  std::string deep = R"({"issuer-request-uri":"u","token-keys":[],"x":)" + std::string(20, '[') +
                     std::string(20, ']') + "}";
  EXPECT_EQ(IssuerDirectory::Parse(deep).error().message(), "directory: not valid JSON");
}

}  // namespace
}  // namespace openpcc::tokens
