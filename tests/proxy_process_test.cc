// `openpcc proxy` as a real process, on the real path as far as this branch has it: the proxy
// binary → a real `openpcc relay` process → an in-process OHTTP gateway that also plays the nodes
// (sealed responses with wire/sealed.h; the real gateway is on another branch and is the
// integrator's end-to-end test), with tokens from a real `openpcc issuer` process. The directory is
// real (signed, logged, witnessed, sim bundles); the proxy runs with its TEST ONLY start time so
// that fixed test data is current. Checks: whole and streamed answers with the verification
// headers, [DONE] once at the authenticated end, `event: error` on a cut stream, the verification
// endpoint, /v1/models, and refusal of a non-loopback --listen.
#include <gtest/gtest.h>

#include <fstream>

#include "client_trust_test_util.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/net/client.h"
#include "openpcc/tlog/tiles.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/util/subprocess.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/sealed.h"
#include "support/cli.h"
#include "support/issuer_process.h"
#include "support/ohttp_gateway.h"
#include "support/relay_process.h"

namespace openpcc {
namespace {

using std::chrono::seconds;
using client::testing::Deployment;
using client::testing::TempDir;
using client::testing::TestTime;

void Write(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

wire::NodeKey MakeNodeKey() {
  crypto::SoftwareDhKey dh = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256).value();
  wire::KeyConfig config;
  config.key_id = 1;
  config.kem = crypto::KemId::kX25519HkdfSha256;
  config.public_key = ToBytes(dh.public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
  return wire::MakeNodeKey(config, std::make_shared<crypto::SoftwareDhKey>(std::move(dh))).value();
}

class ProxyProcessTest : public ::testing::Test {
 protected:
  ProxyProcessTest() {
    for (int i = 0; i < 3; ++i) nodes_.push_back(MakeNodeKey());
    std::vector<Bytes> configs;
    for (const auto& n : nodes_) configs.push_back(*wire::EncodeKeyConfig(n.config));
    deployment_ = std::make_unique<Deployment>(3, configs);
  }

  void SetUp() override {
    ASSERT_TRUE(issuer_.Start());
    const std::string api_key = issuer_.CreateAccountWithKey("proxy-test", 1000, 10000);
    // The directory lists the issuer's real token key.
    auto issuer_client = tokens::IssuerClient::Create(issuer_.url(), crypto::SecretString(api_key.begin(), api_key.end()));
    ASSERT_TRUE(issuer_client.ok());
    auto issuer_directory = (*issuer_client)->FetchDirectory();
    ASSERT_TRUE(issuer_directory.ok()) << issuer_directory.error().message();
    auto keys = tokens::VerificationKeysFromDirectory(*issuer_directory);
    ASSERT_TRUE(keys.ok() && !keys->empty());
    auto& d = deployment_->directory();
    d.token_keys = {{2, keys->front().key->SpkiRsaPss(), d.not_before - 10, d.not_after + 10}};
    d.ohttp_configs = {*wire::EncodeKeyConfig(gateway_.config())};
    d.k = 2;
    response_ = deployment_->Publish();

    relay_ = std::make_unique<testing::RelayProcess>(gateway_.url("/gateway"),
                                                     std::vector<std::string>{"--gateway-keys", gateway_.url("/ohttp-keys")});
    ASSERT_TRUE(relay_->Start());

    Write(dir_.path() / "policy.json", deployment_->PolicyText());
    Write(dir_.path() / "sim-root.pem", deployment_->root().CertificatePem());
    Write(dir_.path() / "api-key", api_key + "\n");
    boost::json::object config{{"relay_url", relay_->url() + "/"},
                               {"issuer_url", issuer_.url()},
                               {"api_key_file", "api-key"},
                               {"directory_key", HexEncode(deployment_->directory_key().public_key().bytes())},
                               {"bundle_policy", "policy.json"},
                               {"state_dir", "state"},
                               {"empty_refill_delay_seconds", 1}};
    Write(dir_.path() / "client.json", boost::json::serialize(config));
    StartProxy();
    http_ = std::move(net::BlockingClient::Create({})).value();
  }

  void StartProxy() {
    const std::string ready = (dir_.path() / "proxy.ready").string();
    SubprocessOptions options;
    options.argv = {testing::OpenpccBinary(), "proxy", "--listen", "127.0.0.1:0", "--ready-file", ready,
                    "--client-config", (dir_.path() / "client.json").string(), "--testing-start-time",
                    std::to_string(client::testing::UnixOf(TestTime() + seconds(60)))};
    options.log_path = (dir_.path() / "proxy.log").string();
    auto process = Subprocess::Start(options);
    ASSERT_TRUE(process.ok()) << process.error().message();
    proxy_ = std::make_unique<Subprocess>(std::move(*process));
    auto address = WaitForFile(ready, std::chrono::seconds(30));
    ASSERT_TRUE(address.ok()) << address.error().message() << "\n" << Log();
    std::string a = *address;
    while (!a.empty() && (a.back() == '\n' || a.back() == '\r')) a.pop_back();
    base_ = "http://" + a;
  }

  void TearDown() override {
    if (proxy_) {
      EXPECT_EQ(proxy_->Stop(), 0) << Log();
    }
  }

  std::string Log() const {
    std::ifstream in(dir_.path() / "proxy.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  net::ClientResponse Post(std::string_view path, std::string_view body) {
    net::ClientRequest request("POST", base_ + std::string(path), {{"content-type", "application/json"}});
    auto r = http_->Fetch(request, body, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : net::ClientResponse{};
  }
  net::ClientResponse Get(std::string_view path) {
    net::ClientRequest request("GET", base_ + std::string(path));
    auto r = http_->Fetch(request, "", 1 << 20);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : net::ClientResponse{};
  }
  // Posts until the wallet's first batch has arrived (the proxy fetches it in the background).
  net::ClientResponse PostWhenTokensArrive(std::string_view body) {
    net::ClientResponse r;
    for (int i = 0; i < 60; ++i) {
      r = Post("/v1/chat/completions", body);
      if (r.status != 503) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return r;
  }

  testing::GatewayInnerReply Serve(const testing::GatewayInnerRequest& r) {
    std::lock_guard lock(mu_);
    testing::GatewayInnerReply reply;
    EXPECT_FALSE(r.header("date").empty()) << r.path;  // the real gateway requires it
    if (r.path == "/v1/directory") {
      reply.pieces = {response_.Encode()};
      return reply;
    }
    if (r.path == "/v1/models") {
      reply.pieces = {R"({"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"openpcc"}]})"};
      return reply;
    }
    if (r.path.starts_with("/v1/tlog/")) {
      auto tile = tlog::ParseTilePath(r.path.substr(9));
      const std::vector<Bytes>& entries = deployment_->log().entries();
      const size_t start = static_cast<size_t>(tile->index) * tlog::kTileWidth;
      std::vector<Bytes> slice(entries.begin() + static_cast<ptrdiff_t>(start),
                               entries.begin() + static_cast<ptrdiff_t>(start + tile->width));
      reply.pieces = {std::string(AsChars(*tlog::EncodeEntryBundle(slice)))};
      return reply;
    }
    if (r.path != "/v1/infer") {
      reply.status = 404;
      return reply;
    }
    for (const wire::NodeKey& node : nodes_) {
      wire::SealedRequestReader reader({node});
      crypto::SecretBytes plain, last;
      if (!reader.Push(AsBytes(r.body), plain).ok() || !reader.Finish(last).ok()) continue;
      crypto::SecretVector all(plain.data(), plain.data() + plain.size());
      all.insert(all.end(), last.data(), last.data() + last.size());
      auto inner = wire::bhttp::DecodeRequest(ByteView(all.data(), all.size()));
      const std::string body(reinterpret_cast<const char*>(inner->content.data()), inner->content.size());
      const bool stream = body.find("\"stream\":true") != std::string::npos;
      wire::bhttp::Response response;
      response.status = 200;
      std::string text;
      if (stream) {
        response.headers.push_back({wire::bhttp::Text("content-type"), wire::bhttp::Text("text/event-stream")});
        text = "data: {\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}\n\n"
               "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n";
      } else {
        response.headers.push_back({wire::bhttp::Text("content-type"), wire::bhttp::Text("application/json")});
        text = R"({"object":"chat.completion","choices":[{"message":{"role":"assistant","content":"hello"}}]})";
      }
      response.content.assign(text.begin(), text.end());
      auto encoded = wire::bhttp::EncodeResponse(response);
      Bytes sealed;
      auto writer = reader.MakeResponseWriter(sealed);
      const ByteView plain_all(encoded->data(), encoded->size());
      EXPECT_TRUE(writer->Write(plain_all.subspan(0, plain_all.size() - 10), sealed).ok());
      EXPECT_TRUE(writer->Finish(plain_all.subspan(plain_all.size() - 10), sealed).ok());
      std::string bytes(AsChars(sealed));
      if (cut_) bytes.resize(bytes.size() - 20);  // inside the final chunk
      reply.headers = {{"content-type", "application/openpcc-sealed-response"}};
      reply.pieces = {bytes};
      return reply;
    }
    reply.status = 421;
    return reply;
  }

  std::vector<wire::NodeKey> nodes_;
  std::unique_ptr<Deployment> deployment_;
  TempDir dir_;
  std::mutex mu_;
  directory::DirectoryResponse response_;
  bool cut_ = false;
  testing::OhttpTestGateway gateway_{[this](const auto& r) { return Serve(r); }};
  testing::IssuerProcess issuer_{{}, static_cast<int64_t>(client::testing::UnixOf(TestTime())) - 600};
  std::unique_ptr<testing::RelayProcess> relay_;
  std::unique_ptr<Subprocess> proxy_;
  std::string base_;
  std::unique_ptr<net::BlockingClient> http_;
};

TEST_F(ProxyProcessTest, AnswersThroughTheConfidentialPath) {
  net::ClientResponse whole = PostWhenTokensArrive(R"({"model":"tiny-llama","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(whole.status, 200u) << whole.body << "\n" << Log();
  EXPECT_NE(whole.body.find("\"content\":\"hello\""), std::string::npos) << whole.body;
  EXPECT_EQ(whole.header("openpcc-node-platform").value_or(""), "sim (simulated)");
  EXPECT_EQ(whole.header("openpcc-node-measurement").value_or(""), HexEncode(client::testing::TestMeasurement()));
  EXPECT_EQ(whole.header("openpcc-node-log-index").value_or(""), "0");
  EXPECT_TRUE(whole.header("openpcc-node-freshness").has_value());

  net::ClientResponse streamed =
      Post("/v1/chat/completions", R"({"model":"tiny-llama","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.body,
            "data: {\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}\n\n"
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n");

  cut_ = true;
  net::ClientResponse cut =
      Post("/v1/chat/completions", R"({"model":"tiny-llama","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(cut.body.find("[DONE]"), std::string::npos) << cut.body;
  EXPECT_NE(cut.body.find("event: error\n"), std::string::npos) << cut.body;

  net::ClientResponse verification = Get("/v1/openpcc/verification");
  ASSERT_EQ(verification.status, 200u);
  EXPECT_NE(verification.body.find("\"platform\":\"sim\""), std::string::npos) << verification.body;
  net::ClientResponse models = Get("/v1/models");
  EXPECT_EQ(models.status, 200u);
  EXPECT_NE(models.body.find("tiny-llama"), std::string::npos);
}

// `openpcc chat` on the same path (its own wallet in the same state dir, after the proxy's).
TEST_F(ProxyProcessTest, ChatAnswersOnceAndFailsOnATruncatedAnswer) {
  const std::vector<std::string> base = {"chat", "--client-config", (dir_.path() / "client.json").string(),
                                         "--testing-start-time",
                                         std::to_string(client::testing::UnixOf(TestTime() + seconds(60)))};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--verbose", "say", "hello"});
  // Beside the running proxy (which holds the wallet), chat uses its own "<wallet>.2".
  testing::CliResult ok = testing::RunCli(args);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "hello\n");
  EXPECT_NE(ok.err.find("ok directory signature: "), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("ok bundle: node "), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("answer authenticated to its final chunk"), std::string::npos) << ok.err;
  // Its wallet was empty: one batch fetched, then held before the first spend (DESIGN §2.3).
  EXPECT_NE(ok.err.find("wallet empty: fetched 16 tokens; waiting "), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("s before the first use so issuance and spending do not line up"), std::string::npos)
      << ok.err;
  cut_ = true;
  args = base;
  args.push_back("hello");
  testing::CliResult cut = testing::RunCli(args);
  EXPECT_EQ(cut.exit_code, 1) << cut.err;
  // What authenticated was shown as it came; the missing final chunk makes it an error.
  EXPECT_NE(cut.err.find("openpcc chat: "), std::string::npos) << cut.err;
  EXPECT_EQ(cut.err.find("wallet empty"), std::string::npos) << "a wallet with tokens fetches nothing\n" << cut.err;
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state" / "wallet.2"));
}

// Interactive `openpcc chat` (no prompt argument): one prompt per stdin line, each answer streamed
// and authenticated, the conversation ended by EOF or /exit with status 0; a truncated answer ends
// it at once with status 1 (the next line is never sent).
TEST_F(ProxyProcessTest, InteractiveChatEndsAtEofOrExitAndStopsAtATruncatedAnswer) {
  const std::vector<std::string> args = {"chat", "--client-config", (dir_.path() / "client.json").string(),
                                         "--testing-start-time",
                                         std::to_string(client::testing::UnixOf(TestTime() + seconds(60))),
                                         "--verbose"};
  auto count = [](const std::string& text, std::string_view what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
  };
  testing::CliResult eof = testing::RunCliWithInput(args, "say hello\n\nand again\n");
  EXPECT_EQ(eof.exit_code, 0) << eof.err;
  EXPECT_EQ(eof.out, "hello\nhello\n");  // the empty line is skipped, not sent
  EXPECT_EQ(count(eof.err, "answer authenticated to its final chunk"), 2u) << eof.err;

  testing::CliResult exited = testing::RunCliWithInput(args, "once\n/exit\nnever sent\n");
  EXPECT_EQ(exited.exit_code, 0) << exited.err;
  EXPECT_EQ(exited.out, "hello\n");
  EXPECT_EQ(count(exited.err, "answer authenticated to its final chunk"), 1u) << exited.err;

  cut_ = true;
  testing::CliResult cut = testing::RunCliWithInput(args, "first\nsecond\n");
  EXPECT_EQ(cut.exit_code, 1) << cut.err;
  EXPECT_EQ(count(cut.err, "openpcc chat: "), 1u) << cut.err;
  EXPECT_EQ(count(cut.err, "> "), 1u) << "the line after a truncated answer was read\n" << cut.err;
  EXPECT_EQ(count(cut.err, "answer authenticated to its final chunk"), 0u) << cut.err;
}

TEST(ProxyCommandTest, RefusesANonLoopbackListenAddress) {
  testing::CliResult r = testing::RunCli({"proxy", "--listen", "0.0.0.0:7600", "--client-config", "/nonexistent"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace openpcc
