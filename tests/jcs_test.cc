// wire/jcs.h: RFC 8785 canonical JSON — §3.2.2 strings and literals, §3.2.3 member sorting by
// UTF-16 code units, integers; non-integers refused with the reason; canonical-form check.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/wire/jcs.h"

namespace openpcc::wire {
namespace {

std::string Canon(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.error().ToString();
  auto c = Canonicalize(*v);
  EXPECT_TRUE(c.ok()) << c.error().ToString();
  return c.ok() ? *c : "";
}

TEST(JcsTest, CanonicalizesRfc8785StringsAndLiterals) {
  const std::string input = R"({
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  EXPECT_EQ(Canon(input), "{\"literals\":[null,true,false],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(JcsTest, SortsMembersByUtf16CodeUnits) {
  const std::string input = R"({
    "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  auto v = ParseJson(input);
  ASSERT_TRUE(v.ok());
  auto canonical = Canonicalize(*v);
  ASSERT_TRUE(canonical.ok());
  auto reparsed = boost::json::parse(*canonical).as_object();
  std::vector<std::string> order;
  for (const auto& m : reparsed) order.emplace_back(m.value().as_string());
  // RFC 8785 §3.2.3: the emoji (a surrogate pair, 0xD83D...) sorts before U+FB33.
  EXPECT_EQ(order, (std::vector<std::string>{"Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
                                             "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"}));
}

TEST(JcsTest, WritesIntegersAndRefusesOtherNumbers) {
  EXPECT_EQ(Canon(R"({"b":[0,-1,9007199254740991,-9007199254740991,1.0,-0.0,1e3],"a":{}})"),
            R"({"a":{},"b":[0,-1,9007199254740991,-9007199254740991,1,0,1000]})");
  for (const char* bad : {"[333333333.33333329]", "[1E30]", "[4.50]", "[9007199254740992]", "[18446744073709551615]"}) {
    auto v = ParseJson(bad);
    ASSERT_TRUE(v.ok()) << bad;
    auto c = Canonicalize(*v);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message().find("is not an integer in [-(2^53-1), 2^53-1]"), std::string::npos) << c.error().message();
  }
}

TEST(JcsTest, RefusesInvalidUtf8BuiltInCode) {
  boost::json::value v = boost::json::string("\xff");
  EXPECT_EQ(Canonicalize(v).error().message(), "jcs: string is not valid UTF-8 at byte 0");
}

TEST(JcsTest, ParseCanonicalJsonRefusesOtherSpellingsAndDuplicates) {
  EXPECT_TRUE(ParseCanonicalJson(R"({"a":1,"b":"x"})").ok());
  for (const char* bad : {R"({"b":"x","a":1})", R"({"a": 1})", R"({"a":1,"a":2})", R"({"a":"\u0041"})", R"({"a":1.0})"}) {
    auto v = ParseCanonicalJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_NE(v.error().message().find("canonical form"), std::string::npos) << v.error().message();
  }
}

TEST(JcsTest, ParseJsonEnforcesLimits) {
  JsonLimits limits;
  limits.max_bytes = 8;
  EXPECT_EQ(ParseJson("[1,2,3,4,5]", limits).error().message(), "json: text is 11 bytes, limit 8");
  limits.max_bytes = 1000;
  limits.max_depth = 3;
  EXPECT_FALSE(ParseJson("[[[[1]]]]", limits).ok());
  EXPECT_FALSE(ParseJson("[1,]").ok());
  EXPECT_FALSE(ParseJson("\"\xc0\xaf\"").ok());
}

}  // namespace
}  // namespace openpcc::wire
