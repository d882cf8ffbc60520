// `openpcc gateway` as a real process (DESIGN §2.1, §2.3, §2.5, §4), with a real `openpcc tlog`,
// `openpcc issuer` and three `openpcc node --platform sim --engine llama` on the tiny model, all on
// loopback. A C++ test client speaks chunked OHTTP to the gateway (wire/ohttp.h), seals its request
// to the directory's nodes (wire/sealed.h) and pays with a Privacy Pass token from the issuer:
// it fetches /ohttp-keys and /v1/directory (signature and inclusion proof checked), streams one
// /v1/infer, and then injects faults: a token spent twice, a candidate that is not a registered
// node, a wrong registration credential, and a node killed before its first byte.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/crypto/kem.h"
#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/net/client.h"
#include "openpcc/services/key_files.h"
#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/note.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_client.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/http_date.h"
#include "openpcc/util/subprocess.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/ohttp.h"
#include "support/cli.h"
#include "support/issuer_process.h"
#include "support/sealed_client.h"
#include "support/service_process.h"

namespace openpcc {
namespace {

namespace fs = std::filesystem;
namespace bhttp = wire::bhttp;
using namespace std::chrono_literals;

constexpr char kCredential[] = "gateway-test-credential-4711";
constexpr int kEpochSeconds = 10;

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

using Proc = testing::ServiceProcess;
using testing::ReadText;

// ---- the test client: chunked OHTTP to the gateway, inner BHTTP, sealed to the nodes ----

class Collector final : public bhttp::StreamVisitor {
 public:
  std::function<Status(ByteView)> on_content;
  unsigned status = 0;
  Status OnResponseHead(bhttp::ResponseHead head) override {
    status = head.status;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override { return on_content(piece); }
  Status OnTrailers(bhttp::Fields) override { return OkStatus(); }
};

struct InnerReply {
  bool ok = false;           // the OHTTP response authenticated to its final chunk
  std::string error;
  unsigned outer_status = 0;
  bool incremental = false;  // the outer response said Incremental: ?1
  unsigned inner_status = 0;
  std::string inner_body;    // when the gateway answered itself (JSON)
  // /v1/infer: the node's sealed response, opened.
  bool sealed_opened = false;
  Bytes answering_node;
  std::string node_content;
  size_t node_pieces = 0;
};

struct InnerCall {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes body;
  std::optional<wire::SealedRequestWriter>* sealed = nullptr;  // set for /v1/infer
  int64_t date_offset = 0;  // seconds added to the Date field
};

class GatewayClient {
 public:
  explicit GatewayClient(std::string url) : url_(std::move(url)) {
    client_ = std::move(net::BlockingClient::Create({})).value();
  }

  ::testing::AssertionResult FetchKeys() {
    auto keys = client_->Fetch(net::ClientRequest("GET", url_ + "/ohttp-keys"), "", 1 << 16);
    if (!keys.ok()) return ::testing::AssertionFailure() << keys.error().message();
    if (keys->status != 200 || keys->header("Content-Type").value_or("") != "application/ohttp-keys") {
      return ::testing::AssertionFailure() << "GET /ohttp-keys: " << keys->status;
    }
    auto list = wire::ParseKeyConfigList(AsBytes(keys->body));
    if (!list.ok()) return ::testing::AssertionFailure() << list.error().message();
    config_ = list->front();
    return ::testing::AssertionSuccess();
  }
  const wire::KeyConfig& config() const { return config_; }

