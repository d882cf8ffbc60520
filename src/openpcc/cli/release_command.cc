// `openpcc release publish | revoke | min-tcb`: builds a release-key entry (tlog/release.h), signs
// it (tlog/entry.h), submits it to the log, verifies the returned inclusion proof against the
// returned checkpoint, and prints the index and the proof.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/services/key_files.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/release.h"
#include "openpcc/util/base64.h"

namespace openpcc::cli {
namespace {

// Model weights can be many GiB: hash them as a stream.
Result<Bytes> Sha256File(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidArgument, std::string(flag) + ": cannot read '" + path + "'");
  crypto::Hasher hasher(crypto::HashId::kSha256);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n > 0) hasher.Update(AsBytes(std::string_view(buffer.data(), static_cast<size_t>(n))));
  }
  if (in.bad()) return Error(ErrorCode::kInternal, std::string(flag) + ": read error on '" + path + "'");
  return hasher.Finish();
}

Result<Bytes> HexArg(std::string_view flag, std::string_view hex, size_t length) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != length) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + ": expected " + std::to_string(length * 2) + " hex digits");
  }
  return std::move(bytes).value();
}

Result<std::pair<std::string, std::string>> SplitPair(std::string_view flag, const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Error(ErrorCode::kInvalidArgument, std::string(flag) + ": expected NAME=VALUE, got '" + text + "'");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

struct Common {
  std::string key;
  std::string log = "http://127.0.0.1:7400";
  std::string log_key;
  std::string out;
};

void AddCommon(OptionSet& options, Common& common) {
  options.AddString("key", &common.key, "Release signing key, PEM PKCS#8 Ed25519 (default: STATE-DIR/keys/release.key).", "FILE");
  options.AddString("log", &common.log, "Base URL of the transparency log.", "URL");
  options.AddString("log-key", &common.log_key, "The log's vkey, inline or a .vkey file: the returned checkpoint's signature is then verified too.", "VKEY");
  options.AddString("out", &common.out, "Also write the signed entry and its proof as JSON to FILE.", "FILE");
}

// Signs, submits, verifies and prints.
int Submit(std::string_view command, const Common& common, tlog::EntryKind kind, const boost::json::value& body) {
  auto fail = [command](const Error& e) {
    PrintError(command, e);
    return kExitFailure;
  };
  const std::string key_path = common.key.empty() ? DefaultStateDir() + "/keys/release.key" : common.key;
  auto key = services::ReadEd25519PrivateKey(key_path);
  if (!key.ok()) return fail(key.error());
  auto entry = tlog::SignEntry(kind, body, key.value());
  if (!entry.ok()) return fail(entry.error());
  auto client = services::LogClient::Create(common.log);
  if (!client.ok()) return fail(client.error());
  std::vector<Bytes> entries{entry.value()};
  auto added = (*client)->Add(entries);
  if (!added.ok()) return fail(added.error());

  // Check before printing: the proof must place these exact bytes in the returned checkpoint.
  auto note = tlog::ParseNote(added->checkpoint);
  if (!note.ok()) return fail(note.error());
  auto checkpoint = tlog::ParseCheckpointText(note->text);
  if (!checkpoint.ok()) return fail(checkpoint.error());
  if (!common.log_key.empty()) {
    auto vkey = ReadVkeyArg("--log-key", common.log_key);
    if (!vkey.ok()) return fail(vkey.error());
    auto verifier = tlog::NoteVerifier::FromVkey(vkey.value());
    if (!verifier.ok()) return fail(verifier.error());
    auto verified = tlog::VerifyCheckpointNote(added->checkpoint, checkpoint->origin, verifier.value());
    if (!verified.ok()) return fail(Error(verified.error().code(), "returned checkpoint: " + verified.error().message()));
  }
  const tlog::Hash leaf = tlog::LeafHash(entry.value());
  Status included = tlog::VerifyInclusion(added->first_index, checkpoint->size, tlog::View(leaf),
                                          added->inclusion_proofs[0], tlog::View(checkpoint->root));
  if (!included.ok()) return fail(Error(included.error().code(), "inclusion proof: " + included.error().message()));

  boost::json::object out;
  out["kind"] = std::string(tlog::EntryKindName(kind));
  out["log_index"] = added->first_index;
  out["tree_size"] = added->tree_size;
  if (kind == tlog::EntryKind::kReleaseManifest) {
    auto parsed = tlog::ParseEntry(entry.value());
    if (parsed.ok()) out["release_id"] = HexEncode(tlog::ReleaseIdOfBody(parsed->body));
  }
  boost::json::array proof;
  for (const auto& h : added->inclusion_proofs[0]) proof.push_back(boost::json::string(Base64Encode(tlog::View(h))));
  out["inclusion_proof"] = std::move(proof);
  out["checkpoint"] = added->checkpoint;
  out["entry"] = Base64Encode(entry.value());
  const std::string json = PrettyJson(out);
  std::printf("%s", json.c_str());
  std::fprintf(stderr, "inclusion proof verified against checkpoint %s size %llu%s\n", checkpoint->origin.c_str(),
               static_cast<unsigned long long>(checkpoint->size), common.log_key.empty() ? " (log signature not checked: no --log-key)" : "");
  if (!common.out.empty()) {
    std::ofstream file(common.out, std::ios::trunc);
    file << json;
    if (!file) return fail(Error(ErrorCode::kInternal, "--out: cannot write '" + common.out + "'"));
  }
  return kExitOk;
}

// A revocation must name a release the log holds and has not revoked yet: one of a mistyped id
// would be logged and change nothing. Reads the log's entries (verified against its checkpoint).
Status CheckRevocable(const Common& common, ByteView release_id) {
  OPENPCC_ASSIGN_OR_RETURN(auto client, services::LogClient::Create(common.log));
  OPENPCC_ASSIGN_OR_RETURN(std::string note_text, client->FetchCheckpoint());
  OPENPCC_ASSIGN_OR_RETURN(auto note, tlog::ParseNote(note_text));
  OPENPCC_ASSIGN_OR_RETURN(tlog::Checkpoint checkpoint, tlog::ParseCheckpointText(note.text));
  if (!common.log_key.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(std::string vkey, ReadVkeyArg("--log-key", common.log_key));
    OPENPCC_ASSIGN_OR_RETURN(auto verifier, tlog::NoteVerifier::FromVkey(vkey));
    Result<tlog::VerifiedCheckpointNote> verified = tlog::VerifyCheckpointNote(note_text, checkpoint.origin, verifier);
    if (!verified.ok()) return Error(verified.error().code(), "log checkpoint: " + verified.error().message());
  }
  OPENPCC_ASSIGN_OR_RETURN(std::vector<Bytes> entries,
                           client->ReadEntries(0, checkpoint.size, checkpoint.size, checkpoint.root));
  const std::string id = HexEncode(release_id);
  bool found = false;
  for (const Bytes& bytes : entries) {
    Result<tlog::Entry> entry = tlog::ParseEntry(bytes);
    if (!entry.ok()) continue;  // the log accepted it; a reader of this command's kind skips it
    if (entry->kind == tlog::EntryKind::kReleaseManifest) {
      found = found || tlog::ReleaseIdOfBody(entry->body) == Bytes(release_id.begin(), release_id.end());
    } else if (entry->kind == tlog::EntryKind::kRevocation) {
      boost::system::error_code ec;
      const boost::json::value body = boost::json::parse(entry->body, ec);
      Result<tlog::Revocation> revocation = ec ? Result<tlog::Revocation>(Error(ErrorCode::kMalformed, "body"))
                                               : tlog::ParseRevocation(body);
      if (revocation.ok() && revocation->release_id == Bytes(release_id.begin(), release_id.end())) {
        return Error(ErrorCode::kFailedPrecondition, "--release: release " + id + " is already revoked");
      }
    }
  }
  if (!found) {
    return Error(ErrorCode::kFailedPrecondition, "--release: the log (" + std::to_string(checkpoint.size) +
                                           " entries) holds no release " + id);
  }
  return OkStatus();
}

int Publish(const Args& args) {
  Common common;
  std::string version;
  std::string source_revision;
  std::string build_recipe;
  std::string binary;
  std::vector<std::string> models;
  std::vector<std::string> measurements;
  std::string snp_policy = "30000";
  int64_t snp_vmpl = 0;
  std::string snp_host_data;
  std::string snp_id_key_digest;
  std::string tdx_rtmr[3];
  std::string tdx_mrconfigid, tdx_mrowner, tdx_mrownerconfig;
  std::vector<std::string> tpm_pcrs;
  int64_t gpu_devices = 0;
  int64_t gpu_switches = 0;
  std::vector<std::string> rim_ids;
  bool dry_run = false;
  OptionSet options(
      "release publish --version V --binary FILE --model FILE... --measurement PLATFORM=HEX... [options]",
      "Builds a release manifest (DESIGN §3) from the node binary, the model files and the\n"
      "reference values, signs it with the release key, appends it to the log, verifies the\n"
      "returned inclusion proof and prints JSON: log_index, release_id, inclusion_proof,\n"
      "checkpoint and the entry (base64).");
  options.DisableConfigFile();
  AddCommon(options, common);
  options.AddString("version", &version, "Release version (required).", "VERSION");
  options.AddString("source-revision", &source_revision, "Source revision the release was built from (required, e.g. a git commit).", "REV");
  options.AddString("build-recipe", &build_recipe, "Build recipe file (its SHA-256 is logged), or 64 hex digits.", "FILE|HEX");
  options.AddString("binary", &binary, "The node binary (its SHA-256 is logged; required).", "FILE");
  options.AddList("model", &models, "A model weight file, as FILE or NAME=FILE (default name: the file name); repeatable.", "[NAME=]FILE");
  options.AddList("measurement", &measurements,
                  "A launch measurement: sev-snp=HEX96 (MEASUREMENT), tdx=HEX96 (MRTD) or sim=HEX96; repeatable.", "PLATFORM=HEX");
  options.AddString("snp-policy", &snp_policy, "SEV-SNP guest policy (hex, 16 digits at most).", "HEX");
  options.AddInt("snp-vmpl", &snp_vmpl, "SEV-SNP VMPL.", 0, 3);
  options.AddString("snp-host-data", &snp_host_data, "SEV-SNP HOST_DATA (64 hex digits; default zero).", "HEX");
  options.AddString("snp-id-key-digest", &snp_id_key_digest, "SEV-SNP ID_KEY_DIGEST (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-rtmr0", &tdx_rtmr[0], "TDX RTMR0 expectation (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-rtmr1", &tdx_rtmr[1], "TDX RTMR1 expectation (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-rtmr2", &tdx_rtmr[2], "TDX RTMR2 expectation (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-mrconfigid", &tdx_mrconfigid, "TDX MRCONFIGID (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-mrowner", &tdx_mrowner, "TDX MROWNER (96 hex digits; default zero).", "HEX");
  options.AddString("tdx-mrownerconfig", &tdx_mrownerconfig, "TDX MROWNERCONFIG (96 hex digits; default zero).", "HEX");
  options.AddList("tpm-pcr", &tpm_pcrs, "A TPM PCR of the SHA-256 bank as INDEX=HEX64; repeatable.", "N=HEX");
  options.AddInt("gpu-devices", &gpu_devices, "GPU reports a node must carry.", 0, 64);
  options.AddInt("gpu-switches", &gpu_switches, "NVSwitch reports a node must carry.", 0, 64);
  options.AddList("gpu-rim-id", &rim_ids, "An accepted GPU RIM id (driver or VBIOS); repeatable.", "ID");
  options.AddBool("dry-run", &dry_run, "Print the manifest JSON and exit without signing or submitting.");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "release publish")) return *exit_status;
  auto usage = [](const Error& e) {
    PrintError("release publish", e);
    return kExitUsage;
  };
  if (version.empty() || source_revision.empty() || binary.empty()) {
    PrintError("release publish", "--version, --source-revision and --binary are required");
    return kExitUsage;
  }
  tlog::ReleaseManifest m;
  m.version = version;
  m.source_revision = source_revision;
  auto binary_digest = Sha256File("--binary", binary);
  if (!binary_digest.ok()) return usage(binary_digest.error());
  m.node_binary_sha256 = binary_digest.value();
  if (build_recipe.size() == 64 && HexDecode(build_recipe).ok()) {
    m.build_recipe_sha256 = HexDecode(build_recipe).value();
  } else if (!build_recipe.empty()) {
    auto d = Sha256File("--build-recipe", build_recipe);
    if (!d.ok()) return usage(d.error());
    m.build_recipe_sha256 = d.value();
  } else {
    m.build_recipe_sha256 = Bytes(32, 0);
  }
  for (const auto& model : models) {
    std::string name, path = model;
    if (const size_t eq = model.find('='); eq != std::string::npos) {
      name = model.substr(0, eq);
      path = model.substr(eq + 1);
    } else {
      name = std::filesystem::path(model).filename().string();
    }
    auto d = Sha256File("--model", path);
    if (!d.ok()) return usage(d.error());
    m.models.push_back({name, d.value()});
  }
  for (const auto& entry : measurements) {
    auto pair = SplitPair("--measurement", entry);
    if (!pair.ok()) return usage(pair.error());
    auto value = HexArg("--measurement", pair->second, 48);
    if (!value.ok()) return usage(value.error());
    if (pair->first == "sev-snp") {
      if (!m.snp) m.snp.emplace();
      m.snp->measurements.push_back(value.value());
    } else if (pair->first == "tdx") {
      if (!m.tdx) m.tdx.emplace();
      m.tdx->mrtd.push_back(value.value());
    } else if (pair->first == "sim") {
      if (!m.sim) m.sim.emplace();
      m.sim->measurements.push_back(value.value());
    } else {
      return usage(Error(ErrorCode::kInvalidArgument, "--measurement: platform must be sev-snp, tdx or sim (TPM: --tpm-pcr)"));
    }
  }
  if (m.snp) {
    char* end = nullptr;
    m.snp->policy = std::strtoull(snp_policy.c_str(), &end, 16);
    if (snp_policy.empty() || snp_policy.size() > 16 || *end != '\0') {
      return usage(Error(ErrorCode::kInvalidArgument, "--snp-policy: expected at most 16 hex digits"));
    }
    m.snp->vmpl = static_cast<uint32_t>(snp_vmpl);
    if (!snp_host_data.empty()) {
      auto v = HexArg("--snp-host-data", snp_host_data, 32);
      if (!v.ok()) return usage(v.error());
      m.snp->host_data = v.value();
    }
    if (!snp_id_key_digest.empty()) {
      auto v = HexArg("--snp-id-key-digest", snp_id_key_digest, 48);
      if (!v.ok()) return usage(v.error());
      m.snp->id_key_digest = v.value();
    }
  }
  if (m.tdx) {
    struct Field {
      const char* flag;
      const std::string* text;
      Bytes* target;
    } fields[] = {{"--tdx-rtmr0", &tdx_rtmr[0], &m.tdx->rtmr0},       {"--tdx-rtmr1", &tdx_rtmr[1], &m.tdx->rtmr1},
                  {"--tdx-rtmr2", &tdx_rtmr[2], &m.tdx->rtmr2},       {"--tdx-mrconfigid", &tdx_mrconfigid, &m.tdx->mrconfigid},
                  {"--tdx-mrowner", &tdx_mrowner, &m.tdx->mrowner}, {"--tdx-mrownerconfig", &tdx_mrownerconfig, &m.tdx->mrownerconfig}};
    for (const auto& f : fields) {
      if (f.text->empty()) continue;
      auto v = HexArg(f.flag, *f.text, 48);
      if (!v.ok()) return usage(v.error());
      *f.target = v.value();
    }
  }
  for (const auto& pcr : tpm_pcrs) {
    auto pair = SplitPair("--tpm-pcr", pcr);
    if (!pair.ok()) return usage(pair.error());
    char* end = nullptr;
    const unsigned long index = std::strtoul(pair->first.c_str(), &end, 10);
    if (*end != '\0' || index > 23) return usage(Error(ErrorCode::kInvalidArgument, "--tpm-pcr: index must be 0..23"));
    auto v = HexArg("--tpm-pcr", pair->second, 32);
    if (!v.ok()) return usage(v.error());
    if (!m.tpm) m.tpm.emplace();
    m.tpm->pcrs[static_cast<uint32_t>(index)] = v.value();
  }
  m.gpu.devices = static_cast<uint32_t>(gpu_devices);
  m.gpu.switches = static_cast<uint32_t>(gpu_switches);
  m.gpu.rim_ids = rim_ids;
  auto json = tlog::ReleaseManifestToJson(m);
  if (!json.ok()) return usage(json.error());
  if (dry_run) {
    std::printf("%s", PrettyJson(json.value()).c_str());
    return kExitOk;
  }
  return Submit("release publish", common, tlog::EntryKind::kReleaseManifest, json.value());
}

