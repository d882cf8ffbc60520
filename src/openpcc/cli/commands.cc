#include "openpcc/cli/commands.h"

namespace openpcc::cli {

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {};
  return commands;
}

}  // namespace openpcc::cli
