// The `openpcc` binary: one executable, a subcommand per role (DESIGN §4).
#include <cstdio>
#include <string>

#include "openpcc/cli/commands.h"

namespace {

void PrintUsage() {
  std::printf(
      "Usage: openpcc COMMAND [options]\n\n"
      "OpenPCC: confidential LLM inference on commodity TEEs. Prompts are sealed to attested\n"
      "nodes, pass an anonymizing OHTTP relay and are paid for with unlinkable Privacy Pass\n"
      "tokens. Run 'openpcc COMMAND --help' for a command's options and config file.\n\n"
      "Commands:\n");
  for (const openpcc::cli::Command& command : openpcc::cli::AllCommands()) {
    std::printf("  %-10.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                static_cast<int>(command.summary.size()), command.summary.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    PrintUsage();
    return argc < 2 ? openpcc::cli::kExitUsage : openpcc::cli::kExitOk;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("openpcc %s\n", OPENPCC_VERSION);
    return openpcc::cli::kExitOk;
  }
  for (const openpcc::cli::Command& command : openpcc::cli::AllCommands()) {
    if (command.name == name) {
      return command.run(openpcc::cli::Args(argv + 2, argv + argc));
    }
  }
  std::fprintf(stderr, "openpcc: unknown command '%s' (see 'openpcc --help')\n", name.c_str());
  return openpcc::cli::kExitUsage;
}