int Revoke(const Args& args) {
  Common common;
  std::string release;
  std::string reason;
  OptionSet options("release revoke --release RELEASE_ID --reason TEXT [options]",
                    "Appends a revocation of a release (named by its release id, the SHA-256 of its\n"
                    "manifest) to the log; clients refuse the release from then on. The log is read\n"
                    "first: a release it does not hold, or has already revoked, is refused and nothing\n"
                    "is appended.");
  options.DisableConfigFile();
  AddCommon(options, common);
  options.AddString("release", &release, "Release id to revoke (64 hex digits; required).", "HEX");
  options.AddString("reason", &reason, "Why (logged publicly; required).", "TEXT");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "release revoke")) return *exit_status;
  auto id = HexArg("--release", release, 32);
  if (!id.ok() || reason.empty()) {
    PrintError("release revoke", "--release (64 hex digits) and --reason are required");
    return kExitUsage;
  }
  auto json = tlog::RevocationToJson({id.value(), reason});
  if (!json.ok()) {
    PrintError("release revoke", json.error());
    return kExitUsage;
  }
  if (Status revocable = CheckRevocable(common, id.value()); !revocable.ok()) {
    PrintError("release revoke", revocable.error());
    return kExitFailure;
  }
  return Submit("release revoke", common, tlog::EntryKind::kRevocation, json.value());
}

