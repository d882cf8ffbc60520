#include "support/issuer_process.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "support/cli.h"

namespace openpcc::testing {

IssuerProcess::IssuerProcess(std::vector<std::string> flags, int64_t start_time)
    : flags_(std::move(flags)), time_(start_time) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-issuer-XXXXXX").string();
  dir_ = mkdtemp(tmpl.data());
  state_dir_ = dir_ / "state";
  clock_file_ = dir_ / "clock";
  SetTime(start_time);
}

IssuerProcess::~IssuerProcess() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void IssuerProcess::SetTime(int64_t seconds) {
  time_ = seconds;
  const std::filesystem::path tmp = dir_ / "clock.tmp";
  std::ofstream(tmp) << seconds << "\n";
  std::filesystem::rename(tmp, clock_file_);
}

::testing::AssertionResult IssuerProcess::Start() {
  const std::string ready = (dir_ / "ready").string();
  std::filesystem::remove(ready);
  SubprocessOptions options;
  options.argv = {OpenpccBinary(),   "issuer",
                  "--listen",        "127.0.0.1:0",
                  "--ready-file",    ready,
                  "--state-dir",     state_dir_.string(),
                  "--testing-clock-file", clock_file_.string(),
                  "--rotation-check", "50ms",
                  "--log-level",     "warning"};
  options.argv.insert(options.argv.end(), flags_.begin(), flags_.end());
  options.log_path = (dir_ / "issuer.log").string();
  Result<Subprocess> started = Subprocess::Start(options);
  if (!started.ok()) return ::testing::AssertionFailure() << started.error().ToString();
  process_ = std::make_unique<Subprocess>(std::move(started).value());
  Result<std::string> address = WaitForFile(ready, std::chrono::seconds(60), process_.get());
  if (!address.ok()) {
    std::ifstream log(options.log_path);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return ::testing::AssertionFailure() << address.error().ToString() << "\n" << text;
  }
  // With --tls-cert among the flags the issuer serves HTTPS on the same loopback address.
  const bool tls = std::find(flags_.begin(), flags_.end(), "--tls-cert") != flags_.end();
  url_ = (tls ? "https://" : "http://") + address.value();
  return ::testing::AssertionSuccess();
}

void IssuerProcess::Stop() {
  if (process_) {
    EXPECT_EQ(process_->Stop(), 0);
    process_.reset();
  }
}

std::string IssuerProcess::Admin(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"issuer", "admin"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--state-dir");
  argv.push_back(state_dir_.string());
  CliResult r = RunCli(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

std::string IssuerProcess::CreateAccountWithKey(const std::string& name, uint32_t per_hour,
                                                uint32_t per_day) {
  Admin({"create-account", name, "--per-hour", std::to_string(per_hour), "--per-day",
         std::to_string(per_day)});
  std::string key = Admin({"create-key", name});
  while (!key.empty() && key.back() == '\n') key.pop_back();
  return key;
}

}  // namespace openpcc::testing
