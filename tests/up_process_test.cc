// The whole confidential path as a user meets it: `openpcc up` (log, three witnesses, a logged
// release, issuer, gateway, three sim nodes with the llama engine, relay, proxy — every one a real
// process on 127.0.0.1), then OpenAI-style requests to the proxy, whole and streamed (curl-like
// raw HTTP and the official `openai` npm SDK), and `openpcc chat`. Each answer must come with the
// node's verification, and no prompt may reach any file the stack wrote. Interactive `openpcc chat`
// reads prompts from stdin until EOF or /exit. Ctrl-C (SIGINT) stops everything cleanly. Then the
// same with `--platform tpm`: three swtpm-backed nodes whose AKs the run's operator CA certified,
// answering through the proxy with platform tpm in the verification headers, and no swtpm left
// running after Ctrl-C.
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
#include "support/service_process.h"
#include "support/swtpm.h"

namespace openpcc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class UpProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("up-process-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  // `openpcc up` on ephemeral ports with `extra` arguments; returns once the proxy listens.
  void StartUp(const std::vector<std::string>& extra) {
    SubprocessOptions options;
    options.argv = {testing::OpenpccBinary(), "up", "--dir", dir_.string(), "--ephemeral-ports", "--nodes", "3"};
    options.argv.insert(options.argv.end(), extra.begin(), extra.end());
    options.log_path = (dir_ / "up.log").string();
    auto started = Subprocess::Start(options);
    ASSERT_TRUE(started.ok()) << started.error().message();
    up_ = std::make_unique<Subprocess>(std::move(started).value());
    auto proxy = WaitForFile((dir_ / "run" / "proxy.ready").string(), 240s, up_.get());
    ASSERT_TRUE(proxy.ok()) << proxy.error().message() << "\n" << testing::ReadText(dir_ / "up.log");
    proxy_ = "http://" + *proxy;
    http_ = std::move(net::BlockingClient::Create({})).value();
  }
  void TearDown() override {
    if (up_) up_->Stop(30s);
    if (std::getenv("OPENPCC_KEEP_TEST_DIR") == nullptr) fs::remove_all(dir_);
  }

  net::ClientRequest Post(const std::string& path) {
    return net::ClientRequest("POST", proxy_ + path, {{"Content-Type", "application/json"}});
  }
  // POSTs a whole chat completion until the first directory and tokens are there (the first
  // directory appears once every node registered, the wallet's first batch a little later; until
  // then the proxy answers 502 or 503 and says why).
  net::ClientResponse FirstAnswer(const std::string& prompt) {
    Result<net::ClientResponse> whole = Error(ErrorCode::kFailedPrecondition, "not tried");
    const auto deadline = std::chrono::steady_clock::now() + 180s;
    while (std::chrono::steady_clock::now() < deadline) {
      whole = http_->Fetch(Post("/v1/chat/completions"), ChatBody(prompt, false), 1 << 20);
      if (whole.ok() && whole->status == 200) break;
      std::this_thread::sleep_for(1s);
    }
    EXPECT_TRUE(whole.ok()) << whole.error().message();
    return whole.ok() ? *whole : net::ClientResponse{};
  }
  // Ctrl-C: `up` stops every child and exits 0.
  void Interrupt() {
    ASSERT_EQ(up_->WaitFor(0ms), std::nullopt) << "up exited early";
    up_->Signal(SIGINT);
    EXPECT_EQ(up_->WaitFor(60s), std::optional<int>(0)) << testing::ReadText(dir_ / "up.log");
    up_.reset();
  }
  static size_t Count(const std::string& text, std::string_view what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
  }
  static std::string ChatBody(const std::string& prompt, bool stream) {
    boost::json::object body{{"model", "tiny"}, {"max_tokens", 8}, {"temperature", 0}, {"stream", stream},
                             {"messages", boost::json::array{boost::json::object{{"role", "user"}, {"content", prompt}}}}};
    return boost::json::serialize(body);
  }

  fs::path dir_;
  std::unique_ptr<Subprocess> up_;
  std::string proxy_;
  std::unique_ptr<net::BlockingClient> http_;
};

TEST_F(UpProcessTest, AnswersThroughTheWholeConfidentialPathAndForgetsThePrompt) {
  ASSERT_NO_FATAL_FAILURE(StartUp({}));
  const std::string canary = "Canary" + HexEncode(crypto::RandomSecret(12).view());

  const net::ClientResponse whole = FirstAnswer("Please remember " + canary);
  ASSERT_EQ(whole.status, 200u) << whole.body << "\n" << testing::ReadText(dir_ / "up.log");
  const boost::json::value answer = boost::json::parse(whole.body);
  EXPECT_TRUE(answer.at("choices").at(0).at("message").at("content").is_string());
  EXPECT_EQ(whole.header("OpenPCC-Node-Platform").value_or(""), "sim (simulated)");
  EXPECT_FALSE(whole.header("OpenPCC-Node-Release").value_or("").empty());
  EXPECT_FALSE(whole.header("OpenPCC-Node-Measurement").value_or("").empty());

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

  // Interactive: a prompt per stdin line, each answer streamed and authenticated; /exit ends the
  // conversation (status 0) and the line after it is never sent; so does EOF.
  const std::vector<std::string> interactive = {"chat", "--client-config",
                                                (dir_ / "run" / "client" / "client.json").string(), "--verbose",
                                                "--max-tokens", "4"};
  auto conversation = testing::RunCliWithInput(interactive, "Hello " + canary + "\nAnd again\n/exit\nnot sent\n");
  EXPECT_EQ(conversation.exit_code, 0) << conversation.err;
  EXPECT_EQ(Count(conversation.err, "answer authenticated to its final chunk"), 2u) << conversation.err;
  EXPECT_EQ(Count(conversation.err, "answering node "), 2u) << conversation.err;
  auto until_eof = testing::RunCliWithInput(interactive, "Once more " + canary + "\n");
  EXPECT_EQ(until_eof.exit_code, 0) << until_eof.err;
  EXPECT_EQ(Count(until_eof.err, "answer authenticated to its final chunk"), 1u) << until_eof.err;

  // Nothing the stack wrote holds the prompt: logs, databases, the log's tiles, the wallet.
  ASSERT_NO_FATAL_FAILURE(Interrupt());
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "run")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(testing::ReadText(entry.path()).find(canary), std::string::npos) << entry.path();
  }
  EXPECT_GT(files, 20u) << "the stack wrote its logs and state under run/";
}

