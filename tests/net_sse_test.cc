// net/sse: the encoder writes what OpenAI streams; the decoder follows the WHATWG rules in every
// split of its input and enforces its limits.
#include "openpcc/net/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace openpcc::net {
namespace {

std::vector<SseEvent> DecodeAll(std::string_view input, size_t piece, Status* finish = nullptr) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  for (size_t i = 0; i < input.size(); i += piece) {
    Status s = decoder.Feed(input.substr(i, piece), events);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
  }
  Status f = decoder.Finish();
  if (finish) *finish = f;
  return events;
}

TEST(NetSse, EncodesOpenAiChunksAndDone) {
  EXPECT_EQ(EncodeSseData(R"({"choices":[{"delta":{"content":"Hi"}}]})"),
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
  EXPECT_EQ(EncodeSseData("a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(EncodeSseData(""), "data: \n\n");
  Result<std::string> error = EncodeSseEvent({"error", R"({"error":{"message":"truncated"}})", ""});
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(*error, "event: error\ndata: {\"error\":{\"message\":\"truncated\"}}\n\n");
}

TEST(NetSse, EncoderRefusesLineBreaksInFields) {
  Result<std::string> r = EncodeSseEvent({"error\ndata: injected", "x", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("event name contains CR, LF or NUL"), std::string::npos);
  r = EncodeSseEvent({"", "x", "1\r2"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("event id contains CR, LF or NUL"), std::string::npos);
}

TEST(NetSse, RoundTripsInEverySplit) {
  std::vector<SseEvent> sent = {{"", "{\"a\":1}", ""},
                                {"", "line one\nline two", ""},
                                {"error", "{\"error\":{}}", ""},
                                {"", "[DONE]", ""}};
  std::string stream;
  for (const auto& e : sent) stream += *EncodeSseEvent(e);
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    EXPECT_EQ(DecodeAll(stream, piece), sent) << "piece " << piece;
  }
}

TEST(NetSse, FollowsTheWhatwgParsingRules) {
  // CRLF, CR and LF line ends; comments; a field without a colon; no space after the colon; an
  // unknown field; ids persist; retry; a BOM at the start.
  std::string input =
      "\xEF\xBB\xBF: comment\r\n"
      "data:first\r"
      "data\n"
      "id: 7\n"
      "bogus: x\n"
      "retry: 1500\n"
      "\r\n"
      "event: update\n"
      "data: second\n"
      "\n"
      "event: empty\n"
      "\n";
  for (size_t piece = 1; piece <= input.size(); ++piece) {
    SseDecoder decoder;
    std::vector<SseEvent> events;
    for (size_t i = 0; i < input.size(); i += piece) {
      ASSERT_TRUE(decoder.Feed(std::string_view(input).substr(i, piece), events).ok());
    }
    ASSERT_TRUE(decoder.Finish().ok());
    ASSERT_EQ(events.size(), 2u) << "piece " << piece;
    EXPECT_EQ(events[0], (SseEvent{"", "first\n", "7"}));
    EXPECT_EQ(events[1], (SseEvent{"update", "second", "7"}));
    EXPECT_EQ(decoder.retry_ms(), 1500u);
  }
}

TEST(NetSse, FinishReportsAPartialEvent) {
  Status finish = OkStatus();
  std::vector<SseEvent> events = DecodeAll("data: a\n\ndata: cut", 3, &finish);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_FALSE(finish.ok());
  EXPECT_EQ(finish.error().code(), ErrorCode::kTruncated);
  EXPECT_NE(finish.error().message().find("stream ended inside an event"), std::string::npos);
  DecodeAll("data: a\n", 100, &finish);
  EXPECT_FALSE(finish.ok());
  DecodeAll("data: a\n\n: trailing comment\n", 100, &finish);
  EXPECT_TRUE(finish.ok());
}

TEST(NetSse, EnforcesTheLineLimitInAnySplit) {
  std::string input = "data: " + std::string(100, 'x');  // no line end yet
  for (size_t piece : {1, 7, 200}) {
    SseDecoder decoder(SseLimits{64, 1024});
    std::vector<SseEvent> events;
    Status status = OkStatus();
    for (size_t i = 0; i < input.size() && status.ok(); i += piece) {
      status = decoder.Feed(std::string_view(input).substr(i, piece), events);
    }
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange);
    EXPECT_NE(status.error().message().find("line is longer than the limit of 64 bytes"),
              std::string::npos);
    // Sticky.
    EXPECT_FALSE(decoder.Feed("\n\n", events).ok());
  }
}

TEST(NetSse, EnforcesTheEventLimit) {
  SseDecoder decoder(SseLimits{64, 100});
  std::vector<SseEvent> events;
  std::string line = "data: " + std::string(40, 'y') + "\n";
  ASSERT_TRUE(decoder.Feed(line + line, events).ok());  // 82 bytes with separators
  Status status = decoder.Feed(line, events);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("event data is larger than the limit of 100 bytes"),
            std::string::npos);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace openpcc::net