  // message/ohttp-req / -res: one whole encapsulated request and response.
  InnerReply CallWhole(const std::string& path) {
    InnerReply reply;
    bhttp::Request request;
    request.method = "GET";
    request.scheme = "https";
    request.authority = "gateway.openpcc.invalid";
    request.path = bhttp::Text(path);
    const std::string date = FormatHttpDate(std::chrono::sys_seconds(std::chrono::seconds(WallNow())));
    request.headers.push_back({bhttp::Text("date"), bhttp::Text(date)});
    auto encoded = bhttp::EncodeRequest(request);
    auto sealed = wire::EncapsulateRequest(config_, {crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm},
                                           ByteView(encoded->data(), encoded->size()));
    if (!sealed.ok()) {
      reply.error = sealed.error().message();
      return reply;
    }
    net::ClientRequest post("POST", url_ + "/gateway", {{"Content-Type", "message/ohttp-req"}});
    auto answer = client_->Fetch(post, AsChars(sealed->encapsulated), 1 << 20);
    if (!answer.ok()) {
      reply.error = answer.error().message();
      return reply;
    }
    reply.outer_status = answer->status;
    if (answer->status != 200 || answer->header("Content-Type").value_or("") != "message/ohttp-res") return reply;
    auto opened = sealed->context.OpenResponse(AsBytes(answer->body));
    if (!opened.ok()) {
      reply.error = opened.error().message();
      return reply;
    }
    auto response = bhttp::DecodeResponse(opened->view());
    if (!response.ok()) {
      reply.error = response.error().message();
      return reply;
    }
    reply.ok = true;
    reply.inner_status = response->status;
    reply.inner_body.assign(response->content.begin(), response->content.end());
    return reply;
  }

  InnerReply Call(InnerCall call) {
    InnerReply reply;
    bhttp::Request request;
    request.method = bhttp::Text(call.method);
    request.scheme = "https";
    request.authority = "gateway.openpcc.invalid";
    request.path = bhttp::Text(call.path);
    const std::string date =
        FormatHttpDate(std::chrono::sys_seconds(std::chrono::seconds(WallNow() + call.date_offset)));
    request.headers.push_back({bhttp::Text("date"), bhttp::Text(date)});
    for (const auto& [name, value] : call.headers) request.headers.push_back({bhttp::Text(name), bhttp::Text(value)});
    request.content.assign(call.body.begin(), call.body.end());
    auto encoded = bhttp::EncodeRequest(request);
    if (!encoded.ok()) {
      reply.error = encoded.error().message();
      return reply;
    }
    Bytes outer;
    auto writer = wire::ChunkedRequestWriter::Create(
        config_, {crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}, outer);
    if (!writer.ok()) {
      reply.error = writer.error().message();
      return reply;
    }
    if (Status s = writer->Finish(ByteView(encoded->data(), encoded->size()), outer); !s.ok()) {
      reply.error = s.error().message();
      return reply;
    }
    auto response_reader = writer->MakeResponseReader();
    std::optional<wire::SealedResponseReader> sealed_reader;
    if (call.sealed != nullptr && call.sealed->has_value()) {
      auto made = (*call.sealed)->MakeResponseReader();
      if (made.ok()) sealed_reader.emplace(std::move(made).value());
    }
    bhttp::StreamDecoder gateway_decoder(bhttp::MessageKind::kResponse);
    bhttp::StreamDecoder node_decoder(bhttp::MessageKind::kResponse);
    Collector node_collector;
    node_collector.on_content = [&reply](ByteView piece) {
      reply.node_content.append(AsChars(piece));
      ++reply.node_pieces;
      return OkStatus();
    };
    Collector gateway_collector;
    bool failed = false;
    gateway_collector.on_content = [&](ByteView piece) -> Status {
      if (gateway_collector.status != 200 || !sealed_reader) {
        reply.inner_body.append(AsChars(piece));
        return OkStatus();
      }
      crypto::SecretBytes plain;
      OPENPCC_RETURN_IF_ERROR(sealed_reader->Push(piece, plain));
      if (!plain.empty()) OPENPCC_RETURN_IF_ERROR(node_decoder.Push(plain.view(), node_collector));
      return OkStatus();
    };
    auto fail = [&](const Status& s) {
      if (!s.ok() && !failed) {
        failed = true;
        reply.error = s.error().message();
      }
    };
    net::ClientRequest post("POST", url_ + "/", {{"Content-Type", "message/ohttp-chunked-req"}});
    auto head = client_->FetchStreaming(post, AsChars(outer), [&](std::string_view piece) -> Status {
      if (failed) return OkStatus();
      crypto::SecretBytes plain;
      Status s = response_reader.Push(AsBytes(piece), plain);
      if (s.ok() && !plain.empty()) s = gateway_decoder.Push(plain.view(), gateway_collector);
      fail(s);
      return OkStatus();
    });
    if (!head.ok()) {
      if (!failed) reply.error = head.error().message();
      return reply;
    }
    reply.outer_status = head->status;
    reply.incremental = head->header("Incremental").value_or("") == "?1";
    if (failed || head->status != 200) return reply;
    crypto::SecretBytes plain;
    Status s = response_reader.Finish(plain);
    if (s.ok() && !plain.empty()) s = gateway_decoder.Push(plain.view(), gateway_collector);
    if (s.ok()) s = gateway_decoder.Finish(gateway_collector);
    fail(s);
    if (failed) return reply;
    reply.ok = true;
    reply.inner_status = gateway_collector.status;
    if (sealed_reader && reply.inner_status == 200) {
      crypto::SecretBytes last;
      Status f = sealed_reader->Finish(last);
      if (f.ok() && !last.empty()) f = node_decoder.Push(last.view(), node_collector);
      if (f.ok()) f = node_decoder.Finish(node_collector);
      if (f.ok()) {
        reply.sealed_opened = true;
        reply.answering_node = ToBytes(sealed_reader->node_id());
      } else {
        reply.error = f.error().message();
      }
    }
    return reply;
  }