// The same stack on software TPMs: one swtpm per node, each AK certified by the operator CA `up`
// made, the release stating the fresh TPMs' PCRs, the client's policy accepting tpm with that CA.
TEST_F(UpProcessTest, TpmNodesAnswerThroughTheProxyAndTheirSwtpmsStopWithUp) {
  if (!testing::Swtpm::Available()) GTEST_SKIP() << "swtpm / swtpm_setup not installed (Debian: swtpm swtpm-tools)";
  ASSERT_NO_FATAL_FAILURE(StartUp({"--platform", "tpm"}));
  const std::string up_log = testing::ReadText(dir_ / "up.log");
  EXPECT_EQ(Count(up_log, "AK certified by the run's operator CA"), 3u) << up_log;

  const net::ClientResponse whole = FirstAnswer("Hello TPM");
  ASSERT_EQ(whole.status, 200u) << whole.body << "\n" << testing::ReadText(dir_ / "up.log");
  EXPECT_TRUE(boost::json::parse(whole.body).at("choices").at(0).at("message").at("content").is_string());
  EXPECT_EQ(whole.header("OpenPCC-Node-Platform").value_or(""), "tpm");
  EXPECT_FALSE(whole.header("OpenPCC-Node-Release").value_or("").empty());
  auto verification = http_->Fetch(net::ClientRequest("GET", proxy_ + "/v1/openpcc/verification"), "", 1 << 16);
  ASSERT_TRUE(verification.ok());
  EXPECT_NE(verification->body.find("\"platform\":\"tpm\""), std::string::npos) << verification->body;
  EXPECT_NE(verification->body.find("\"simulated\":false"), std::string::npos) << verification->body;

  // The policy `up` wrote accepts tpm only, with the run's operator CA as the AK root.
  const boost::json::value policy = boost::json::parse(testing::ReadText(dir_ / "run" / "policy.json"));
  EXPECT_EQ(boost::json::serialize(policy.at("platforms")), R"(["tpm"])");
  EXPECT_EQ(policy.at("roots").at("tpm_ak").at(0).as_string(), (dir_ / "run" / "operator-ca.der").string());

  auto chat = testing::RunCli({"chat", "--client-config", (dir_ / "run" / "client" / "client.json").string(),
                               "--verbose", "--max-tokens", "4", "Hello"});
  EXPECT_EQ(chat.exit_code, 0) << chat.err;
  // Every listed node verified as tpm ("ok bundle: node ID: tpm, release ..."), and the answering one.
  EXPECT_EQ(Count(chat.err, "ok bundle: node "), 3u) << chat.err;
  EXPECT_EQ(Count(chat.err, ": tpm, release "), 4u) << "three bundles and the answering node\n" << chat.err;

  // Ctrl-C stops the swtpms with everything else.
  ASSERT_NO_FATAL_FAILURE(Interrupt());
  size_t swtpms = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string cmdline = testing::ReadText(entry.path() / "cmdline");
    if (cmdline.find("swtpm") != std::string::npos && cmdline.find(dir_.string()) != std::string::npos) ++swtpms;
  }
  EXPECT_EQ(swtpms, 0u) << "a swtpm of this run outlived up";
}

TEST(UpCommandTest, RefusesAPlatformOtherThanSimOrTpmAndDocumentsBoth) {
  const testing::CliResult refused = testing::RunCli({"up", "--platform", "sev-snp", "--ephemeral-ports"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("--platform: expected sim or tpm, got 'sev-snp'"), std::string::npos) << refused.err;
  const testing::CliResult short_epochs =
      testing::RunCli({"up", "--platform", "tpm", "--epoch-seconds", "600", "--ephemeral-ports"});
  EXPECT_EQ(short_epochs.exit_code, 2) << short_epochs.err;
  EXPECT_NE(short_epochs.err.find("--epoch-seconds of at least 900"), std::string::npos) << short_epochs.err;
  const testing::CliResult help = testing::RunCli({"up", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE((help.out + help.err).find("--platform"), std::string::npos);
  EXPECT_NE((help.out + help.err).find("swtpm"), std::string::npos);
}

}  // namespace
}  // namespace openpcc
