// cli/options.h — one declarative description of a command's settings, read from a config file
// and overridden by flags, and the `--help` text generated from that same description.
//
// Every service and tool declares its options once (name, type, default, help). `Parse` reads
// `--config FILE` first, then the flags, so a flag always overrides the file; unknown flags and
// unknown config keys are errors that name the key and where it was found. The config file format
// is deliberately small:
//
//   # comment
//   listen = 127.0.0.1:7200
//   max-body = 1048576
//   witness = "w1 w1+abcd1234+AQ..."     # list options: one line per value
//
// Keys are the flag names without "--". Values may be quoted with "..." to keep spaces.
//
// Thread safety: single-threaded setup code.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/result.h"

namespace openpcc::cli {

// Parses "250ms", "30s", "5m", "1h", "2d" (a bare number is seconds).
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
std::string FormatDuration(std::chrono::milliseconds duration);

class OptionSet {
 public:
  // `usage` is the synopsis after the program name ("gateway [options]"); `description` a
  // paragraph on what the command does, printed by --help.
  OptionSet(std::string usage, std::string description);

  void AddString(std::string name, std::string* target, std::string help,
                 std::string value_name = "VALUE");
  void AddInt(std::string name, int64_t* target, std::string help, int64_t min, int64_t max);
  void AddBool(std::string name, bool* target, std::string help);
  void AddDuration(std::string name, std::chrono::milliseconds* target, std::string help);
  // Repeatable: each flag occurrence or config line appends. Flags replace the file's values.
  void AddList(std::string name, std::vector<std::string>* target, std::string help,
               std::string value_name = "VALUE");
  // A positional argument, in declaration order.
  void AddPositional(std::string name, std::string* target, std::string help, bool required);
  // Positional arguments after the declared ones are collected here (e.g. a chat prompt).
  void AddRest(std::string name, std::vector<std::string>* target, std::string help);
  // Free text appended to --help (examples, an example config).
  void AddNotes(std::string notes);
  // Disables --config for commands that have no settings worth a file.
  void DisableConfigFile() { config_enabled_ = false; }

  enum class Outcome { kRun, kHelpShown };
  // args excludes the program and command names. On kHelpShown the help text went to stdout.
  Result<Outcome> Parse(const std::vector<std::string>& args);
  // Applies a config file's text directly (tests; Parse uses it for --config).
  Status ApplyConfigText(std::string_view text, std::string_view source_name);

  std::string Help() const;

 private:
  enum class Kind { kString, kInt, kBool, kDuration, kList };
  struct Option {
    std::string name;
    Kind kind;
    std::string help;
    std::string value_name;
    std::string default_text;
    std::function<Status(std::string_view)> set;
    std::function<void()> clear;  // lists: forget the config file's values before flags
    int64_t min = 0;
    int64_t max = 0;
    bool set_by_flag = false;
  };
  struct Positional {
    std::string name;
    std::string* target;
    std::string help;
    bool required;
  };

  Option& Add(std::string name, Kind kind, std::string help, std::string value_name,
              std::string default_text);
  Option* Find(std::string_view name);
  Status Set(Option& option, std::string_view value, std::string_view where);

  std::string usage_;
  std::string description_;
  std::string notes_;
  std::vector<Option> options_;
  std::vector<Positional> positionals_;
  std::vector<std::string>* rest_ = nullptr;
  std::string rest_name_;
  std::string rest_help_;
  bool config_enabled_ = true;
};

}  // namespace openpcc::cli
