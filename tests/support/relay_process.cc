#include "support/relay_process.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "support/cli.h"

namespace openpcc::testing {

RelayProcess::RelayProcess(std::string gateway_url, std::vector<std::string> flags)
    : gateway_url_(std::move(gateway_url)), flags_(std::move(flags)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-relay-XXXXXX").string();
  dir_ = mkdtemp(tmpl.data());
}

RelayProcess::~RelayProcess() {
  if (process_) Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RelayProcess::log() const {
  std::ifstream in(dir_ / "relay.log");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

::testing::AssertionResult RelayProcess::Start() {
  const std::string ready = (dir_ / "ready").string();
  std::filesystem::remove(ready);
  SubprocessOptions options;
  options.argv = {OpenpccBinary(), "relay",      "--listen",  "127.0.0.1:0", "--ready-file",
                  ready,           "--gateway",  gateway_url_, "--log-level", "warning"};
  options.argv.insert(options.argv.end(), flags_.begin(), flags_.end());
  options.log_path = (dir_ / "relay.log").string();
  Result<Subprocess> started = Subprocess::Start(options);
  if (!started.ok()) return ::testing::AssertionFailure() << started.error().ToString();
  process_ = std::make_unique<Subprocess>(std::move(started).value());
  Result<std::string> address = WaitForFile(ready, std::chrono::seconds(60), process_.get());
  if (!address.ok()) {
    return ::testing::AssertionFailure() << address.error().ToString() << "\n" << log();
  }
  url_ = "http://" + address.value();
  return ::testing::AssertionSuccess();
}

int RelayProcess::Stop() {
  if (!process_) return -1;
  const int status = process_->Stop();
  process_.reset();
  return status;
}

}  // namespace openpcc::testing
