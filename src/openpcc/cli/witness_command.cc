// `openpcc witness`: a C2SP tlog-witness (services/tlog/witness_service.h).
#include <cstdio>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/services/key_files.h"
#include "openpcc/services/process.h"
#include "openpcc/services/tlog/witness_service.h"

namespace openpcc::cli {

int RunWitness(const Args& args) {
  ServiceFlags flags;
  std::string state_dir = DefaultStateDir();
  std::string dir;
  std::string key;
  std::string name;
  std::vector<std::string> logs;
  OptionSet options(
      "witness [options]",
      "A transparency-log witness (C2SP tlog-witness, tlog-cosignature v1). POST /add-checkpoint\n"
      "takes \"old <size>\", a consistency proof and a checkpoint note; the witness verifies the\n"
      "log's signature and that the checkpoint extends the last one it saw (persisted before it\n"
      "answers), and returns its timestamped cosignature. It refuses a rollback (400), a fork (422),\n"
      "a wrong old size (409, body: the size it saw), a bad signature (403), an unknown log (404).");
  AddServiceFlags(options, flags, "127.0.0.1:7410");
  options.AddString("state-dir", &state_dir, "State directory (default: $OPENPCC_STATE_DIR, else ~/.local/state/openpcc).", "DIR");
  options.AddString("dir", &dir, "Where the last checkpoint of each log is kept (default: STATE-DIR/witness). One witness per directory: it is locked while the witness runs.", "DIR");
  options.AddString("key", &key, "Witness key, PEM PKCS#8 Ed25519 (default: STATE-DIR/keys/witness.key; `openpcc keys generate --kind witness`).", "FILE");
  options.AddString("name", &name, "The witness's key name (default: the name in KEY's .vkey beside it).", "NAME");
  options.AddList("log", &logs, "A witnessed log as \"ORIGIN VKEY\" (its origin and Ed25519 vkey, inline or a file), or just VKEY when the origin is the key's name; repeatable.", "\"ORIGIN VKEY\"");
  options.AddNotes(
      "Example config (--config FILE):\n"
      "  listen = 127.0.0.1:7410\n"
      "  key = /var/lib/openpcc/keys/witness.key\n"
      "  log = \"openpcc.local/log openpcc.local/log+1a2b3c4d+AW...\"\n");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "witness")) return *exit_status;
  auto fail = [](const Error& e, int code) {
    PrintError("witness", e);
    return code;
  };
  auto server_options = ToServerOptions(flags, "witness");
  if (!server_options.ok()) return fail(server_options.error(), kExitUsage);
  if (key.empty()) key = state_dir + "/keys/witness.key";
  if (dir.empty()) dir = state_dir + "/witness";
  if (name.empty()) {
    auto beside = services::NoteNameBeside(key);
    if (!beside.ok()) return fail(Error(beside.error().code(), "--name not given and " + beside.error().message()), kExitUsage);
    name = beside.value();
  }
  if (logs.empty()) {
    PrintError("witness", "no --log: the witness would cosign nothing");
    return kExitUsage;
  }
  std::vector<tlog::WitnessedLog> witnessed;
  for (const auto& entry : logs) {
    const size_t space = entry.find(' ');
    auto vkey = ReadVkeyArg("--log", space == std::string::npos ? entry : entry.substr(space + 1));
    if (!vkey.ok()) return fail(vkey.error(), kExitUsage);
    auto verifier = tlog::NoteVerifier::FromVkey(vkey.value());
    if (!verifier.ok()) return fail(Error(verifier.error().code(), "--log: " + verifier.error().message()), kExitUsage);
    std::string origin = space == std::string::npos ? verifier->name() : entry.substr(0, space);
    witnessed.push_back({origin, std::move(verifier).value()});
  }
  auto private_key = services::ReadEd25519PrivateKey(key);
  if (!private_key.ok()) return fail(private_key.error(), kExitFailure);
  auto cosigner = tlog::Cosigner::Create(name, std::move(private_key).value());
  if (!cosigner.ok()) return fail(cosigner.error(), kExitUsage);
  auto witness = tlog::Witness::Open(dir, std::move(cosigner).value(), std::move(witnessed));
  if (!witness.ok()) return fail(witness.error(), kExitFailure);

  services::BlockStopSignals();
  services::WitnessService service(std::move(witness).value(), SystemClock::Instance());
  auto server = net::Server::Start(server_options.value(), service.Routes());
  if (!server.ok()) return fail(server.error(), kExitFailure);
  const int rc = services::ServeUntilSignal(**server, ToProcessOptions(flags, "witness"));
  service.Stop();
  return rc;
}

}  // namespace openpcc::cli
