#include "openpcc/cli/commands.h"

namespace openpcc::cli {

int RunEvidence(const Args& args);
int RunNode(const Args& args);
#if OPENPCC_HAVE_LLAMA
int RunModel(const Args& args);
#endif

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"evidence", "Verify TEE and GPU evidence offline (evidence verify --help)", RunEvidence},
#if OPENPCC_HAVE_LLAMA
      {"model", "Make a tiny random-weight GGUF model for tests and demos (model make-tiny)",
       RunModel},
#endif
      {"node", "Run a confidential inference node (llama.cpp or an OpenAI-compatible upstream)",
       RunNode},
  };
  return commands;
}

}  // namespace openpcc::cli
