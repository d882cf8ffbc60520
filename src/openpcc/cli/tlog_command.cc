// `openpcc tlog`: serves the transparency log (services/tlog/tlog_service.h);
// `openpcc tlog monitor`: follows a log under the client log policy and prints every new entry.
#include <cstdio>
#include <filesystem>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/services/key_files.h"
#include "openpcc/services/process.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/services/tlog/tlog_service.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/util/clock.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kDefaultOrigin = "openpcc.local/log";

Result<tlog::EntryKeyring> LoadKeyring(const std::vector<std::string>& release_keys,
                                       const std::vector<std::string>& directory_keys) {
  tlog::EntryKeyring keyring;
  for (const auto& path : release_keys) {
    OPENPCC_ASSIGN_OR_RETURN(auto key, services::ReadEd25519PublicKey(path));
    keyring.AddReleaseKey(key);
  }
  for (const auto& path : directory_keys) {
    OPENPCC_ASSIGN_OR_RETURN(auto key, services::ReadEd25519PublicKey(path));
    keyring.AddDirectoryKey(key);
  }
  return keyring;
}

Result<services::TestingCrashPoint> ParseCrashPoint(std::string_view text) {
  if (text.empty()) return services::TestingCrashPoint::kNone;
  if (text == "write") return services::TestingCrashPoint::kWrite;
  if (text == "fsync") return services::TestingCrashPoint::kFsync;
  if (text == "checkpoint") return services::TestingCrashPoint::kCheckpoint;
  if (text == "ack") return services::TestingCrashPoint::kAck;
  return Error(ErrorCode::kInvalidArgument,
               "--testing-crash-at: expected write, fsync, checkpoint or ack, got '" + std::string(text) + "'");
}

