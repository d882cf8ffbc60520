#include "openpcc/cli/cli_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <boost/json.hpp>

#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/clock.h"

namespace openpcc::cli {
namespace {

void Indent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

void Pretty(std::string& out, const boost::json::value& value, int depth) {
  if (value.is_object()) {
    const boost::json::object& object = value.as_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : object) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, depth + 1);
      out += boost::json::serialize(boost::json::value(member.key()));
      out += ": ";
      Pretty(out, member.value(), depth + 1);
    }
    out += "\n";
    Indent(out, depth);
    out += "}";
  } else if (value.is_array()) {
    const boost::json::array& array = value.as_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < array.size(); ++i) {
      if (i > 0) out += ",\n";
      Indent(out, depth + 1);
      Pretty(out, array[i], depth + 1);
    }
    out += "\n";
    Indent(out, depth);
    out += "]";
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

Result<Bytes> ReadInputFile(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kInvalidArgument, std::string(flag) + ": cannot read '" + path +
                                                  "': " + std::strerror(errno));
  }
  Bytes out;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    out.insert(out.end(), buffer, buffer + in.gcount());
    if (out.size() > kMaxInputFileBytes) {
      return Error(ErrorCode::kOutOfRange, std::string(flag) + ": '" + path + "' is larger than " +
                                               std::to_string(kMaxInputFileBytes) + " bytes");
    }
  }
  return out;
}

std::string PrettyJson(const boost::json::value& value) {
  std::string out;
  Pretty(out, value, 0);
  out += "\n";
  return out;
}

void PrintError(std::string_view command, const Error& error) {
  PrintError(command, error.message());
}

void PrintError(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "openpcc %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
}

Result<std::chrono::sys_seconds> ParseAtTime(std::string_view flag, std::string_view text) {
  if (text == "now") return SystemClock::Instance().NowSeconds();
  Result<std::chrono::sys_seconds> time = crypto::ParseUtcTime(text);
  if (!time.ok()) {
    return Error(ErrorCode::kInvalidArgument, std::string(flag) + ": " + time.error().message());
  }
  return time;
}

std::optional<int> ParseOrExitStatus(OptionSet& options, const std::vector<std::string>& args,
                                     std::string_view command) {
  Result<OptionSet::Outcome> parsed = options.Parse(args);
  if (!parsed.ok()) {
    PrintError(command, parsed.error());
    return kExitUsage;
  }
  if (parsed.value() == OptionSet::Outcome::kHelpShown) return kExitOk;
  return std::nullopt;
}

}  // namespace openpcc::cli