 private:
  std::string url_;
  std::unique_ptr<net::BlockingClient> client_;
  wire::KeyConfig config_;
};

// ---- the deployment ----

class GatewayProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new fs::path(fs::temp_directory_path() / ("gateway-process-test-" + std::to_string(getpid())));
    fs::create_directories(*suite_dir_);
    auto made = testing::RunCli({"model", "make-tiny", (*suite_dir_ / "tiny.gguf").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    auto root = testing::RunCli({"node", "sim-root", "init", (*suite_dir_ / "sim-root").string()});
    ASSERT_EQ(root.exit_code, 0) << root.err;
  }
  static void TearDownTestSuite() {
    if (std::getenv("OPENPCC_KEEP_TEST_DIR") == nullptr) fs::remove_all(*suite_dir_);
    delete suite_dir_;
  }

  void TearDown() override {
    for (auto& n : nodes_) {
      if (n.process) n.process->Stop(5s);
    }
    if (gateway_.process) gateway_.process->Stop(5s);
    if (log_.process) log_.process->Stop(5s);
    if (issuer_) issuer_->Stop();
  }

  void Key(const std::string& kind, const std::string& name) {
    auto r = testing::RunCli({"keys", "generate", "--kind", kind, "--out", (dir_ / "keys").string(), "--name", name});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Log, issuer, gateway, `nodes` nodes; waits until the published directory lists every node.
  void Deploy(size_t nodes, const std::string& health_interval) {
    dir_ = *suite_dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
    const fs::path keys = dir_ / "keys";
    Key("log", "log");
    Key("release", "release");
    Key("witness", "witness");
    Key("directory", "directory");
    Key("ohttp", "ohttp");
    std::ofstream(dir_ / "credential") << kCredential << "\n";
    chmod((dir_ / "credential").c_str(), 0600);

    log_ = testing::StartService(dir_, "tlog",
                 {"tlog", "--key", (keys / "log.key").string(), "--dir", (dir_ / "log").string(), "--release-key",
                  (keys / "release.pub").string(), "--directory-key", (keys / "directory.pub").string()});
    ASSERT_FALSE(log_.address.empty());

    {
      // The nodes' freshness (kind 1) is the log's current checkpoint note.
      auto http = net::BlockingClient::Create({});
      auto note = (*http)->Fetch(net::ClientRequest("GET", log_.url() + "/checkpoint"), "", 1 << 16);
      ASSERT_TRUE(note.ok() && note->status == 200);
      std::ofstream(dir_ / "checkpoint") << note->body;
    }

    issuer_ = std::make_unique<testing::IssuerProcess>(std::vector<std::string>{}, WallNow());
    ASSERT_TRUE(issuer_->Start());
    api_key_ = issuer_->CreateAccountWithKey("gateway-test", 1000, 10000);

    auto release_pub = services::ReadEd25519PublicKey(keys / "release.pub");
    ASSERT_TRUE(release_pub.ok());
    boost::json::object policy{
        {"version", 1},
        {"platforms", boost::json::array{"sim"}},
        {"roots", boost::json::object{{"sim", boost::json::array{(*suite_dir_ / "sim-root" / "sim-root.pem").string()}}}},
        {"log", boost::json::object{{"origin", log_origin()},
                                    {"key", ReadText(keys / "log.vkey")},
                                    {"witnesses", boost::json::array{ReadText(keys / "witness.vkey").c_str()}},
                                    {"threshold", 1}}},
        {"release_keys", boost::json::array{HexEncode(release_pub->bytes())}}};
    std::ofstream(dir_ / "policy.json") << boost::json::serialize(policy);

    gateway_ = testing::StartService(dir_, "gateway",
                     {"gateway", "--operator-listen", "127.0.0.1:0", "--operator-ready-file",
                      (dir_ / "operator.ready").string(), "--state-dir", (dir_ / "gateway-state").string(),
                      "--directory-key", (keys / "directory.key").string(), "--ohttp-key",
                      (keys / "ohttp.key").string(), "--policy", (dir_ / "policy.json").string(),
                      "--registration-credential", (dir_ / "credential").string(), "--issuer", issuer_->url(),
                      "--log", log_.url(), "--epoch-seconds", std::to_string(kEpochSeconds), "--startup-wait", "0s",
                      "--health-interval", health_interval});
    ASSERT_FALSE(gateway_.address.empty());
    auto operator_address = WaitForFile((dir_ / "operator.ready").string(), 10s, gateway_.process.get());
    ASSERT_TRUE(operator_address.ok());
    operator_url_ = "http://" + *operator_address;

    for (size_t i = 0; i < nodes; ++i) {
      nodes_.push_back(testing::StartService(dir_, "node-" + std::to_string(i),
                             {"node", "--engine", "llama", "--model", (*suite_dir_ / "tiny.gguf").string(),
                              "--model-name", "tiny", "--platform", "sim", "--sim-root-dir",
                              (*suite_dir_ / "sim-root").string(), "--gateway", operator_url_,
                              "--registration-credential", (dir_ / "credential").string(), "--register-interval",
                              "2s", "--epoch-length", std::to_string(kEpochSeconds) + "s", "--key-prepare-ahead",
                              "5s", "--max-tokens", "64", "--slots", "2", "--checkpoint-file",
                              (dir_ / "checkpoint").string()},
                             60s));
      ASSERT_FALSE(nodes_.back().address.empty());
    }

    client_ = std::make_unique<GatewayClient>("http://" + gateway_.address);
    ASSERT_TRUE(client_->FetchKeys());
    // Nodes that registered mid-epoch are listed from the next epoch on.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3 * kEpochSeconds);
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = FetchDirectory();
      if (d && d->first.NodesOf("tiny").size() == nodes) {
        directory_ = d->first;
        response_ = d->second;
        break;
      }
      std::this_thread::sleep_for(500ms);
    }
    ASSERT_EQ(directory_.NodesOf("tiny").size(), nodes) << ReadText(dir_ / "gateway.log");
  }

  std::string log_origin() const {
    const std::string vkey = ReadText(dir_ / "keys" / "log.vkey");
    return vkey.substr(0, vkey.find('+'));
  }

  std::optional<std::pair<directory::NodeDirectory, directory::DirectoryResponse>> FetchDirectory() {
    InnerCall call;
    call.path = "/v1/directory";
    InnerReply reply = client_->Call(std::move(call));
    if (!reply.ok || reply.inner_status != 200) return std::nullopt;
    auto response = directory::ParseDirectoryResponse(reply.inner_body);
    if (!response.ok()) return std::nullopt;
    auto key = services::ReadEd25519PublicKey(dir_ / "keys" / "directory.pub");
    auto d = directory::VerifyDirectoryEntry(response->entry, *key);
    if (!d.ok()) return std::nullopt;
    return std::make_pair(std::move(d).value(), std::move(response).value());
  }

  std::vector<Bytes> Tokens(size_t n) {
    auto client = tokens::IssuerClient::Create(issuer_->url(), crypto::SecretString(api_key_.begin(), api_key_.end()));
    EXPECT_TRUE(client.ok());
    auto dir = (*client)->FetchDirectory();
    EXPECT_TRUE(dir.ok());
    auto keys = tokens::VerificationKeysFromDirectory(*dir).value();
    std::vector<tokens::TokenRequest> requests;
    std::vector<tokens::PendingToken> pending;
    for (size_t i = 0; i < n; ++i) {
      auto r = tokens::CreateTokenRequest(dir->token_challenge, *keys[0].key).value();
      requests.push_back(std::move(r.request));
      pending.push_back(std::move(r.pending));
    }
    auto responses = (*client)->Issue(requests);
    EXPECT_TRUE(responses.ok()) << responses.error().message();
    std::vector<Bytes> out;
    for (size_t i = 0; i < n; ++i) out.push_back(tokens::FinalizeToken(pending[i], *(*responses)[i], *keys[0].key)->Encode());
    return out;
  }

  // One streamed chat completion through the gateway, sealed to `candidates`, paid with `token`.
  InnerReply Infer(const std::vector<wire::KeyConfig>& candidates, const Bytes& token) {
    std::vector<wire::SealedCandidate> sealed_to;
    for (const auto& c : candidates) sealed_to.push_back(testing::CandidateFor(c));
    testing::InnerCall chat;
    chat.body = R"({"model":"tiny","stream":true,"max_tokens":12,"temperature":0,)"
                R"("messages":[{"role":"user","content":"hello gateway"}]})";
    auto sealed = testing::Seal(sealed_to, chat);
    EXPECT_TRUE(sealed.ok()) << sealed.error().message();
    std::optional<wire::SealedRequestWriter> writer(std::move(sealed->writer));
    InnerCall call;
    call.method = "POST";
    call.path = "/v1/infer";
    call.headers = {{"authorization", tokens::FormatAuthorization(token)},
                    {"content-type", "application/openpcc-sealed-request"}};
    call.body = sealed->request;
    call.sealed = &writer;
    return client_->Call(std::move(call));
  }

  std::vector<wire::KeyConfig> DirectoryConfigs() {
    std::vector<wire::KeyConfig> out;
    for (const auto& n : directory_.NodesOf("tiny")) out.push_back(*wire::ParseKeyConfig(n.key_config));
    return out;
  }

  std::string Metrics() {
    auto client = net::BlockingClient::Create({});
    auto r = (*client)->Fetch(net::ClientRequest("GET", operator_url_ + "/metrics"), "", 1 << 20);
    return r.ok() ? r->body : "";
  }

  static fs::path* suite_dir_;
  fs::path dir_;
  Proc log_;
  std::unique_ptr<testing::IssuerProcess> issuer_;
  Proc gateway_;
  std::string operator_url_;
  std::vector<Proc> nodes_;
  std::string api_key_;
  std::unique_ptr<GatewayClient> client_;
  directory::NodeDirectory directory_;
  directory::DirectoryResponse response_;
};

fs::path* GatewayProcessTest::suite_dir_ = nullptr;

uint64_t Counter(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(metrics.substr(at + name.size() + 2));
}

TEST_F(GatewayProcessTest, ServesALoggedDirectoryAndStreamsSealedInferenceEndToEnd) {
  Deploy(3, "1s");
  if (HasFatalFailure()) return;

  // The directory: signed by the directory key (checked in FetchDirectory), listing the gateway's
  // OHTTP config, its inclusion proof verifying against the log's signed checkpoint.
  auto log_vkey = tlog::NoteVerifier::FromVkey(ReadText(dir_ / "keys" / "log.vkey"));
  ASSERT_TRUE(log_vkey.ok());
  auto checkpoint = tlog::VerifyCheckpointNote(response_.checkpoint, log_origin(), *log_vkey);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message() << "\n[" << response_.checkpoint << "]";
  Status included = directory::CheckInclusion(response_, checkpoint->checkpoint);
  EXPECT_TRUE(included.ok()) << included.error().message();
  EXPECT_EQ(directory_.ohttp_configs.size(), 1u);
  EXPECT_EQ(directory_.ohttp_configs[0], *wire::EncodeKeyConfig(client_->config()));
  EXPECT_EQ(directory_.k, 3u);
  EXPECT_EQ(directory_.token_keys.size(), 1u);
  EXPECT_FALSE(directory_.token_challenge.empty());
  for (const auto& node : directory_.NodesOf("tiny")) {
    EXPECT_EQ(node.platform, "sim");
    ASSERT_TRUE(response_.bundles.count(node.node_id)) << "no bundle beside a listed node";
    EXPECT_NE(response_.bundles.at(node.node_id).find(Base64UrlEncode(node.key_config)), std::string::npos);
  }
  // The log's public files come through the gateway too.
  InnerCall checkpoint_call;
  checkpoint_call.path = "/v1/tlog/checkpoint";
  InnerReply via_gateway = client_->Call(std::move(checkpoint_call));
  ASSERT_TRUE(via_gateway.ok) << via_gateway.error;
  EXPECT_EQ(via_gateway.inner_status, 200u);
  EXPECT_TRUE(tlog::VerifyCheckpointNote(via_gateway.inner_body, log_origin(), *log_vkey).ok());
  InnerCall models;
  models.path = "/v1/models";
  InnerReply models_reply = client_->Call(std::move(models));
  EXPECT_NE(models_reply.inner_body.find("\"tiny\""), std::string::npos) << models_reply.inner_body;
  // The same through a whole (not chunked) OHTTP message.
  InnerReply whole = client_->CallWhole("/v1/models");
  ASSERT_TRUE(whole.ok) << whole.error << " outer " << whole.outer_status;
  EXPECT_EQ(whole.inner_status, 200u);
  EXPECT_EQ(whole.inner_body, models_reply.inner_body);
  // A Date more than 60 s off is refused inside OHTTP, as is an unknown inner path.
  InnerCall stale;
  stale.path = "/v1/models";
  stale.date_offset = -120;
  InnerReply stale_reply = client_->Call(std::move(stale));
  ASSERT_TRUE(stale_reply.ok) << stale_reply.error;
  EXPECT_EQ(stale_reply.inner_status, 400u);
  EXPECT_NE(stale_reply.inner_body.find("stale_date"), std::string::npos) << stale_reply.inner_body;
  InnerCall unknown;
  unknown.path = "/v1/secrets";
  EXPECT_EQ(client_->Call(std::move(unknown)).inner_status, 404u);

  // One streamed inference through the gateway to one of the three candidates.
  std::vector<Bytes> tokens = Tokens(4);
  const auto configs = DirectoryConfigs();
  InnerReply reply = Infer(configs, tokens[0]);
  ASSERT_TRUE(reply.ok) << reply.error;
  ASSERT_EQ(reply.inner_status, 200u) << reply.inner_body;
  ASSERT_TRUE(reply.sealed_opened) << reply.error;
  EXPECT_TRUE(directory_.Lists(reply.answering_node));
  EXPECT_NE(reply.node_content.find("data: [DONE]"), std::string::npos) << reply.node_content;
  EXPECT_GT(reply.node_pieces, 1u) << "the completion arrived in one piece, not streamed";
  EXPECT_TRUE(reply.incremental);

  // The same token again: refused before routing, as spent.
  InnerReply spent = Infer(configs, tokens[0]);
  ASSERT_TRUE(spent.ok) << spent.error;
  EXPECT_EQ(spent.inner_status, 401u);
  EXPECT_NE(spent.inner_body.find("token_spent"), std::string::npos) << spent.inner_body;

  // A candidate that is no registered node is never used: alone, the request has nowhere to go;
  // beside a real node, the real node answers.
  auto stranger_key = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
  wire::KeyConfig stranger = configs[0];
  stranger.public_key = ToBytes(stranger_key->public_key());
  InnerReply nowhere = Infer({stranger}, tokens[1]);
  ASSERT_TRUE(nowhere.ok) << nowhere.error;
  EXPECT_EQ(nowhere.inner_status, 503u);
  EXPECT_NE(nowhere.inner_body.find("no_candidate"), std::string::npos) << nowhere.inner_body;
  InnerReply beside = Infer({stranger, configs[1]}, tokens[2]);
  ASSERT_TRUE(beside.ok) << beside.error;
  ASSERT_TRUE(beside.sealed_opened) << beside.error << beside.inner_body;
  EXPECT_EQ(beside.answering_node, *wire::NodeIdOf(configs[1]));

  // /v1/attest: a fresh bundle from the named node over the client's nonce, paid with a token.
  const Bytes nonce(32, 0x5c);
  const std::string attest_body = "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\",\"node_id\":\"" +
                                  Base64UrlEncode(*wire::NodeIdOf(configs[0])) + "\"}";
  InnerCall attest;
  attest.method = "POST";
  attest.path = "/v1/attest";
  attest.headers = {{"authorization", tokens::FormatAuthorization(tokens[3])}, {"content-type", "application/json"}};
  attest.body = ToBytes(attest_body);
  InnerReply attested = client_->Call(std::move(attest));
  ASSERT_TRUE(attested.ok) << attested.error;
  EXPECT_EQ(attested.inner_status, 200u) << attested.inner_body;
  EXPECT_NE(attested.inner_body.find(Base64UrlEncode(nonce)), std::string::npos);
  EXPECT_NE(attested.inner_body.find(Base64UrlEncode(*wire::EncodeKeyConfig(configs[0]))), std::string::npos)
      << "the bundle is not the named node's";

  // Admission under the gateway's policy: with the right credential, a bundle whose claims were
  // changed after it was bound is refused, and so is a node URL that is not loopback.
  {
    boost::json::value bundle = boost::json::parse(attested.inner_body);
    auto& models = bundle.as_object()["claims"].as_object()["models"].as_array();
    ASSERT_FALSE(models.empty());
    models[0].as_object()["sha256"] = std::string(64, 'f');
    const int64_t now = WallNow();
    auto registration = [&](const std::string& url) {
      boost::json::object body{{"url", url}, {"epoch", now / kEpochSeconds}, {"not_before", now - 1},
                               {"not_after", now + kEpochSeconds}, {"bundle", bundle}};
      net::ClientRequest post("POST", operator_url_ + "/v1/nodes/register",
                              {{"Authorization", std::string("Bearer ") + kCredential},
                               {"Content-Type", "application/json"}});
      return (*net::BlockingClient::Create({}))->Fetch(post, boost::json::serialize(body), 1 << 16);
    };
    auto tampered = registration(nodes_[0].url());
    ASSERT_TRUE(tampered.ok());
    EXPECT_EQ(tampered->status, 403u) << tampered->body;
    EXPECT_NE(tampered->body.find("binding"), std::string::npos) << tampered->body;
    auto remote = registration("http://203.0.113.7:7500");
    ASSERT_TRUE(remote.ok());
    EXPECT_NE(remote->body.find("not loopback"), std::string::npos) << remote->body;
  }

  // Registration with a wrong credential is refused.
  auto http = net::BlockingClient::Create({});
  net::ClientRequest wrong("POST", operator_url_ + "/v1/nodes/register",
                           {{"Authorization", "Bearer not-the-credential"}, {"Content-Type", "application/json"}});
  auto refused = (*http)->Fetch(wrong, "{}", 1 << 16);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401u);