int Serve(const Args& args) {
  ServiceFlags flags;
  std::string state_dir = DefaultStateDir();
  std::string dir;
  std::string key;
  std::string origin;
  std::vector<std::string> release_keys;
  std::vector<std::string> directory_keys;
  std::vector<std::string> witnesses;
  std::chrono::milliseconds refresh{5 * 60 * 1000};
  std::chrono::milliseconds witness_timeout{10'000};
  int64_t max_batch = 4096;
  int64_t witness_quorum = static_cast<int64_t>(services::kDefaultWitnessQuorum);
  std::string crash_at;
  int64_t crash_on_append = 1;
  OptionSet options(
      "tlog [options]",
      "Serves the append-only transparency log of releases and node directories (DESIGN §2.6):\n"
      "GET /checkpoint (the signed checkpoint with the witnesses' cosignatures), GET /tile/...\n"
      "(C2SP tlog-tiles) and POST /add (signed entries; answered with index, inclusion proof and\n"
      "checkpoint once durable). Only entries signed by a configured release or directory key are\n"
      "accepted. The checkpoint is sent to every witness after each append and at least once per\n"
      "--refresh-interval, so its cosignatures stay fresh. GET /checkpoint serves the newest\n"
      "checkpoint that --witness-quorum witnesses have cosigned (a new one replaces it once cosigned;\n"
      "without witnesses, the newest). `openpcc tlog monitor --help` follows a log.");
  AddServiceFlags(options, flags, "127.0.0.1:7400");
  options.AddString("state-dir", &state_dir, "State directory (default: $OPENPCC_STATE_DIR, else ~/.local/state/openpcc).", "DIR");
  options.AddString("dir", &dir, "Log directory (default: STATE-DIR/tlog). One process per directory.", "DIR");
  options.AddString("key", &key, "Log signing key, PEM PKCS#8 Ed25519 (default: STATE-DIR/keys/log.key; `openpcc keys generate --kind log`).", "FILE");
  options.AddString("origin", &origin, "Checkpoint origin, also the log key's name (default: the name in KEY's .vkey beside it, else openpcc.local/log).", "ORIGIN");
  options.AddList("release-key", &release_keys, "Public key (PEM SPKI) accepted for release manifests, revocations and minimum-TCB notices; repeatable.", "FILE");
  options.AddList("directory-key", &directory_keys, "Public key (PEM SPKI) accepted for node directories; repeatable.", "FILE");
  options.AddList("witness", &witnesses, "A witness as \"URL VKEY\" (its base URL and cosignature/v1 vkey, inline or a file); repeatable.", "\"URL VKEY\"");
  options.AddInt("witness-quorum", &witness_quorum,
                 "Witness cosignatures a new checkpoint needs before GET /checkpoint serves it; until then the "
                 "previous cosigned one is served. Set it to the largest --threshold clients use; at most the "
                 "number of --witness (the default is lowered to that number when fewer are given).", 1, 64);
  options.AddDuration("refresh-interval", &refresh, "Send the checkpoint to the witnesses at least this often, even without growth (freshness).");
  options.AddDuration("witness-timeout", &witness_timeout, "Give up on a witness request after this long.");
  options.AddInt("max-batch", &max_batch, "Most entries appended (and fsynced) together.", 1, 65536);
  options.AddString("testing-crash-at", &crash_at,
                    "TESTS ONLY: SIGKILL this process at write, fsync, checkpoint or ack of the append "
                    "numbered --testing-crash-on-append, to test crash safety. Never use in production.", "POINT");
  options.AddInt("testing-crash-on-append", &crash_on_append, "TESTS ONLY: which append (1-based, since start) --testing-crash-at applies to.", 1, INT64_MAX);
  options.AddNotes(
      "Example config (--config FILE):\n"
      "  listen = 127.0.0.1:7400\n"
      "  key = /var/lib/openpcc/keys/log.key\n"
      "  release-key = /var/lib/openpcc/keys/release.pub\n"
      "  directory-key = /var/lib/openpcc/keys/directory.pub\n"
      "  witness = \"http://127.0.0.1:7410 witness-1+0a1b2c3d+BP...\"\n"
      "  refresh-interval = 5m\n");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "tlog")) return *exit_status;

  auto fail = [](const Error& e, int code) {
    PrintError("tlog", e);
    return code;
  };
  auto server_options = ToServerOptions(flags, "tlog");
  if (!server_options.ok()) return fail(server_options.error(), kExitUsage);
  auto crash = ParseCrashPoint(crash_at);
  if (!crash.ok()) return fail(crash.error(), kExitUsage);
  if (key.empty()) key = state_dir + "/keys/log.key";
  if (dir.empty()) dir = state_dir + "/tlog";
  if (origin.empty()) {
    auto beside = services::NoteNameBeside(key);
    origin = beside.ok() ? beside.value() : std::string(kDefaultOrigin);
  }
  auto private_key = services::ReadEd25519PrivateKey(key);
  if (!private_key.ok()) return fail(private_key.error(), kExitFailure);
  auto signer = tlog::NoteSigner::Create(origin, std::move(private_key).value());
  if (!signer.ok()) return fail(signer.error(), kExitUsage);
  auto keyring = LoadKeyring(release_keys, directory_keys);
  if (!keyring.ok()) return fail(keyring.error(), kExitFailure);
  if (release_keys.empty() && directory_keys.empty()) {
    PrintError("tlog", "no --release-key or --directory-key: the log would accept no entry");
    return kExitUsage;
  }

  services::TlogServiceOptions service_options;
  service_options.dir = dir;
  service_options.origin = origin;
  service_options.keyring = std::move(keyring).value();
  for (const auto& w : witnesses) {
    const size_t space = w.find(' ');
    if (space == std::string::npos) {
      PrintError("tlog", "--witness: expected \"URL VKEY\", got '" + w + "'");
      return kExitUsage;
    }
    auto vkey = ReadVkeyArg("--witness", w.substr(space + 1));
    if (!vkey.ok()) return fail(vkey.error(), kExitUsage);
    auto verifier = tlog::CosignatureVerifier::FromVkey(vkey.value());
    if (!verifier.ok()) return fail(Error(verifier.error().code(), "--witness: " + verifier.error().message()), kExitUsage);
    service_options.witnesses.push_back({w.substr(0, space), std::move(verifier).value()});
  }
  if (!witnesses.empty() && static_cast<size_t>(witness_quorum) > witnesses.size() &&
      witness_quorum != static_cast<int64_t>(services::kDefaultWitnessQuorum)) {
    PrintError("tlog", "--witness-quorum: " + std::to_string(witness_quorum) + " is more than the " +
                           std::to_string(witnesses.size()) + " --witness given");
    return kExitUsage;
  }
  service_options.witness_quorum = static_cast<size_t>(witness_quorum);
  service_options.refresh_interval = refresh;
  service_options.witness_timeout = witness_timeout;
  service_options.max_batch = static_cast<size_t>(max_batch);
  service_options.crash_at = crash.value();
  service_options.crash_on_append = static_cast<uint64_t>(crash_on_append);

  services::BlockStopSignals();
  auto service = services::TlogService::Open(std::move(service_options), std::move(signer).value());
  if (!service.ok()) return fail(service.error(), kExitFailure);
  auto server = net::Server::Start(server_options.value(), (*service)->Routes());
  if (!server.ok()) return fail(server.error(), kExitFailure);
  (*service)->Start();
  const int rc = services::ServeUntilSignal(**server, ToProcessOptions(flags, "tlog"));
  (*service)->Stop();
  return rc;
}

