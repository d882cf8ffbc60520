#include "openpcc/cli/commands.h"

namespace openpcc::cli {

int RunEvidence(const Args& args);

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"evidence", "Verify TEE and GPU evidence offline (evidence verify --help)", RunEvidence},
  };
  return commands;
}

}  // namespace openpcc::cli
