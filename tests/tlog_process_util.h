// Helpers of the tests that run the real `openpcc tlog`, `openpcc witness` and tools on loopback.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "openpcc/services/key_files.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/util/subprocess.h"
#include "support/cli.h"
#include "tlog_test_util.h"

namespace openpcc::tlog::testing {

using namespace std::chrono_literals;

// A service process started with --listen 127.0.0.1:0 and a ready file.
struct Service {
  Subprocess process;
  std::string url;  // "http://127.0.0.1:PORT"
};

inline Result<Service> StartService(const std::filesystem::path& work, const std::string& name,
                                    std::vector<std::string> args) {
  const std::filesystem::path ready = work / (name + ".ready");
  std::filesystem::remove(ready);
  SubprocessOptions options;
  options.argv = {openpcc::testing::OpenpccBinary()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  for (const char* a : {"--listen", "127.0.0.1:0", "--ready-file"}) options.argv.push_back(a);
  options.argv.push_back(ready.string());
  options.argv.push_back("--log-level");
  options.argv.push_back("warning");
  options.log_path = (work / (name + ".log")).string();
  options.env = {"OPENPCC_STATE_DIR=" + (work / "state").string()};
  OPENPCC_ASSIGN_OR_RETURN(Subprocess process, Subprocess::Start(options));
  OPENPCC_ASSIGN_OR_RETURN(std::string address, WaitForFile(ready.string(), 20s, &process));
  return Service{std::move(process), "http://" + address};
}

inline void GenerateKey(const std::filesystem::path& keys, const std::string& kind, const std::string& name) {
  auto result = openpcc::testing::RunCli({"keys", "generate", "--kind", kind, "--out", keys.string(), "--name", name});
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

inline std::string ReadText(const std::filesystem::path& path) {
  auto bytes = services::ReadKeyFile(path, false);
  if (!bytes.ok()) return "";
  std::string text(AsChars(bytes.value().view()));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

inline crypto::Ed25519PrivateKey ReadPrivate(const std::filesystem::path& path) {
  return std::move(services::ReadEd25519PrivateKey(path)).value();
}

// Polls `predicate` every 100 ms for up to `timeout`.
template <typename F>
bool Eventually(F predicate, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return predicate();
}

}  // namespace openpcc::tlog::testing