// ---- monitor ----

std::string Summary(const tlog::VerifiedEntry& entry) {
  switch (entry.kind) {
    case tlog::EntryKind::kReleaseManifest: {
      auto manifest = tlog::ParseReleaseManifest(entry.body);
      if (!manifest.ok()) return "?";
      std::string platforms;
      if (manifest->snp) platforms += " sev-snp";
      if (manifest->tdx) platforms += " tdx";
      if (manifest->tpm) platforms += " tpm";
      if (manifest->sim) platforms += " sim";
      return "version=" + manifest->version + " release_id=" + HexEncode(tlog::ReleaseIdOfBody(entry.body_text)) +
             " models=" + std::to_string(manifest->models.size()) + " platforms=" + platforms.substr(platforms.empty() ? 0 : 1);
    }
    case tlog::EntryKind::kRevocation: {
      auto revocation = tlog::ParseRevocation(entry.body);
      if (!revocation.ok()) return "?";
      return "release_id=" + HexEncode(revocation->release_id) + " reason=\"" + revocation->reason + "\"";
    }
    case tlog::EntryKind::kMinimumTcb: {
      auto notice = tlog::ParseMinimumTcb(entry.body);
      if (!notice.ok()) return "?";
      std::string out = "platform=" + notice->platform;
      for (const auto& [name, value] : notice->components) out += " " + name + "=" + std::to_string(value);
      return out;
    }
    case tlog::EntryKind::kNodeDirectory: {
      const auto* epoch = entry.body.is_object() ? entry.body.as_object().if_contains("epoch") : nullptr;
      return "epoch=" + (epoch != nullptr ? boost::json::serialize(*epoch) : std::string("?"));
    }
  }
  return "?";
}

