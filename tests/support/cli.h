// tests/support/cli.h — runs the real `openpcc` binary as a user would, capturing its exit status,
// stdout and stderr separately.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace openpcc::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Path of the openpcc binary under test (set by CMake).
std::string OpenpccBinary();

CliResult RunCli(const std::vector<std::string>& args);
// As RunCli, with `input` as the command's standard input (EOF after it).
CliResult RunCliWithInput(const std::vector<std::string>& args, std::string_view input);

}  // namespace openpcc::testing
