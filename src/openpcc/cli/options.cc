#include "openpcc/cli/options.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace openpcc::cli {
namespace {

Error Usage(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// A config value: "quoted" (with \" and \\ escapes) or bare up to an unquoted '#'.
Result<std::string> ConfigValue(std::string_view raw, std::string_view where) {
  raw = Trim(raw);
  if (!raw.empty() && raw.front() == '"') {
    std::string out;
    size_t i = 1;
    for (; i < raw.size() && raw[i] != '"'; ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
      out += raw[i];
    }
    if (i >= raw.size()) return Usage(std::string(where) + ": unterminated quoted value");
    std::string_view after = Trim(raw.substr(i + 1));
    if (!after.empty() && after.front() != '#') {
      return Usage(std::string(where) + ": unexpected text after the quoted value");
    }
    return out;
  }
  size_t hash = raw.find('#');
  return std::string(Trim(raw.substr(0, hash)));
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  using namespace std::chrono;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) {
    return Usage("duration '" + std::string(text) + "': expected a number and a unit (ms, s, m, h, d)");
  }
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  std::string_view unit = text.substr(digits);
  if (unit == "ms") return milliseconds(value);
  if (unit == "s" || unit.empty()) return milliseconds(seconds(value));
  if (unit == "m") return milliseconds(minutes(value));
  if (unit == "h") return milliseconds(hours(value));
  if (unit == "d") return milliseconds(hours(24 * value));
  return Usage("duration '" + std::string(text) + "': unknown unit '" + std::string(unit) +
               "' (ms, s, m, h, d)");
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms != 0 && ms % 86400000 == 0) return std::to_string(ms / 86400000) + "d";
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

OptionSet::OptionSet(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

void OptionSet::AddString(std::string name, std::string* target, std::string help,
                          std::string value_name) {
  Option& option =
      Add(std::move(name), Kind::kString, std::move(help), std::move(value_name), *target);
  option.set = [target](std::string_view v) -> Status {
    *target = std::string(v);
    return OkStatus();
  };
}

void OptionSet::AddInt(std::string name, int64_t* target, std::string help, int64_t min,
                       int64_t max) {
  Option& option = Add(std::move(name), Kind::kInt, std::move(help), "N", std::to_string(*target));
  option.min = min;
  option.max = max;
  option.set = [target, min, max](std::string_view v) -> Status {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec != std::errc() || end != v.data() + v.size()) {
      return Usage("expected an integer, got '" + std::string(v) + "'");
    }
    if (value < min || value > max) {
      return Usage("value " + std::to_string(value) + " is outside " + std::to_string(min) +
                   ".." + std::to_string(max));
    }
    *target = value;
    return OkStatus();
  };
}

void OptionSet::AddBool(std::string name, bool* target, std::string help) {
  Option& option =
      Add(std::move(name), Kind::kBool, std::move(help), "", *target ? "true" : "false");
  option.set = [target](std::string_view v) -> Status {
    if (v == "true" || v == "1" || v == "yes") {
      *target = true;
    } else if (v == "false" || v == "0" || v == "no") {
      *target = false;
    } else {
      return Usage("expected true or false, got '" + std::string(v) + "'");
    }
    return OkStatus();
  };
}

void OptionSet::AddDuration(std::string name, std::chrono::milliseconds* target,
                            std::string help) {
  Option& option =
      Add(std::move(name), Kind::kDuration, std::move(help), "DURATION", FormatDuration(*target));
  option.set = [target](std::string_view v) -> Status {
    OPENPCC_ASSIGN_OR_RETURN(*target, ParseDuration(v));
    return OkStatus();
  };
}

void OptionSet::AddList(std::string name, std::vector<std::string>* target, std::string help,
                        std::string value_name) {
  std::string defaults;
  for (const std::string& v : *target) defaults += (defaults.empty() ? "" : ", ") + v;
  Option& option =
      Add(std::move(name), Kind::kList, std::move(help), std::move(value_name), defaults);
  option.set = [target](std::string_view v) -> Status {
    target->emplace_back(v);
    return OkStatus();
  };
  option.clear = [target] { target->clear(); };
}

void OptionSet::AddPositional(std::string name, std::string* target, std::string help,
                              bool required) {
  positionals_.push_back({std::move(name), target, std::move(help), required});
}

void OptionSet::AddRest(std::string name, std::vector<std::string>* target, std::string help) {
  rest_ = target;
  rest_name_ = std::move(name);
  rest_help_ = std::move(help);
}

void OptionSet::AddNotes(std::string notes) { notes_ = std::move(notes); }

OptionSet::Option& OptionSet::Add(std::string name, Kind kind, std::string help,
                                  std::string value_name, std::string default_text) {
  Option& option = options_.emplace_back();
  option.name = std::move(name);
  option.kind = kind;
  option.help = std::move(help);
  option.value_name = std::move(value_name);
  option.default_text = std::move(default_text);
  return option;
}

OptionSet::Option* OptionSet::Find(std::string_view name) {
  for (Option& option : options_) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

Status OptionSet::Set(Option& option, std::string_view value, std::string_view where) {
  Status status = option.set(value);
  if (!status.ok()) {
    return Usage(std::string(where) + ": " + option.name + ": " + status.error().message());
  }
  return OkStatus();
}

Status OptionSet::ApplyConfigText(std::string_view text, std::string_view source_name) {
  size_t line_number = 0;
  std::vector<std::string> cleared;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    std::string where = std::string(source_name) + ":" + std::to_string(line_number);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return Usage(where + ": expected 'key = value'");
    }
    std::string_view key = Trim(line.substr(0, equals));
    Option* option = Find(key);
    if (option == nullptr || key == "config") {
      return Usage(where + ": unknown setting '" + std::string(key) + "' (see --help)");
    }
    OPENPCC_ASSIGN_OR_RETURN(std::string value, ConfigValue(line.substr(equals + 1), where));
    if (option->kind == Kind::kList &&
        std::find(cleared.begin(), cleared.end(), option->name) == cleared.end()) {
      option->clear();  // the file's list replaces the built-in defaults
      cleared.push_back(option->name);
    }
    OPENPCC_RETURN_IF_ERROR(Set(*option, value, where));
  }
  return OkStatus();
}

