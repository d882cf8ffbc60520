// The engine layer without llama.cpp: request validation and context planning, the UTF-8 and
// stop-sequence filters, and the bounded stream channel (backpressure, cancellation, wakes).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "openpcc/engine/engine.h"
#include "openpcc/engine/text_filter.h"
#include "openpcc/engine/token_stream.h"

namespace openpcc::engine {
namespace {

using crypto::SecretString;

std::string S(const SecretString& s) { return std::string(s.begin(), s.end()); }

EngineInfo Info() {
  EngineInfo info;
  info.name = "test";
  info.model = "tiny";
  info.limits = {.max_tokens_cap = 100, .context_tokens = 1000};
  return info;
}

GenerationRequest Chat() {
  GenerationRequest r;
  r.messages.push_back({"user", SecretString("hello")});
  return r;
}

void ExpectInvalid(const GenerationRequest& r, std::string_view needle) {
  const Status s = ValidateRequest(r, Info());
  ASSERT_FALSE(s.ok()) << "expected an error containing: " << needle;
  EXPECT_NE(s.error().message().find(needle), std::string::npos) << s.error().message();
}

// ---- validation ----

TEST(ValidateRequestTest, AcceptsPlainChatAndCompletion) {
  EXPECT_TRUE(ValidateRequest(Chat(), Info()).ok());
  GenerationRequest c;
  c.kind = RequestKind::kCompletion;
  c.prompt = "Once upon";
  c.model = "tiny";
  c.stop = {SecretString("\n\n")};
  c.sampling = {.temperature = 0.0f, .top_p = 0.5f, .top_k = 40, .seed = 7};
  EXPECT_TRUE(ValidateRequest(c, Info()).ok());
}

TEST(ValidateRequestTest, RefusesOutOfRangeSampling) {
  auto r = Chat();
  r.sampling.temperature = 2.5f;
  ExpectInvalid(r, "temperature must be in [0, 2]");
  r = Chat();
  r.sampling.temperature = -0.1f;
  ExpectInvalid(r, "temperature must be in [0, 2]");
  r = Chat();
  r.sampling.top_p = 0.0f;
  ExpectInvalid(r, "top_p must be in (0, 1]");
  r = Chat();
  r.sampling.top_k = -1;
  ExpectInvalid(r, "top_k must be >= 0");
  r = Chat();
  r.max_tokens = 0;
  ExpectInvalid(r, "max_tokens must be >= 1");
}

TEST(ValidateRequestTest, RefusesBadStopSequences) {
  auto r = Chat();
  r.stop = {SecretString("a"), SecretString("b"), SecretString("c"), SecretString("d"), SecretString("e")};
  ExpectInvalid(r, "stop has 5 sequences; at most 4");
  r.stop = {SecretString("a"), SecretString("")};
  ExpectInvalid(r, "stop[1] is empty");
  r.stop = {SecretString(300, 'x')};
  ExpectInvalid(r, "stop[0] is 300 bytes; at most 256");
  r.stop = {SecretString("\xC3")};
  ExpectInvalid(r, "stop[0] is not valid UTF-8");
}

TEST(ValidateRequestTest, RefusesBadMessagesWithoutEchoingThem) {
  auto r = Chat();
  r.messages[0].role = "wizard";
  ExpectInvalid(r, "messages[0].role must be system, user or assistant");
  r = Chat();
  r.messages.push_back({"user", SecretString("secret\0canary", 13)});
  ExpectInvalid(r, "messages[1].content contains a NUL byte");
  EXPECT_EQ(ValidateRequest(r, Info()).error().message().find("canary"), std::string::npos);
  r = Chat();
  r.messages.clear();
  ExpectInvalid(r, "messages is empty");
  r = Chat();
  r.model = "secret-model-name";
  const Status s = ValidateRequest(r, Info());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(s.error().message().find("secret-model-name"), std::string::npos);
  EXPECT_NE(s.error().message().find("serves 'tiny'"), std::string::npos);
}

TEST(PlanCompletionTokensTest, ClampsToCapAndContext) {
  const EngineLimits limits{.max_tokens_cap = 100, .context_tokens = 1000};
  EXPECT_EQ(*PlanCompletionTokens(10, std::nullopt, limits), 100u);
  EXPECT_EQ(*PlanCompletionTokens(10, 5000, limits), 100u);  // clamped to the cap
  EXPECT_EQ(*PlanCompletionTokens(10, 7, limits), 7u);
  EXPECT_EQ(*PlanCompletionTokens(950, std::nullopt, limits), 50u);  // what still fits
}

TEST(PlanCompletionTokensTest, ContextErrorsNameTheNumbers) {
  const EngineLimits limits{.max_tokens_cap = 100, .context_tokens = 1000};
  auto r = PlanCompletionTokens(1200, std::nullopt, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(r.error().message().find("the prompt is 1200 tokens but the context holds 1000 tokens"),
            std::string::npos)
      << r.error().message();
  r = PlanCompletionTokens(950, 80, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("prompt is 950 tokens and max_tokens asks for 80 more"),
            std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("at most 50 completion tokens fit"), std::string::npos);
}

// ---- UTF-8 ----

TEST(Utf8HolderTest, HoldsASplitCharacterUntilComplete) {
  Utf8Holder h;
  const std::string euro = "\xE2\x82\xAC";  // U+20AC, three bytes
  EXPECT_EQ(S(h.Push("a" + euro.substr(0, 1))), "a");
  EXPECT_EQ(h.held_bytes(), 1u);
  EXPECT_EQ(S(h.Push(euro.substr(1, 1))), "");
  EXPECT_EQ(S(h.Push(euro.substr(2) + "b")), euro + "b");
  EXPECT_EQ(h.held_bytes(), 0u);
  const std::string emoji = "\xF0\x9F\x98\x80";
  std::string out;
  for (char c : emoji) out += S(h.Push(std::string(1, c)));
  EXPECT_EQ(out, emoji);
}

TEST(Utf8HolderTest, ReplacesInvalidBytesAndFlushesIncompleteAsReplacement) {
  Utf8Holder h;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(S(h.Push("\x80x")), fffd + "x");               // lone continuation byte
  EXPECT_EQ(S(h.Push("\xC0\xAF")), fffd + fffd);           // overlong lead
  EXPECT_EQ(S(h.Push("\xED\xA0\x80")), fffd + fffd + fffd);  // surrogate: ED then two strays
  EXPECT_EQ(S(h.Push("\xE2\x82z")), fffd + "z");           // truncated by an ASCII byte
  EXPECT_EQ(S(h.Push("\xF0\x9F")), "");
  EXPECT_EQ(S(h.Flush()), fffd);
  EXPECT_EQ(h.held_bytes(), 0u);
  EXPECT_TRUE(IsValidUtf8("plain \xE2\x82\xAC"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

// ---- stop sequences ----

TEST(StopMatcherTest, StopsWithoutEmittingTheStopText) {
  StopMatcher m({SecretString("END")});
  auto out = m.Push("hello E");
  EXPECT_EQ(S(out.text), "hello ");  // "E" could start "END"
  EXPECT_FALSE(out.stopped);
  out = m.Push("N");
  EXPECT_EQ(S(out.text), "");
  out = m.Push("D and more");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(S(out.text), "");
  EXPECT_EQ(S(m.Push("x").text), "");
  EXPECT_EQ(S(m.Flush()), "");
}

TEST(StopMatcherTest, ReleasesHeldTextThatDidNotBecomeAStop) {
  StopMatcher m({SecretString("END")});
  EXPECT_EQ(S(m.Push("EN").text), "");
  EXPECT_EQ(S(m.Push("X").text), "ENX");
  EXPECT_EQ(S(m.Push("E").text), "");
  EXPECT_EQ(S(m.Flush()), "E");
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher m({SecretString("world"), SecretString("lo w")});
  const auto out = m.Push("hello world");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(S(out.text), "hel");
}

TEST(StopMatcherTest, OverlappingPrefixesAreHeldLongEnough) {
  StopMatcher m({SecretString("aab")});
  EXPECT_EQ(S(m.Push("a").text), "");
  EXPECT_EQ(S(m.Push("a").text), "");
  EXPECT_EQ(S(m.Push("a").text), "a");  // "aaa": only the last "aa" can still become "aab"
  const auto out = m.Push("b!");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(S(out.text), "");
}

TEST(StopMatcherTest, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(S(m.Push("abc").text), "abc");
  EXPECT_EQ(m.held_bytes(), 0u);
}

// ---- stream channel ----

TEST(StreamChannelTest, DeliversTextThenTheFinalEventRepeatedly) {
  auto channel = std::make_shared<StreamChannel>(1, 4);
  Stream stream(channel);
  channel->PushText(SecretString("a"));
  channel->PushText(SecretString(""));  // ignored
  channel->Finish({FinishReason::kLength, {3, 2}, std::nullopt});
  channel->PushText(SecretString("late"));  // ignored after the finish
  EXPECT_EQ(S(stream.Next().text), "a");
  const auto last = stream.Next();
  ASSERT_TRUE(last.finish);
  EXPECT_EQ(last.finish->reason, FinishReason::kLength);
  EXPECT_EQ(last.finish->usage.prompt_tokens, 3u);
  EXPECT_EQ(last.finish->usage.completion_tokens, 2u);
  EXPECT_TRUE(stream.Next().finish);
  EXPECT_TRUE(stream.TryNext()->finish);
  EXPECT_EQ(FinishReasonName(FinishReason::kCancelled), "cancelled");
}

TEST(StreamChannelTest, FullChannelPausesTheProducerUntilDrained) {
  auto channel = std::make_shared<StreamChannel>(7, 2);
  std::atomic<int> producer_wakes{0};
  channel->SetProducerWake([&] { ++producer_wakes; });
  Stream stream(channel);
  EXPECT_TRUE(channel->WantsMore());
  channel->PushText(SecretString("1"));
  channel->PushText(SecretString("2"));
  EXPECT_FALSE(channel->WantsMore());  // the engine skips this request while full
  EXPECT_EQ(producer_wakes.load(), 0);
  EXPECT_EQ(S(stream.TryNext()->text), "1");
  EXPECT_EQ(producer_wakes.load(), 1);  // room again: the engine is woken
  EXPECT_TRUE(channel->WantsMore());
  EXPECT_EQ(S(stream.TryNext()->text), "2");
  EXPECT_EQ(producer_wakes.load(), 1);  // not full before this pop: no wake
  EXPECT_FALSE(stream.TryNext().has_value());
  EXPECT_FALSE(stream.NextFor(std::chrono::milliseconds(1)).has_value());
}

TEST(StreamChannelTest, DestroyingTheHandleCancelsAndWakesTheProducer) {
  auto channel = std::make_shared<StreamChannel>(2, 4);
  std::atomic<int> producer_wakes{0};
  channel->SetProducerWake([&] { ++producer_wakes; });
  {
    Stream stream(channel);
    EXPECT_FALSE(channel->cancelled());
  }
  EXPECT_TRUE(channel->cancelled());
  EXPECT_FALSE(channel->WantsMore());
  EXPECT_EQ(producer_wakes.load(), 1);
}

TEST(StreamChannelTest, ConsumerWakeRunsWhenEventsArrive) {
  auto channel = std::make_shared<StreamChannel>(3, 8);
  Stream stream(channel);
  std::atomic<int> wakes{0};
  channel->PushText(SecretString("early"));
  stream.SetWake([&] { ++wakes; });
  EXPECT_EQ(wakes.load(), 1);  // an event was already waiting
  channel->PushText(SecretString("more"));
  EXPECT_EQ(wakes.load(), 1);  // the channel was not empty: the consumer already knows
  stream.TryNext();
  stream.TryNext();
  channel->Finish({});
  EXPECT_EQ(wakes.load(), 2);
}

TEST(StreamChannelTest, BlockingConsumerOnAnotherThread) {
  auto channel = std::make_shared<StreamChannel>(4, 1);
  Stream stream(channel);
  std::thread producer([channel] {
    for (int i = 0; i < 100; ++i) {
      while (!channel->WantsMore()) std::this_thread::yield();
      channel->PushText(SecretString(1, static_cast<char>('a' + i % 26)));
    }
    channel->Finish({FinishReason::kStop, {1, 100}, std::nullopt});
  });
  std::string text;
  for (;;) {
    auto event = stream.Next();
    if (event.finish) break;
    text += S(event.text);
  }
  producer.join();
  EXPECT_EQ(text.size(), 100u);
}

}  // namespace
}  // namespace openpcc::engine
