// cli/commands.h — the subcommands of the `openpcc` binary.
//
// Each command takes its arguments (after the command name) and returns the process exit status:
// 0 success, 1 the operation failed (a check refused, a service stopped on error), 2 usage error.
// Commands print errors to stderr naming what failed; they never print secrets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace openpcc::cli {

using Args = std::vector<std::string>;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const Args& args);
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// All commands, in the order `openpcc --help` lists them.
const std::vector<Command>& AllCommands();

}  // namespace openpcc::cli
