#include "openpcc/cli/tlog_cli.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include "openpcc/cli/cli_util.h"

namespace openpcc::cli {

std::string DefaultStateDir() {
  if (const char* dir = std::getenv("OPENPCC_STATE_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/openpcc";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return std::string(home) + "/.local/state/openpcc";
  return ".openpcc-state";
}

Result<std::string> ReadVkeyArg(std::string_view flag, const std::string& value) {
  std::error_code ec;
  if (value.find('+') == std::string::npos || std::filesystem::is_regular_file(value, ec)) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, ReadInputFile(flag, value));
    std::string text(AsChars(bytes));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    return text;
  }
  return value;
}

}  // namespace openpcc::cli
