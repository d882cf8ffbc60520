// tests/support/issuer_process.h — a real `openpcc issuer` process for integration and interop
// tests: its own state directory, a test clock file (--testing-clock-file) so quota windows and key
// rotation move without waiting, port 0 with a ready file, and `openpcc issuer admin` for accounts.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/util/subprocess.h"

namespace openpcc::testing {

class IssuerProcess {
 public:
  // `flags` are added to every start (e.g. rotation settings, --tls-cert/--tls-key).
  explicit IssuerProcess(std::vector<std::string> flags = {}, int64_t start_time = 1'700'000'000);
  ~IssuerProcess();

  ::testing::AssertionResult Start();
  void Stop();
  // Moves the issuer's clock (seconds since the epoch).
  void SetTime(int64_t seconds);
  int64_t time() const { return time_; }

  std::string url() const { return url_; }  // http://127.0.0.1:PORT (https:// with --tls-cert)
  const std::filesystem::path& state_dir() const { return state_dir_; }
  // `openpcc issuer admin ARGS... --state-dir DIR`; stdout, or a test failure.
  std::string Admin(const std::vector<std::string>& args);
  // A new account with these quotas and one API key for it.
  std::string CreateAccountWithKey(const std::string& name, uint32_t per_hour, uint32_t per_day);

 private:
  std::filesystem::path dir_;
  std::filesystem::path state_dir_;
  std::filesystem::path clock_file_;
  std::vector<std::string> flags_;
  int64_t time_;
  std::unique_ptr<Subprocess> process_;
  std::string url_;
};

}  // namespace openpcc::testing