int Monitor(const Args& args) {
  std::string log_url = "http://127.0.0.1:7400";
  std::string log_key;
  std::string origin;
  std::vector<std::string> witness_keys;
  int64_t threshold = 2;
  std::string state;
  std::vector<std::string> release_keys;
  std::vector<std::string> directory_keys;
  bool once = false;
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds max_age{15 * 60 * 1000};
  OptionSet options(
      "tlog monitor --log URL --log-key VKEY --witness VKEY... [options]",
      "Follows a transparency log as a client does (DESIGN §2.6): fetches the checkpoint, requires\n"
      "the log's signature and at least --threshold witness cosignatures, requires an RFC 9162\n"
      "consistency proof (built from the log's tiles) from the last checkpoint kept in --state,\n"
      "and refuses a rollback or fork, keeping both signed notes under STATE/evidence/. Then prints\n"
      "every new entry: index, kind, signer key id (and role, when the key is given), summary.\n"
      "Entries are printed only after their leaf hashes match the verified tree.\n"
      "Exit status: 0, or 1 when the log fails a check (the message names it).");
  options.AddString("log", &log_url, "Base URL of the log.", "URL");
  options.AddString("log-key", &log_key, "The log's vkey (Ed25519, type 0x01), inline or a .vkey file.", "VKEY");
  options.AddString("origin", &origin, "The log's origin (default: the log vkey's name).", "ORIGIN");
  options.AddList("witness", &witness_keys, "A witness's cosignature/v1 vkey, inline or a .vkey file; repeatable.", "VKEY");
  options.AddInt("threshold", &threshold, "Valid witness cosignatures required (t of n).", 1, 64);
  options.AddString("state", &state, "Directory holding the last verified checkpoint (default: STATE-DIR/monitor).", "DIR");
  options.AddList("release-key", &release_keys, "Release public key (PEM); entries are then verified and labelled.", "FILE");
  options.AddList("directory-key", &directory_keys, "Directory public key (PEM); as --release-key.", "FILE");
  options.AddBool("once", &once, "Check once and exit (scripts and tests).");
  options.AddDuration("interval", &interval, "Polling interval without --once.");
  options.AddDuration("max-age", &max_age, "Report the checkpoint as stale when its quorum's cosignatures are older (informational).");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "tlog monitor")) return *exit_status;
  auto fail = [](const Error& e, int code) {
    PrintError("tlog monitor", e);
    return code;
  };
  if (log_key.empty()) {
    PrintError("tlog monitor", "--log-key is required");
    return kExitUsage;
  }
  auto log_vkey = ReadVkeyArg("--log-key", log_key);
  if (!log_vkey.ok()) return fail(log_vkey.error(), kExitUsage);
  std::vector<std::string> witness_vkeys;
  for (const auto& w : witness_keys) {
    auto v = ReadVkeyArg("--witness", w);
    if (!v.ok()) return fail(v.error(), kExitUsage);
    witness_vkeys.push_back(v.value());
  }
  if (origin.empty()) {
    auto parsed_vkey = tlog::ParseVkey(log_vkey.value());
    if (!parsed_vkey.ok()) return fail(parsed_vkey.error(), kExitUsage);
    origin = parsed_vkey->name;
  }
  auto policy = tlog::LogPolicy::Create(origin, log_vkey.value(), witness_vkeys, static_cast<size_t>(threshold));
  if (!policy.ok()) return fail(policy.error(), kExitUsage);
  policy->max_age = std::chrono::duration_cast<std::chrono::seconds>(max_age);
  auto keyring = LoadKeyring(release_keys, directory_keys);
  if (!keyring.ok()) return fail(keyring.error(), kExitUsage);
  std::vector<std::pair<tlog::Hash, std::string>> roles;
  for (const auto& path : release_keys) {
    if (auto k = services::ReadEd25519PublicKey(path); k.ok()) roles.emplace_back(tlog::EntryKeyId(k.value()), "release");
  }
  for (const auto& path : directory_keys) {
    if (auto k = services::ReadEd25519PublicKey(path); k.ok()) roles.emplace_back(tlog::EntryKeyId(k.value()), "directory");
  }
  const bool verify_entries = !release_keys.empty() || !directory_keys.empty();
  if (state.empty()) state = DefaultStateDir() + "/monitor";
  auto client = services::LogClient::Create(log_url);
  if (!client.ok()) return fail(client.error(), kExitUsage);
  tlog::CheckpointStore store(state);

  while (true) {
    const auto now = SystemClock::Instance().NowSeconds();
    // The stored size is read before the checkpoint is fetched (so a smaller one is a rollback),
    // and the proof is built from it. Another process sharing --state (a proxy, a second monitor)
    // may store a newer checkpoint meanwhile: the store then answers "stored checkpoint changed"
    // and the round is fetched again.
    uint64_t old_size = 0;
    uint64_t new_size = 0;
    Result<tlog::VerifiedCheckpoint> updated = Error(ErrorCode::kInternal, "not fetched");
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto latest = store.Latest(policy.value());
      if (!latest.ok()) return fail(latest.error(), kExitFailure);
      old_size = latest.value() ? latest.value()->checkpoint.size : 0;
      auto note = (*client)->FetchCheckpoint();
      if (!note.ok()) return fail(note.error(), kExitFailure);
      auto offered = tlog::VerifyCheckpoint(policy.value(), note.value());
      if (!offered.ok()) return fail(offered.error(), kExitFailure);
      new_size = offered->checkpoint.size;
      std::vector<tlog::Hash> proof;
      if (old_size > 0 && old_size < new_size) {
        auto built = (*client)->ConsistencyProof(old_size, new_size);
        if (!built.ok()) return fail(built.error(), kExitFailure);
        proof = std::move(built).value();
      }
      updated = store.Update(policy.value(), note.value(), old_size, proof, now);
      if (updated.ok() || !tlog::IsStoredCheckpointChanged(updated.error())) break;
    }
    if (!updated.ok()) return fail(updated.error(), kExitFailure);
    if (new_size > old_size) {
      std::printf("checkpoint size=%llu root=%s quorum=%zu\n", static_cast<unsigned long long>(new_size),
                  HexEncode(tlog::View(updated->checkpoint.root)).c_str(), updated->quorum.size());
    }
    if (!tlog::CheckFreshness(policy.value(), updated.value(), now).ok()) {
      std::printf("warning: checkpoint is stale (quorum cosigned at %lld, max age %llds)\n",
                  static_cast<long long>(updated->not_before.time_since_epoch().count()),
                  static_cast<long long>(policy->max_age.count()));
    }
    auto entries = (*client)->ReadEntries(old_size, new_size, new_size, updated->checkpoint.root);
    if (!entries.ok()) return fail(entries.error(), kExitFailure);
    for (size_t i = 0; i < entries->size(); ++i) {
      const uint64_t index = old_size + i;
      const Bytes& bytes = (*entries)[i];
      auto entry = tlog::ParseEntry(bytes);
      if (!entry.ok()) {
        std::printf("entry %llu: unparsable (%s)\n", static_cast<unsigned long long>(index), entry.error().message().c_str());
        continue;
      }
      std::string role = "unknown-key";
      for (const auto& [id, name] : roles) {
        if (id == entry->key_id) role = name;
      }
      std::string summary;
      if (verify_entries) {
        auto verified = keyring->Verify(bytes);
        summary = verified.ok() ? Summary(verified.value()) : "NOT VERIFIED: " + verified.error().message();
      } else {
        boost::system::error_code ec;
        tlog::VerifiedEntry unverified{entry->kind, entry->key_id, entry->body, boost::json::parse(entry->body, ec)};
        summary = ec ? "?" : Summary(unverified) + " (signature not checked: no keys given)";
      }
      std::printf("entry %llu kind=%s signer=%s (%s) %s\n", static_cast<unsigned long long>(index),
                  std::string(tlog::EntryKindName(entry->kind)).c_str(), HexEncode(tlog::View(entry->key_id)).substr(0, 16).c_str(),
                  role.c_str(), summary.c_str());
    }
    std::fflush(stdout);
    if (once) return kExitOk;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace

int RunTlog(const Args& args) {
  if (!args.empty() && args[0] == "monitor") return Monitor(Args(args.begin() + 1, args.end()));
  return Serve(args);
}

}  // namespace openpcc::cli
