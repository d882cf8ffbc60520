// cli/tlog_cli.h — pieces shared by the transparency-log commands (tlog, witness, release, keys):
// the default state directory, and reading a vkey given inline or as a file.
#pragma once

#include <string>
#include <string_view>

#include "openpcc/util/result.h"

namespace openpcc::cli {

// $OPENPCC_STATE_DIR, else $XDG_STATE_HOME/openpcc, else $HOME/.local/state/openpcc.
std::string DefaultStateDir();

// `value` is a vkey ("name+hex+base64") or the path of a file holding one.
Result<std::string> ReadVkeyArg(std::string_view flag, const std::string& value);

}  // namespace openpcc::cli
