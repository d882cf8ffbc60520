// engine/openai_api: OpenAI request JSON in, OpenAI response JSON and SSE out.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/engine/openai_api.h"

namespace openpcc::engine {
namespace {

namespace json = boost::json;

std::string Str(const crypto::SecretString& s) { return std::string(s.data(), s.size()); }

TEST(OpenAiApiTest, ParsesChatRequest) {
  ApiRequest r = ParseApiRequest(RequestKind::kChat, R"({
    "model": "tiny", "stream": true, "stream_options": {"include_usage": true},
    "temperature": 0, "top_p": 0.9, "top_k": 40, "seed": 7, "max_tokens": 16,
    "stop": ["\n\n", "END"], "user": "ignored", "n": 1,
    "messages": [{"role": "developer", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Hello "},
                                              {"type": "text", "text": "there"}]}]})")
                     .value();
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  const GenerationRequest& g = r.generation;
  EXPECT_EQ(g.model, "tiny");
  EXPECT_EQ(g.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(g.sampling.top_p, 0.9f);
  EXPECT_EQ(g.sampling.top_k, 40);
  EXPECT_EQ(g.sampling.seed, 7u);
  EXPECT_EQ(g.max_tokens, 16u);
  ASSERT_EQ(g.stop.size(), 2u);
  ASSERT_EQ(g.messages.size(), 2u);
  EXPECT_EQ(g.messages[0].role, "system");
  EXPECT_EQ(Str(g.messages[1].content), "Hello there");
}

TEST(OpenAiApiTest, ParsesCompletionRequest) {
  ApiRequest r =
      ParseApiRequest(RequestKind::kCompletion, R"({"model":"m","prompt":["Once"],"stop":"."})")
          .value();
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(Str(r.generation.prompt), "Once");
  EXPECT_EQ(r.generation.stop.size(), 1u);
}

TEST(OpenAiApiTest, RefusesByFieldWithoutQuotingContent) {
  struct Case {
    RequestKind kind;
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {RequestKind::kChat, "not json", "request: body is not valid JSON"},
      {RequestKind::kChat, "[]", "request: body: expected a JSON object"},
      {RequestKind::kChat, R"({"messages": []})", "request: messages: expected a non-empty array"},
      {RequestKind::kChat, R"({"messages": [{"role": "tool", "content": "secret"}]})",
       "request: messages[0].role: only system, developer, user and assistant"},
      {RequestKind::kChat, R"({"messages": [{"role": "user", "content": 5}]})",
       "request: messages[0].content: expected a string or an array of text parts"},
      {RequestKind::kChat, R"({"n": 2, "messages": [{"role": "user", "content": "x"}]})",
       "request: n: only one choice per request is supported"},
      {RequestKind::kChat, R"({"tools": [{}], "messages": [{"role": "user", "content": "x"}]})",
       "request: tools: not supported by this service"},
      {RequestKind::kChat, R"({"max_tokens": 0, "messages": [{"role": "user", "content": "x"}]})",
       "request: max_tokens: expected an integer >= 1"},
      {RequestKind::kChat, R"({"temperature": "hot", "messages": [{"role": "user", "content": "x"}]})",
       "request: temperature: expected a number"},
      {RequestKind::kCompletion, R"({"prompt": [1, 2]})",
       "request: prompt: expected a string (token arrays and batches are not supported)"},
  };
  for (const Case& c : cases) {
    Result<ApiRequest> r = ParseApiRequest(c.kind, c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().message(), c.message);
    EXPECT_EQ(r.error().message().find("secret"), std::string::npos);
  }
  EXPECT_EQ(ApiErrorStatus(ParseApiRequest(RequestKind::kChat, "x").error()), 400);
  std::string huge(kMaxApiRequestBytes + 1, ' ');
  EXPECT_EQ(ApiErrorStatus(ParseApiRequest(RequestKind::kChat, huge).error()), 413);
}

// Splits an SSE stream into its data payloads.
std::vector<std::string> DataLines(const std::string& stream) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t end = stream.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    std::string event = stream.substr(pos, end - pos);
    EXPECT_EQ(event.rfind("data: ", 0), 0u);
    out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

TEST(OpenAiApiTest, StreamsChatChunksAsOpenAiDoes) {
  ResponseFormatter f(RequestKind::kChat, "chatcmpl-1", "tiny", 1700000000, true);
  std::string stream = Str(f.Begin()) + Str(f.Delta("Hi \"there\"\n")) +
                       Str(f.End({FinishReason::kLength, {5, 3}, std::nullopt}));
  std::vector<std::string> data = DataLines(stream);
  ASSERT_EQ(data.size(), 5u);
  json::value first = json::parse(data[0]);
  EXPECT_EQ(first.at("object"), "chat.completion.chunk");
  EXPECT_EQ(first.at("choices").at(0).at("delta").at("role"), "assistant");
  json::value delta = json::parse(data[1]);
  EXPECT_EQ(delta.at("choices").at(0).at("delta").at("content"), "Hi \"there\"\n");
  EXPECT_TRUE(delta.at("choices").at(0).at("finish_reason").is_null());
  json::value last = json::parse(data[2]);
  EXPECT_EQ(last.at("choices").at(0).at("finish_reason"), "length");
  json::value usage = json::parse(data[3]);
  EXPECT_TRUE(usage.at("choices").as_array().empty());
  EXPECT_EQ(usage.at("usage").at("total_tokens"), 8);
  EXPECT_EQ(data[4], "[DONE]");
}

TEST(OpenAiApiTest, WholeResponsesParse) {
  ResponseFormatter chat(RequestKind::kChat, "chatcmpl-2", "tiny", 1, false);
  json::value c = json::parse(Str(chat.Whole("ok\u0001", {FinishReason::kStop, {2, 1}, std::nullopt})));
  EXPECT_EQ(c.at("object"), "chat.completion");
  EXPECT_EQ(c.at("choices").at(0).at("message").at("content"), "ok\u0001");
  EXPECT_EQ(c.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(c.at("usage").at("prompt_tokens"), 2);
  ResponseFormatter text(RequestKind::kCompletion, "cmpl-3", "tiny", 1, false);
  json::value t = json::parse(Str(text.Whole("abc", {FinishReason::kCancelled, {}, std::nullopt})));
  EXPECT_EQ(t.at("object"), "text_completion");
  EXPECT_EQ(t.at("choices").at(0).at("text"), "abc");
  EXPECT_TRUE(t.at("choices").at(0).at("finish_reason").is_null());
  json::value error = json::parse(ApiErrorJson("bad", "invalid_request_error", "messages"));
  EXPECT_EQ(error.at("error").at("param"), "messages");
  EXPECT_TRUE(error.at("error").at("code").is_null());
}

}  // namespace
}  // namespace openpcc::engine
