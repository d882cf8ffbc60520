// The real `openpcc node` process with the llama engine on a tiny model: sealed, streamed inference
// over loopback HTTP; registration with a (fake) gateway operator listener; SIGTERM finishing the
// streams in flight; and statelessness — a canary sent through the node appears in no log line and
// no file the node wrote, in plain, JSON-escaped or base64 form, and no core file appears.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"
#include "openpcc/net/server.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/subprocess.h"
#include "support/cli.h"
#include "support/sealed_client.h"

namespace openpcc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---- The canary detector ----

std::string JsonEscaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The forms a secret can take in a log or file: as is, JSON-escaped, and base64/base64url at each
// of the three alignments it can have inside a longer encoded string (the edges, which depend on
// the neighbouring bytes, are cut off).
std::vector<std::string> Forms(std::string_view secret) {
  std::vector<std::string> forms = {std::string(secret), JsonEscaped(secret)};
  for (size_t shift = 0; shift < 3; ++shift) {
    std::string shifted(shift, '\0');
    shifted += secret;
    for (const std::string& encoded : {Base64Encode(AsBytes(shifted)), Base64UrlEncode(AsBytes(shifted))}) {
      forms.push_back(encoded.substr(4, encoded.size() - 8));
    }
  }
  return forms;
}

// Every place (file path or "log") where any form of `secret` occurs.
std::vector<std::string> FindSecret(std::string_view secret, const std::vector<fs::path>& files) {
  std::vector<std::string> found;
  const std::vector<std::string> forms = Forms(secret);
  for (const fs::path& f : files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec) || fs::file_size(f, ec) > (64u << 20)) continue;
    const std::string text = ReadAll(f);
    for (const std::string& form : forms) {
      if (text.find(form) != std::string::npos) {
        found.push_back(f.string());
        break;
      }
    }
  }
  return found;
}

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  return out;
}

// Files under /tmp modified since `since` (what the node may have created there).
std::vector<fs::path> NewTmpFiles(fs::file_time_type since, const fs::path& exclude) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator("/tmp", fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->path().string().starts_with(exclude.string())) continue;
    if (it->is_regular_file(ec) && it->last_write_time(ec) >= since) out.push_back(it->path());
  }
  return out;
}

// ---- A fake gateway operator listener ----

struct FakeGateway {
  std::mutex mu;
  std::vector<boost::json::value> registrations;
  std::vector<std::string> deletions;
  std::vector<std::string> authorizations;
  std::unique_ptr<net::Server> server;

  FakeGateway() {
    net::Router router;
    router.Handle("POST", "/v1/nodes/register", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      auto body = co_await req.ReadAll(1 << 20);
      {
        std::lock_guard lock(mu);
        authorizations.emplace_back(req.header("authorization").value_or(""));
        if (body.ok()) registrations.push_back(boost::json::parse(*body));
      }
      (void)co_await res.Send(200, "{}");
    });
    router.HandlePrefix("DELETE", "/v1/nodes/", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      {
        std::lock_guard lock(mu);
        deletions.emplace_back(req.path().substr(std::string_view("/v1/nodes/").size()));
      }
      (void)co_await res.Send(204, "");
    });
    auto started = net::Server::Start({}, std::move(router));
    EXPECT_TRUE(started.ok());
    server = std::move(started).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  size_t registration_count() {
    std::lock_guard lock(mu);
    return registrations.size();
  }
};

// A signed checkpoint note as the log publishes it (its content does not matter to the node).
constexpr std::string_view kCheckpoint =
    "example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 example.com/log abcd1234AAAA\n";

class NodeProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new fs::path(fs::temp_directory_path() / ("node-process-test-" + std::to_string(getpid())));
    fs::create_directories(*suite_dir_);
    const std::string model = (*suite_dir_ / "tiny.gguf").string();
    testing::CliResult made = testing::RunCli({"model", "make-tiny", model});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    testing::CliResult root = testing::RunCli({"node", "sim-root", "init", (*suite_dir_ / "sim-root").string()});
    ASSERT_EQ(root.exit_code, 0) << root.err;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*suite_dir_);
    delete suite_dir_;
  }

  void SetUp() override {
    started_at_ = fs::file_time_type::clock::now();
    dir_ = *suite_dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_ / "cwd");
    fs::create_directories(dir_ / "tmp");
    std::ofstream(dir_ / "credential") << "operator-credential-123\n";
    std::ofstream(dir_ / "checkpoint") << kCheckpoint;
    chmod((dir_ / "credential").c_str(), 0600);
    SubprocessOptions options;
    options.argv = {testing::OpenpccBinary(), "node", "--engine", "llama",
                    "--model", (*suite_dir_ / "tiny.gguf").string(), "--model-name", "tiny",
                    "--platform", "sim", "--sim-root-dir", (*suite_dir_ / "sim-root").string(),
                    "--listen", "127.0.0.1:0", "--ready-file", (dir_ / "ready").string(),
                    "--gateway", gateway_.url(), "--registration-credential", (dir_ / "credential").string(),
                    "--register-interval", "1s", "--max-tokens", "512", "--log-level", "debug",
                    "--shutdown-grace", "30s", "--checkpoint-file", (dir_ / "checkpoint").string()};
    options.log_path = (dir_ / "node.log").string();
    options.working_directory = (dir_ / "cwd").string();
    options.env = {"TMPDIR=" + (dir_ / "tmp").string()};
    auto node = Subprocess::Start(options);
    ASSERT_TRUE(node.ok()) << node.error().message();
    node_ = std::make_unique<Subprocess>(std::move(node).value());
    auto ready = WaitForFile((dir_ / "ready").string(), 60s, node_.get());
    ASSERT_TRUE(ready.ok()) << ready.error().message() << "\n" << ReadAll(dir_ / "node.log");
    url_ = "http://" + *ready;
    auto client = net::BlockingClient::Create({});
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
    // The node's key, from a fresh bundle over our nonce.
    Bytes nonce(32, 7);
    auto attested = client_->Fetch(net::ClientRequest("POST", url_ + "/v1/attest"),
                                   "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\"}", 1 << 20);
    ASSERT_TRUE(attested.ok());
    ASSERT_EQ(attested->status, 200u) << attested->body;
    auto config = testing::KeyConfigFromBundleJson(attested->body);
    ASSERT_TRUE(config.ok()) << config.error().message();
    config_ = *config;
  }
  void TearDown() override {
    if (node_) node_->Stop(10s);
  }

  testing::SealedReply Chat(const std::string& content, int max_tokens, bool stream = true,
                            std::function<void()> on_piece = {}) {
    boost::json::object body;
    body["model"] = "tiny";
    body["stream"] = stream;
    body["max_tokens"] = max_tokens;
    body["temperature"] = 0;
    body["messages"] = boost::json::array{boost::json::object{{"role", "user"}, {"content", content}}};
    auto sealed = testing::Seal({testing::CandidateFor(config_)}, {.body = boost::json::serialize(body), .date = ""});
    EXPECT_TRUE(sealed.ok());
    return testing::Send(*client_, url_ + "/v1/infer", std::move(sealed).value(), std::move(on_piece));
  }

  static inline fs::path* suite_dir_ = nullptr;
  fs::file_time_type started_at_;
  fs::path dir_;
  FakeGateway gateway_;
  std::unique_ptr<Subprocess> node_;
  std::unique_ptr<net::BlockingClient> client_;
  std::string url_;
  wire::KeyConfig config_;
};

TEST_F(NodeProcessTest, StreamsSealedTokensAsTheyAreGenerated) {
  testing::SealedReply reply = Chat("Write a long story.", 400);
  ASSERT_TRUE(reply.opened) << reply.error << reply.outer_body;
  EXPECT_EQ(reply.inner_status, 200u);
  EXPECT_NE(reply.inner_content.find("data: [DONE]"), std::string::npos);
  // Token chunks arrive spread over the generation, not all at its end.
  ASSERT_GT(reply.piece_times.size(), 20u);
  const auto first_token = reply.piece_times[1];
  const auto last = reply.piece_times.back();
  EXPECT_LT(first_token - reply.sent, (last - reply.sent) / 4)
      << "the first token arrived late relative to the whole generation";
  for (size_t size : reply.sealed_chunk_plaintext_sizes) EXPECT_EQ(size % 256, 0u);
}