  // Deregistration: credential required, unknown ids named, a registered key removed.
  const std::string victim = HexEncode(*wire::NodeIdOf(configs[2]));
  net::ClientRequest anonymous_delete("DELETE", operator_url_ + "/v1/nodes/" + victim);
  EXPECT_EQ((*http)->Fetch(anonymous_delete, "", 1 << 16)->status, 401u);
  const std::string bearer = std::string("Bearer ") + kCredential;
  net::ClientRequest unknown_delete("DELETE", operator_url_ + "/v1/nodes/" + std::string(64, 'a'),
                                    {{"Authorization", bearer}});
  EXPECT_EQ((*http)->Fetch(unknown_delete, "", 1 << 16)->status, 404u);
  net::ClientRequest bad_delete("DELETE", operator_url_ + "/v1/nodes/xyz", {{"Authorization", bearer}});
  EXPECT_EQ((*http)->Fetch(bad_delete, "", 1 << 16)->status, 400u);
  net::ClientRequest good_delete("DELETE", operator_url_ + "/v1/nodes/" + victim, {{"Authorization", bearer}});
  EXPECT_EQ((*http)->Fetch(good_delete, "", 1 << 16)->status, 204u);

  const std::string metrics = Metrics();
  EXPECT_GE(Counter(metrics, "openpcc_gateway_infer_completed_total"), 2u) << metrics;
  EXPECT_GE(Counter(metrics, "openpcc_gateway_tokens_refused_total"), 1u);
  EXPECT_GE(Counter(metrics, "openpcc_gateway_registrations_refused_total"), 1u);
  EXPECT_GE(Counter(metrics, "openpcc_gateway_deregistrations_total"), 1u);  // nodes deregister old keys too