int MinTcb(const Args& args) {
  Common common;
  std::string platform;
  std::vector<std::string> components;
  OptionSet options("release min-tcb --platform P --component NAME=N... [options]",
                    "Appends a minimum-TCB notice to the log: clients refuse evidence of the platform\n"
                    "whose reported TCB components are below these values. A later notice for the\n"
                    "platform replaces the earlier one (components it omits are no longer required).\n"
                    "Notices are enforced for sev-snp and tdx only; unknown components, values out of\n"
                    "range and other platforms are refused before anything is signed.");
  options.DisableConfigFile();
  AddCommon(options, common);
  options.AddString("platform", &platform, "sev-snp or tdx (required; tpm has no TCB version, sim is not enforced).",
                    "PLATFORM");
  options.AddList("component", &components,
                  "A TCB component and its minimum; repeatable. sev-snp: bootloader, tee, snp, microcode, "
                  "fmc (REPORTED_TCB, 0..255; fmc on Turin only). tdx: tee_tcb_svn_0 .. tee_tcb_svn_15 "
                  "(bytes of TEE_TCB_SVN, 0..255), pce_svn, qe_isv_svn (0..65535).",
                  "NAME=N");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "release min-tcb")) return *exit_status;
  tlog::MinimumTcb notice;
  notice.platform = platform;
  for (const auto& c : components) {
    auto pair = SplitPair("--component", c);
    const bool digits = pair.ok() && !pair->second.empty() && pair->second.size() <= 19 &&
                        pair->second.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) {
      PrintError("release min-tcb", "--component: expected NAME=N (N a decimal integer), got '" + c + "'");
      return kExitUsage;
    }
    if (!notice.components.emplace(pair->first, std::stoull(pair->second)).second) {
      PrintError("release min-tcb", "--component: " + pair->first + " is given twice");
      return kExitUsage;
    }
  }
  auto json = tlog::MinimumTcbToJson(notice);
  if (!json.ok()) {
    PrintError("release min-tcb", json.error());
    return kExitUsage;
  }
  return Submit("release min-tcb", common, tlog::EntryKind::kMinimumTcb, json.value());
}

}  // namespace

int RunRelease(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("Usage: openpcc release publish|revoke|min-tcb [options]\n\n"
                "  publish   sign and log a release manifest\n"
                "  revoke    sign and log a revocation of a release\n"
                "  min-tcb   sign and log a minimum-TCB notice\n\n"
                "Run 'openpcc release <subcommand> --help' for the options.\n");
    return args.empty() ? kExitUsage : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "publish") return Publish(rest);
  if (args[0] == "revoke") return Revoke(rest);
  if (args[0] == "min-tcb") return MinTcb(rest);
  PrintError("release", "unknown subcommand '" + args[0] + "' (expected: publish, revoke, min-tcb)");
  return kExitUsage;
}

}  // namespace openpcc::cli