TEST_F(NodeProcessTest, RegistersKeepsAliveAndDeregistersOnShutdown) {
  for (int i = 0; i < 100 && gateway_.registration_count() < 2; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_GE(gateway_.registration_count(), 2u) << "keep-alive re-registration every second";
  std::string node_id_hex;
  {
    std::lock_guard lock(gateway_.mu);
    const boost::json::object& r = gateway_.registrations.front().as_object();
    EXPECT_EQ(r.at("url").as_string(), url_);
    auto bundle = attest::BundleFromJson(r.at("bundle"));
    ASSERT_TRUE(bundle.ok()) << bundle.error().message();
    EXPECT_EQ(*wire::ParseKeyConfig(bundle->key_config), config_);
    EXPECT_EQ(bundle->claims.models.at(0).name, "tiny");
    // The claim is the SHA-256 of the GGUF file the node serves.
    std::ifstream gguf(*suite_dir_ / "tiny.gguf", std::ios::binary);
    const std::string weights((std::istreambuf_iterator<char>(gguf)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bundle->claims.models.at(0).sha256, HexEncode(crypto::Sha256(AsBytes(weights))));
    // Sim evidence from this deployment's root, binding key config, claims and freshness.
    auto root = attest::sim::SimRoot::Load(*suite_dir_ / "sim-root" / "sim-root.key",
                                           *suite_dir_ / "sim-root" / "sim-root.pem");
    ASSERT_TRUE(root.ok()) << root.error().message();
    const std::vector<crypto::Certificate> roots = {root->certificate()};
    auto sim = attest::sim::VerifySimEvidence(bundle->cpu_evidence.at("report"), bundle->cpu_evidence.at("vek"),
                                              roots, std::chrono::time_point_cast<std::chrono::seconds>(
                                                         std::chrono::system_clock::now()));
    ASSERT_TRUE(sim.ok()) << sim.error().message();
    attest::PlatformResult platform;
    platform.bound_value = Bytes(sim->report_data().begin(), sim->report_data().end());
    EXPECT_TRUE(attest::CheckBindingStep(*bundle, platform).ok());
    node_id_hex = HexEncode(bundle->node_id);
    EXPECT_EQ(bundle->freshness.binding.kind, attest::FreshnessKind::kLogCheckpoint);
    EXPECT_EQ(bundle->freshness.checkpoint, kCheckpoint);
    EXPECT_EQ(crypto::Sha256(AsBytes(kCheckpoint)),
              Bytes(bundle->freshness.binding.value.begin(), bundle->freshness.binding.value.end()));
    EXPECT_EQ(gateway_.authorizations.front(), "Bearer operator-credential-123");
  }
  EXPECT_EQ(node_->Stop(30s), 0);
  std::lock_guard lock(gateway_.mu);
  EXPECT_NE(std::find(gateway_.deletions.begin(), gateway_.deletions.end(), node_id_hex),
            gateway_.deletions.end());
  EXPECT_EQ(ReadAll(dir_ / "node.log").find("operator-credential-123"), std::string::npos);
}

TEST_F(NodeProcessTest, SigtermFinishesStreamsInFlight) {
  std::atomic<size_t> pieces{0};
  testing::SealedReply reply;
  std::thread request([&] { reply = Chat("Write a long story.", 500, true, [&] { ++pieces; }); });
  // Wait until tokens flow (the role piece and one token), then ask the node to stop.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (pieces.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_GE(pieces.load(), 2u) << "no tokens flowed";
  node_->Signal(SIGTERM);
  request.join();
  EXPECT_TRUE(reply.opened) << reply.error;
  EXPECT_NE(reply.inner_content.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(node_->Wait(), 0);
}

TEST_F(NodeProcessTest, NoPromptOrCompletionReachesALogOrAFile) {
  // A canary with a quote, so its JSON-escaped form differs from its plain form.
  const std::string canary = "Canary\"" + HexEncode(crypto::RandomSecret(12).view());
  // The detector finds the canary where it is planted, in each form.
  {
    const fs::path planted = dir_ / "planted";
    fs::create_directories(planted);
    std::ofstream(planted / "plain.log") << "ts=1 msg=x value=" << canary << "\n";
    std::ofstream(planted / "json.log") << "{\"v\":\"" << JsonEscaped(canary) << "\"}\n";
    std::ofstream(planted / "b64.log") << Base64Encode(AsBytes("xx" + canary + "yy")) << "\n";
    std::ofstream(planted / "b64url.log") << Base64UrlEncode(AsBytes("z" + canary)) << "\n";
    std::ofstream(planted / "clean.log") << "nothing here\n";
    EXPECT_EQ(FindSecret(canary, FilesUnder(planted)).size(), 4u);
    fs::remove_all(planted);
  }

  testing::SealedReply reply = Chat("Please remember " + canary + " and repeat it.", 64, false);
  ASSERT_TRUE(reply.opened) << reply.error;
  ASSERT_EQ(reply.inner_status, 200u);
  auto v = boost::json::parse(reply.inner_content);
  const std::string completion(v.at("choices").at(0).at("message").at("content").as_string());
  testing::SealedReply streamed = Chat("Stream this: " + canary, 64, true);
  ASSERT_TRUE(streamed.opened) << streamed.error;

  // What the process is like while running: core dumps off.
  const std::string limits = ReadAll("/proc/" + std::to_string(node_->pid()) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos) << limits;

  EXPECT_EQ(node_->Stop(30s), 0);
  std::vector<fs::path> files = FilesUnder(dir_);  // log, cwd, TMPDIR, ready file
  const std::vector<fs::path> tmp = NewTmpFiles(started_at_, *suite_dir_);
  files.insert(files.end(), tmp.begin(), tmp.end());
  EXPECT_TRUE(FindSecret(canary, files).empty()) << "the canary leaked into " << FindSecret(canary, files)[0];
  if (completion.size() >= 12) {
    EXPECT_TRUE(FindSecret(completion, files).empty()) << "the completion leaked";
  }
  EXPECT_TRUE(FilesUnder(dir_ / "cwd").empty()) << "the node wrote into its working directory";
  EXPECT_TRUE(FilesUnder(dir_ / "tmp").empty()) << "the node wrote into TMPDIR";
  // The log has request lines, just no content.
  EXPECT_NE(ReadAll(dir_ / "node.log").find("msg=infer"), std::string::npos);
}

TEST_F(NodeProcessTest, ACrashLeavesNoCoreFile) {
  testing::SealedReply reply = Chat("Crash after this.", 8);
  ASSERT_TRUE(reply.opened);
  node_->Signal(SIGSEGV);
  EXPECT_EQ(node_->Wait(), 128 + SIGSEGV);
  for (const fs::path& f : FilesUnder(dir_ / "cwd")) {
    EXPECT_EQ(f.filename().string().find("core"), std::string::npos) << f;
  }
  EXPECT_TRUE(FilesUnder(dir_ / "cwd").empty());
}

}  // namespace
}  // namespace openpcc