  // The gateway's log carries no token, credential or content.
  const std::string gateway_log = ReadText(dir_ / "gateway.log");
  EXPECT_EQ(gateway_log.find(kCredential), std::string::npos);
  EXPECT_EQ(gateway_log.find("hello gateway"), std::string::npos);
  EXPECT_EQ(gateway_log.find(Base64UrlEncode(tokens[0]).substr(8, 40)), std::string::npos);
}

TEST_F(GatewayProcessTest, ANodeKilledBeforeItsFirstByteFailsOverToAnotherCandidate) {
  // Health checks only at start, so the gateway still believes the killed node healthy.
  Deploy(2, "1h");
  if (HasFatalFailure()) return;
  const auto configs = DirectoryConfigs();
  ASSERT_EQ(configs.size(), 2u);
  // Kill the node whose key is configs[0].
  size_t victim = nodes_.size();
  for (size_t i = 0; i < nodes_.size() && victim == nodes_.size(); ++i) {
    auto http = net::BlockingClient::Create({});
    Bytes nonce(32, 1);
    auto r = (*http)->Fetch(net::ClientRequest("POST", nodes_[i].url() + "/v1/attest"),
                            "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\"}", 1 << 20);
    ASSERT_TRUE(r.ok());
    auto config = testing::KeyConfigFromBundleJson(r->body);
    if (config.ok() && *config == configs[0]) victim = i;
  }
  ASSERT_LT(victim, nodes_.size());
  nodes_[victim].process->Signal(SIGKILL);
  nodes_[victim].process->Stop(5s);

  // Sealed to both; whenever the gateway picks the dead one first it must fail over. Eight
  // requests make it pick the dead node first at least once but with probability 2^-8.
  std::vector<Bytes> tokens = Tokens(8);
  for (const Bytes& token : tokens) {
    InnerReply reply = Infer(configs, token);
    ASSERT_TRUE(reply.ok) << reply.error;
    ASSERT_EQ(reply.inner_status, 200u) << reply.inner_body;
    ASSERT_TRUE(reply.sealed_opened) << reply.error;
    EXPECT_EQ(reply.answering_node, *wire::NodeIdOf(configs[1]));
  }
  EXPECT_GE(Counter(Metrics(), "openpcc_gateway_infer_failovers_total"), 1u);
}

}  // namespace
}  // namespace openpcc
