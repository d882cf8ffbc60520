// The whole confidential path as a user meets it: `openpcc up` (log, three witnesses, a logged
// release, issuer, gateway, three sim nodes with the llama engine, relay, proxy — every one a real
// process on 127.0.0.1), then OpenAI-style requests to the proxy, whole and streamed (curl-like
// raw HTTP and the official `openai` npm SDK), and `openpcc chat`. Each answer must come with the
// node's verification, and no prompt may reach any file the stack wrote. Ctrl-C (SIGINT) stops
// everything cleanly.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/crypto/random.h"
#include "openpcc/net/client.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/subprocess.h"
#include "support/cli.h"
#include "support/node.h"
#include "support/up_stack.h"

namespace openpcc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) text.append(buffer, static_cast<size_t>(in.gcount()));
  return text;
}

class UpProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::UpStack::Start("up-process-test", {"--nodes", "3"});
    ASSERT_TRUE(started.ok()) << started.error().message();
    stack_ = std::move(started).value();
    dir_ = stack_->dir();
    proxy_ = stack_->proxy_url();
    http_ = std::move(net::BlockingClient::Create({})).value();
  }
  void TearDown() override { stack_.reset(); }

  net::ClientRequest Post(const std::string& path) {
    return net::ClientRequest("POST", proxy_ + path, {{"Content-Type", "application/json"}});
  }
  static std::string ChatBody(const std::string& prompt, bool stream) {
    boost::json::object body{{"model", "tiny"}, {"max_tokens", 8}, {"temperature", 0}, {"stream", stream},
                             {"messages", boost::json::array{boost::json::object{{"role", "user"}, {"content", prompt}}}}};
    return boost::json::serialize(body);
  }

  std::unique_ptr<testing::UpStack> stack_;
  fs::path dir_;
  std::string proxy_;
  std::unique_ptr<net::BlockingClient> http_;
};

TEST_F(UpProcessTest, AnswersThroughTheWholeConfidentialPathAndForgetsThePrompt) {
  const std::string canary = "Canary" + HexEncode(crypto::RandomSecret(12).view());

  // The first directory appears ~20 s after the gateway started, and the wallet's first batch of
  // tokens a little later: until then the proxy answers 502 or 503 (and says why).
  Result<net::ClientResponse> whole = stack_->WaitUntilAnswering(*http_, ChatBody("Please remember " + canary, false));
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  ASSERT_EQ(whole->status, 200u) << whole->body << "\n" << ReadAll(dir_ / "up.log");
  const boost::json::value answer = boost::json::parse(whole->body);
  EXPECT_TRUE(answer.at("choices").at(0).at("message").at("content").is_string());
  EXPECT_EQ(whole->header("OpenPCC-Node-Platform").value_or(""), "sim (simulated)");
  EXPECT_FALSE(whole->header("OpenPCC-Node-Release").value_or("").empty());
  EXPECT_FALSE(whole->header("OpenPCC-Node-Measurement").value_or("").empty());

  // Streamed: token by token, [DONE] last.
  std::vector<std::string> pieces;
  auto head = http_->FetchStreaming(Post("/v1/chat/completions"), ChatBody("Stream " + canary, true),
                                    [&](std::string_view piece) {
                                      pieces.emplace_back(piece);
                                      return OkStatus();
                                    });
  ASSERT_TRUE(head.ok()) << head.error().message();
  ASSERT_EQ(head->status, 200u);
  EXPECT_EQ(head->header("Content-Type").value_or(""), "text/event-stream");
  std::string stream;
  for (const auto& p : pieces) stream += p;
  EXPECT_GT(pieces.size(), 2u) << "the answer arrived in one piece";
  EXPECT_TRUE(stream.ends_with("data: [DONE]\n\n")) << stream;

  auto verification = http_->Fetch(net::ClientRequest("GET", proxy_ + "/v1/openpcc/verification"), "", 1 << 16);
  ASSERT_TRUE(verification.ok());
  EXPECT_EQ(verification->status, 200u);
  EXPECT_NE(verification->body.find("\"simulated\":true"), std::string::npos) << verification->body;

  // An unmodified application: the official OpenAI SDK with only its base URL changed.
  const boost::json::value sdk = testing::RunNodePeer(
      "openai_client.mjs", boost::json::object{{"base_url", proxy_ + "/v1"}, {"model", "tiny"},
                                               {"prompt", "SDK " + canary}, {"max_tokens", 6}});
  ASSERT_TRUE(sdk.is_object());
  EXPECT_EQ(sdk.at("models").at(0).as_string(), "tiny");
  EXPECT_TRUE(sdk.at("whole").at("content").is_string());
  EXPECT_GT(sdk.at("stream").at("chunks").as_int64(), 2);
  EXPECT_FALSE(sdk.at("stream").at("finish_reason").is_null());

  // openpcc chat, a second client beside the proxy.
  auto chat = testing::RunCli({"chat", "--client-config", (dir_ / "run" / "client" / "client.json").string(),
                               "--max-tokens", "4", "Hello " + canary});
  EXPECT_EQ(chat.exit_code, 0) << chat.err;

  // Nothing the stack wrote holds the prompt: logs, databases, the log's tiles, the wallet.
  ASSERT_EQ(stack_->process().WaitFor(0ms), std::nullopt) << "up exited early";
  stack_->process().Signal(SIGINT);
  EXPECT_EQ(stack_->process().WaitFor(60s), std::optional<int>(0)) << stack_->Log();
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "run")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(ReadAll(entry.path()).find(canary), std::string::npos) << entry.path();
  }
  EXPECT_GT(files, 20u) << "the stack wrote its logs and state under run/";
}

}  // namespace
}  // namespace openpcc
