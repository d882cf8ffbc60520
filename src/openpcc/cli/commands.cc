#include "openpcc/cli/commands.h"

namespace openpcc::cli {

int RunEvidence(const Args& args);
int RunKeys(const Args& args);
int RunRelease(const Args& args);
int RunTlog(const Args& args);
int RunWitness(const Args& args);
int RunIssuer(const Args& args);
int RunNode(const Args& args);
int RunRelay(const Args& args);
int RunUp(const Args& args);
int RunGateway(const Args& args);
int RunProxy(const Args& args);
int RunChat(const Args& args);
#if OPENPCC_HAVE_LLAMA
int RunModel(const Args& args);
#endif

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"evidence", "Verify TEE and GPU evidence offline (evidence verify --help)", RunEvidence},
      {"issuer", "Privacy Pass token issuer (127.0.0.1:7300); 'issuer admin' manages accounts",
       RunIssuer},
#if OPENPCC_HAVE_LLAMA
      {"model", "Make a tiny random-weight GGUF model for tests and demos (model make-tiny)",
       RunModel},
#endif
      {"keys", "Generate, rotate and show operator keys (keys generate|rotate|show --help)", RunKeys},
      {"tlog", "Serve the transparency log; `tlog monitor` follows one (tlog --help)", RunTlog},
      {"witness", "Witness a transparency log: check consistency and cosign (witness --help)", RunWitness},
      {"release", "Sign and log a release, revocation or minimum-TCB notice (release --help)", RunRelease},
      {"node", "Run a confidential inference node (llama.cpp or an OpenAI-compatible upstream)",
       RunNode},
      {"relay", "Oblivious HTTP relay in front of one gateway (127.0.0.1:7100)", RunRelay},
      {"up", "Run the whole service on this machine (simulated TEE, tiny model by default)", RunUp},
      {"gateway", "OHTTP gateway: node directory, token redemption, routing (127.0.0.1:7200)", RunGateway},
      {"proxy", "Local OpenAI-compatible server over the confidential path (127.0.0.1:7600)", RunProxy},
      {"chat", "Chat through the confidential path: one-shot `chat \"prompt\"` or interactive", RunChat},
  };
  return commands;
}

}  // namespace openpcc::cli
