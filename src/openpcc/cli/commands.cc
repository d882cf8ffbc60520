#include "openpcc/cli/commands.h"

#include <cstdio>

#include "openpcc/cli/evidence_tpm.h"

namespace openpcc::cli {
namespace {

// `openpcc evidence verify --type TYPE ...`: dispatches on --type to the platform's verifier.
int RunEvidence(const Args& args) {
  if (args.empty() || args[0] != "verify") {
    std::fprintf(stderr, "usage: openpcc evidence verify --type tpm [options] (see --help)\n");
    return kExitUsage;
  }
  Args rest(args.begin() + 1, args.end());
  std::string type;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == "--type" && i + 1 < rest.size()) type = rest[i + 1];
    if (rest[i].rfind("--type=", 0) == 0) type = rest[i].substr(7);
  }
  if (type == "tpm") return RunEvidenceVerifyTpm(rest);
  std::fprintf(stderr, "openpcc evidence verify: --type '%s' is not supported (tpm is)\n",
               type.c_str());
  return kExitUsage;
}

}  // namespace

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"evidence", "verify platform evidence offline (evidence verify --type tpm ...)", RunEvidence},
  };
  return commands;
}

}  // namespace openpcc::cli