Result<OptionSet::Outcome> OptionSet::Parse(const std::vector<std::string>& args) {
  // Pass 1: --help and --config, so the file is applied before any flag overrides it.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "-h" || args[i] == "--help") {
      std::fputs(Help().c_str(), stdout);
      return Outcome::kHelpShown;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;
    std::string_view arg = args[i];
    std::string path;
    if (arg == "--config") {
      if (i + 1 >= args.size()) return Usage("--config: expected a file name");
      path = args[i + 1];
    } else if (arg.rfind("--config=", 0) == 0) {
      path = std::string(arg.substr(9));
    } else {
      continue;
    }
    if (!config_enabled_) return Usage("--config: this command takes no config file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Usage("--config: cannot read '" + path + "'");
    std::stringstream buffer;
    buffer << in.rdbuf();
    OPENPCC_RETURN_IF_ERROR(ApplyConfigText(buffer.str(), path));
  }
  // Pass 2: flags and positionals.
  size_t positional = 0;
  bool only_positionals = false;
  std::vector<std::string> flag_cleared;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!only_positionals && arg == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && arg.size() > 2 && arg.substr(0, 2) == "--") {
      std::string_view body = arg.substr(2);
      std::optional<std::string_view> inline_value;
      if (size_t eq = body.find('='); eq != std::string_view::npos) {
        inline_value = body.substr(eq + 1);
        body = body.substr(0, eq);
      }
      if (body == "config") {
        if (!inline_value) ++i;
        continue;
      }
      Option* option = Find(body);
      bool negated = false;
      if (option == nullptr && body.rfind("no-", 0) == 0) {
        option = Find(body.substr(3));
        negated = option != nullptr && option->kind == Kind::kBool;
        if (!negated) option = nullptr;
      }
      if (option == nullptr) {
        return Usage("unknown option '--" + std::string(body) + "' (see --help)");
      }
      std::string where = "--" + option->name;
      if (option->kind == Kind::kBool && !inline_value) {
        OPENPCC_RETURN_IF_ERROR(Set(*option, negated ? "false" : "true", "flag"));
        continue;
      }
      std::string value;
      if (inline_value) {
        value = std::string(*inline_value);
      } else {
        if (i + 1 >= args.size()) return Usage(where + ": expected a value");
        value = args[++i];
      }
      if (option->kind == Kind::kList &&
          std::find(flag_cleared.begin(), flag_cleared.end(), option->name) ==
              flag_cleared.end()) {
        option->clear();  // flags replace the config file's list
        flag_cleared.push_back(option->name);
      }
      OPENPCC_RETURN_IF_ERROR(Set(*option, value, "flag"));
      continue;
    }
    if (positional < positionals_.size()) {
      *positionals_[positional++].target = std::string(arg);
    } else if (rest_ != nullptr) {
      rest_->emplace_back(arg);
    } else {
      return Usage("unexpected argument '" + std::string(arg) + "' (see --help)");
    }
  }
  for (size_t p = positional; p < positionals_.size(); ++p) {
    if (positionals_[p].required) return Usage("missing argument " + positionals_[p].name);
  }
  return Outcome::kRun;
}

std::string OptionSet::Help() const {
  std::string out = "Usage: openpcc " + usage_ + "\n\n" + description_ + "\n";
  if (!positionals_.empty() || rest_ != nullptr) {
    out += "\nArguments:\n";
    for (const Positional& p : positionals_) {
      out += "  " + p.name + (p.required ? "" : " (optional)") + "\n      " + p.help + "\n";
    }
    if (rest_ != nullptr) out += "  " + rest_name_ + "...\n      " + rest_help_ + "\n";
  }
  out += config_enabled_ ? "\nOptions (each may also be set in the --config file as 'name = value'):\n"
                         : "\nOptions:\n";
  for (const Option& o : options_) {
    std::string flag = "  --" + o.name;
    if (o.kind != Kind::kBool) flag += " " + o.value_name;
    if (o.kind == Kind::kList) flag += " (repeatable)";
    out += flag + "\n      " + o.help;
    if (o.kind == Kind::kInt) {
      out += " [" + std::to_string(o.min) + ".." + std::to_string(o.max) + "]";
    }
    if (!o.default_text.empty()) out += " (default: " + o.default_text + ")";
    out += "\n";
  }
  if (config_enabled_) {
    out += "  --config FILE\n      Read settings from FILE first; flags override it.\n";
  }
  out += "  -h, --help\n      Show this help.\n";
  if (!notes_.empty()) out += "\n" + notes_ + "\n";
  return out;
}

}  // namespace openpcc::cli
