#include "support/stack_process.h"

#include <sys/stat.h>

#include <fstream>

#include <boost/json.hpp>

#include "openpcc/attest/sim/sim.h"
#include "openpcc/services/key_files.h"
#include "openpcc/util/bytes.h"
#include "support/cli.h"

namespace openpcc::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr char kCredential[] = "stack-test-registration-credential";

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

::testing::AssertionResult Cli(const std::vector<std::string>& args) {
  CliResult r = RunCli(args);
  if (r.exit_code != 0) return ::testing::AssertionFailure() << "openpcc " << args[0] << ": " << r.err;
  return ::testing::AssertionSuccess();
}

}  // namespace

Stack::Stack(fs::path dir) : dir_(std::move(dir)) {
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

Stack::~Stack() {
  for (auto& n : nodes_) {
    if (n.process) n.process->Stop(5s);
  }
  if (gateway_.process) gateway_.process->Stop(5s);
  if (issuer_) issuer_->Stop();
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    if (it->process) it->process->Stop(5s);
  }
  if (std::getenv("OPENPCC_KEEP_TEST_DIR") == nullptr) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

::testing::AssertionResult Stack::Start(const StackOptions& options) {
  const fs::path keys = dir_ / "keys";
  for (const char* kind : {"log", "release", "witness", "directory", "ohttp"}) {
    auto made = Cli({"keys", "generate", "--kind", kind, "--out", keys.string(), "--name", kind});
    if (!made) return made;
  }
  if (auto made = Cli({"model", "make-tiny", (dir_ / "tiny.gguf").string(), "--context", "4096"}); !made) return made;
  if (auto made = Cli({"node", "sim-root", "init", (dir_ / "sim-root").string()}); !made) return made;
  std::ofstream(dir_ / "credential") << kCredential << "\n";
  chmod((dir_ / "credential").c_str(), 0600);

  const std::string log_vkey_file = (keys / "log.vkey").string();
  const std::string log_vkey = ReadText(keys / "log.vkey");
  const std::string log_origin = log_vkey.substr(0, log_vkey.find('+'));
  services_.push_back(StartService(dir_, "witness",
                                   {"witness", "--key", (keys / "witness.key").string(), "--dir",
                                    (dir_ / "witness").string(), "--log", log_vkey_file}));
  if (services_.back().address.empty()) return ::testing::AssertionFailure() << "witness did not start";
  services_.push_back(StartService(
      dir_, "tlog",
      {"tlog", "--key", (keys / "log.key").string(), "--dir", (dir_ / "log").string(), "--release-key",
       (keys / "release.pub").string(), "--directory-key", (keys / "directory.pub").string(), "--witness",
       services_.back().url() + " " + (keys / "witness.vkey").string(), "--refresh-interval", "60s"}));
  if (services_.back().address.empty()) return ::testing::AssertionFailure() << "tlog did not start";
  const std::string log_url = services_.back().url();

  // A release of the binary under test and the model, as `openpcc up` publishes one.
  const std::string binary = OpenpccBinary();
  auto measurement = attest::sim::MeasureFile(binary);
  if (!measurement.ok()) return ::testing::AssertionFailure() << measurement.error().message();
  const fs::path release = dir_ / "release.json";
  if (auto published = Cli({"release", "publish", "--key", (keys / "release.key").string(), "--log", log_url,
                            "--log-key", log_vkey_file, "--version", "stack-test", "--source-revision", "local",
                            "--binary", binary, "--model", "tiny=" + (dir_ / "tiny.gguf").string(),
                            "--measurement", "sim=" + HexEncode(*measurement), "--out", release.string()});
      !published) {
    return published;
  }

  issuer_ = std::make_unique<IssuerProcess>(std::vector<std::string>{}, WallNow());
  if (auto started = issuer_->Start(); !started) return started;
  api_key_ = issuer_->CreateAccountWithKey("stack-test", 10000, 100000);
  std::ofstream(dir_ / "api-key") << api_key_ << "\n";
  chmod((dir_ / "api-key").c_str(), 0600);

  auto release_pub = services::ReadEd25519PublicKey(keys / "release.pub");
  if (!release_pub.ok()) return ::testing::AssertionFailure() << release_pub.error().message();
  boost::json::object policy{
      {"version", 1},
      {"platforms", boost::json::array{"sim"}},
      {"roots", boost::json::object{{"sim", boost::json::array{(dir_ / "sim-root" / "sim-root.pem").string()}}}},
      {"log", boost::json::object{{"origin", log_origin},
                                  {"key", log_vkey},
                                  {"witnesses", boost::json::array{ReadText(keys / "witness.vkey").c_str()}},
                                  {"threshold", 1}}},
      {"release_keys", boost::json::array{HexEncode(release_pub->bytes())}}};
  std::ofstream(dir_ / "policy.json") << boost::json::serialize(policy);

  // The nodes first: they register with the operator address as soon as the gateway listens there.
  const std::string operator_listen = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  for (size_t i = 0; i < options.nodes.size(); ++i) {
    const StackNode& spec = options.nodes[i];
    std::vector<std::string> args = {
        "node", "--engine", "llama", "--model", (dir_ / "tiny.gguf").string(), "--model-name", "tiny",
        "--platform", "sim", "--sim-root-dir", (dir_ / "sim-root").string(), "--release", release.string(),
        "--log", log_url, "--log-key", log_vkey_file, "--witness", (keys / "witness.vkey").string(),
        "--threshold", "1", "--epoch-length", "86400s", "--max-tokens", std::to_string(options.max_tokens),
        "--context", std::to_string(options.context), "--slots", "2", "--engine-threads", "1"};
    if (spec.registers) {
      for (const std::string& a : {std::string("--gateway"), "http://" + operator_listen,
                                   std::string("--registration-credential"), (dir_ / "credential").string(),
                                   std::string("--register-interval"), std::string("1s")}) {
        args.push_back(a);
      }
    }
    args.insert(args.end(), spec.flags.begin(), spec.flags.end());
    nodes_.push_back(LaunchService(dir_, "node-" + std::to_string(i), std::move(args), spec.listen));
  }
  for (auto& n : nodes_) {
    if (!WaitReady(n, 120s)) return ::testing::AssertionFailure() << n.name << " did not start";
  }

  std::vector<std::string> gateway_args = {
      "gateway", "--operator-listen", operator_listen, "--operator-ready-file", (dir_ / "operator.ready").string(),
      "--state-dir", (dir_ / "gateway-state").string(), "--directory-key", (keys / "directory.key").string(),
      "--ohttp-key", (keys / "ohttp.key").string(), "--policy", (dir_ / "policy.json").string(),
      "--registration-credential", (dir_ / "credential").string(), "--issuer", issuer_->url(), "--log", log_url,
      "--epoch-seconds", "86400", "--startup-wait", "3s", "--health-interval", "1s"};
  gateway_args.insert(gateway_args.end(), options.gateway_flags.begin(), options.gateway_flags.end());
  gateway_ = StartService(dir_, "gateway", std::move(gateway_args));
  if (gateway_.address.empty()) return ::testing::AssertionFailure() << "gateway did not start";

  services_.push_back(StartService(dir_, "relay", {"relay", "--gateway", gateway_.url() + "/gateway"}));
  if (services_.back().address.empty()) return ::testing::AssertionFailure() << "relay did not start";
  relay_url_ = services_.back().url() + "/";
  return ::testing::AssertionSuccess();
}

fs::path Stack::WriteClientConfig(size_t min_nodes, const std::string& name) {
  auto directory_pub = services::ReadEd25519PublicKey(dir_ / "keys" / "directory.pub");
  EXPECT_TRUE(directory_pub.ok());
  const fs::path state = dir_ / (name + "-state");
  fs::create_directories(state);
  boost::json::object config{{"relay_url", relay_url_},
                             {"issuer_url", issuer_->url()},
                             {"api_key_file", (dir_ / "api-key").string()},
                             {"directory_key", HexEncode(directory_pub->bytes())},
                             {"bundle_policy", (dir_ / "policy.json").string()},
                             {"min_nodes", min_nodes},
                             {"state_dir", state.string()},
                             {"token_batch_size", 64},
                             {"empty_refill_delay_seconds", 1}};
  const fs::path file = dir_ / (name + ".json");
  std::ofstream(file) << boost::json::serialize(config);
  return file;
}

}  // namespace openpcc::testing
