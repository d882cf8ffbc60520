// tests/support/relay_process.h — a real `openpcc relay` process for integration and interop
// tests: port 0 with a ready file, its own temporary directory and log, stopped in the destructor.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/util/subprocess.h"

namespace openpcc::testing {

class RelayProcess {
 public:
  // `gateway_url` is --gateway; `flags` are added after it (limits, --gateway-keys, ...).
  RelayProcess(std::string gateway_url, std::vector<std::string> flags = {});
  ~RelayProcess();

  ::testing::AssertionResult Start();
  // Stops with SIGTERM; the exit status (0 for a graceful stop).
  int Stop();

  std::string url() const { return url_; }  // http://127.0.0.1:PORT
  std::string log() const;                  // the process's stderr so far

 private:
  std::filesystem::path dir_;
  std::string gateway_url_;
  std::vector<std::string> flags_;
  std::unique_ptr<Subprocess> process_;
  std::string url_;
};

}  // namespace openpcc::testing
