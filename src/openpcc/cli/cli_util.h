// cli/cli_util.h — small helpers shared by the commands: reading files named on the command
// line, printing JSON for people and scripts, and reporting errors the same way everywhere.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::cli {

inline constexpr size_t kMaxInputFileBytes = size_t{64} << 20;

// The whole file; the error names the flag it came from ("--report: cannot read 'x': ...").
Result<Bytes> ReadInputFile(std::string_view flag, const std::string& path);

// Indented JSON with a trailing newline, keys in the object's order.
std::string PrettyJson(const boost::json::value& value);

// "openpcc <command>: <error message>" on stderr.
void PrintError(std::string_view command, const Error& error);
void PrintError(std::string_view command, std::string_view message);

class OptionSet;
// Parses a command's `args` into `options`. std::nullopt: run the command; otherwise the exit
// status to return at once — 0 after --help, 2 after a usage error (printed, naming `command`).
std::optional<int> ParseOrExitStatus(OptionSet& options, const std::vector<std::string>& args,
                                     std::string_view command);

// `--at` values: "now" (the wall clock, the only place a command reads it) or a UTC time.
Result<std::chrono::sys_seconds> ParseAtTime(std::string_view flag, std::string_view text);

}  // namespace openpcc::cli
