// `openpcc node`: the confidential inference node (DESIGN §2.2, §2.4, §4, §5, §6).
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/collect/tpm_collector.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/engine/openai_engine.h"
#include "openpcc/engine/transport_engine.h"
#include "openpcc/net/server.h"
#include "openpcc/services/node/evidence.h"
#include "openpcc/services/node/key_ring.h"
#include "openpcc/services/node/log_freshness.h"
#include "openpcc/services/node/node_service.h"
#include "openpcc/services/node/registrar.h"
#include "openpcc/services/process.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tlog/note.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/log.h"
#if OPENPCC_HAVE_LLAMA
#include "openpcc/engine/llama_engine.h"
#endif

namespace openpcc::cli {
namespace {

constexpr std::string_view kComponent = "node";

Result<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidArgument, std::string(what) + ": cannot read " + path);
  std::string text(64 * 1024 + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > 64 * 1024) {
    return Error(ErrorCode::kOutOfRange, std::string(what) + ": " + path + " is larger than 64 KiB");
  }
  return text;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// SHA-256 of a weight file, for the bundle's model claim.
Result<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidArgument, "model: cannot read " + path);
  crypto::Hasher hasher(crypto::HashId::kSha256);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) hasher.Update(ByteView(reinterpret_cast<const uint8_t*>(buf.data()), static_cast<size_t>(got)));
  }
  return HexEncode(hasher.Finish());
}

// The sim root of a deployment lives in one directory, made by `openpcc node sim-root init DIR`.
constexpr std::string_view kSimRootKey = "sim-root.key";
constexpr std::string_view kSimRootCert = "sim-root.pem";

int RunSimRootInit(const Args& args) {
  std::string deployment = "openpcc";
  OptionSet options("node sim-root init DIR [--deployment NAME]",
                    "Creates a deployment's simulated-TEE root (development only: nothing is rooted in\n"
                    "hardware). Writes DIR/sim-root.key (0600; keep it on the nodes only) and\n"
                    "DIR/sim-root.pem (the certificate clients list in their policy's sim roots).\n"
                    "Nodes run with --platform sim --sim-root-dir DIR.");
  options.AddString("deployment", &deployment, "Names the deployment in the root's subject.", "NAME");
  std::vector<std::string> rest;
  std::string dir;
  for (const std::string& a : args) {
    if (dir.empty() && !a.empty() && a[0] != '-' && (rest.empty() || rest.back() != "--deployment")) {
      dir = a;
    } else {
      rest.push_back(a);
    }
  }
  Result<OptionSet::Outcome> parsed = options.Parse(rest);
  if (!parsed.ok()) {
    PrintError("node sim-root init", parsed.error());
    return kExitUsage;
  }
  if (*parsed == OptionSet::Outcome::kHelpShown) return kExitOk;
  if (dir.empty()) {
    PrintError("node sim-root init", "needs the directory: openpcc node sim-root init DIR");
    return kExitUsage;
  }
  const std::filesystem::path key = std::filesystem::path(dir) / kSimRootKey;
  const std::filesystem::path cert = std::filesystem::path(dir) / kSimRootCert;
  if (std::filesystem::exists(key)) {
    PrintError("node sim-root init", key.string() + " exists; refusing to replace a deployment's root");
    return kExitFailure;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  Result<attest::sim::SimRoot> root =
      attest::sim::SimRoot::Generate(deployment, SystemClock::Instance().NowSeconds());
  if (!root.ok()) {
    PrintError("node sim-root init", root.error());
    return kExitFailure;
  }
  if (Status saved = root->Save(key, cert); !saved.ok()) {
    PrintError("node sim-root init", saved.error());
    return kExitFailure;
  }
  std::printf("%s\n", cert.string().c_str());
  return kExitOk;
}

struct PlatformFlags {
  std::string platform = "auto";
  std::string sim_root_dir;
  std::string tsm_root = std::string(attest::collect::kTsmReportRoot);
  std::string sev_guest_device = "/dev/sev-guest";
  std::string tdx_guest_device = "/dev/tdx_guest";
  std::string tpm_device = "/dev/tpmrm0";
  std::string tpm_tcti;  // default: device:<tpm_device>
  std::string tpm_ak_cert;
  std::string tpm_ak_chain;
  std::string tpm_pcrs = "0-7";
};

// `auto`: the TEE this machine has, or a refusal naming what was looked for. Never sim.
Result<std::string> DetectPlatform(const PlatformFlags& flags) {
  std::error_code ec;
  const bool tsm = std::filesystem::is_directory(flags.tsm_root, ec);
  if (std::filesystem::exists(flags.sev_guest_device, ec)) return std::string("sev-snp");
  if (std::filesystem::exists(flags.tdx_guest_device, ec)) return std::string("tdx");
  if (tsm) {
    return Error(ErrorCode::kFailedPrecondition,
                 "--platform auto: configfs-tsm is present at " + flags.tsm_root +
                     " but neither " + flags.sev_guest_device + " nor " + flags.tdx_guest_device +
                     " tells its provider; pass --platform sev-snp or --platform tdx");
  }
  if (std::filesystem::exists(flags.tpm_device, ec)) return std::string("tpm");
  return Error(ErrorCode::kFailedPrecondition,
               "--platform auto: no TEE found (looked for configfs-tsm at " + flags.tsm_root + ", " +
                   flags.sev_guest_device + ", " + flags.tdx_guest_device + ", " + flags.tpm_device +
                   "); this node cannot produce evidence. For development only, run with "
                   "--platform sim --sim-root-dir DIR (see `openpcc node sim-root init --help`)");
}

Result<std::unique_ptr<attest::PlatformCollector>> MakePlatformCollector(const PlatformFlags& flags) {
  std::string name = flags.platform;
  if (name == "auto") {
    OPENPCC_ASSIGN_OR_RETURN(name, DetectPlatform(flags));
    LogInfo(kComponent, "platform detected", {{"platform", name}});
  }
  if (name == "sim") {
    if (flags.sim_root_dir.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "--platform sim needs --sim-root-dir DIR (made by `openpcc node sim-root init DIR`)");
    }
    const std::filesystem::path dir(flags.sim_root_dir);
    OPENPCC_ASSIGN_OR_RETURN(attest::sim::SimRoot root,
                             attest::sim::SimRoot::Load(dir / kSimRootKey, dir / kSimRootCert));
    OPENPCC_ASSIGN_OR_RETURN(attest::sim::SimSigner signer,
                             attest::sim::SimSigner::Create(root, SystemClock::Instance().NowSeconds()));
    // The sim report's MEASUREMENT is the node binary's SHA-384.
    OPENPCC_ASSIGN_OR_RETURN(Bytes measurement, attest::sim::MeasureFile("/proc/self/exe"));
    LogWarning(kComponent, "platform 'sim': simulated TEE, development only (clients accept it only "
                           "when their policy lists this deployment's sim root)");
    return std::unique_ptr<attest::PlatformCollector>(std::make_unique<attest::collect::SimCollector>(
        std::make_shared<const attest::sim::SimSigner>(std::move(signer)), std::move(measurement)));
  }
  if (name == "sev-snp") {
    attest::collect::SnpCollectorOptions snp;
    snp.tsm.root = flags.tsm_root;
    std::error_code ec;
    if (!std::filesystem::is_directory(flags.tsm_root, ec)) {
      if (!std::filesystem::exists(flags.sev_guest_device, ec)) {
        return Error(ErrorCode::kFailedPrecondition,
                     "--platform sev-snp: neither configfs-tsm (" + flags.tsm_root + ") nor " +
                         flags.sev_guest_device + " exists; this is not an SEV-SNP guest");
      }
      snp.interface = attest::collect::SnpCollectorOptions::Interface::kSevGuestDevice;
      snp.sev_guest_device = flags.sev_guest_device;
    }
    return std::unique_ptr<attest::PlatformCollector>(std::make_unique<attest::collect::SnpCollector>(std::move(snp)));
  }
  if (name == "tdx") {
    std::error_code ec;
    if (!std::filesystem::is_directory(flags.tsm_root, ec)) {
      return Error(ErrorCode::kFailedPrecondition,
                   "--platform tdx: configfs-tsm (" + flags.tsm_root + ") does not exist; this is not a TDX guest "
                   "or its kernel lacks configfs-tsm");
    }
    attest::collect::TdxCollectorOptions tdx;
    tdx.tsm.root = flags.tsm_root;
    return std::unique_ptr<attest::PlatformCollector>(std::make_unique<attest::collect::TdxCollector>(std::move(tdx)));
  }
  if (name == "tpm") {
    if (flags.tpm_ak_cert.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "--platform tpm needs --tpm-ak-cert FILE (the AK certificate from the cloud provider, or from "
                   "the operator CA after ActivateCredential)");
    }
    attest::collect::TpmCollectorOptions tpm;
    OPENPCC_ASSIGN_OR_RETURN(tpm.pcrs, attest::collect::ParsePcrSelectionList(flags.tpm_pcrs));
    OPENPCC_ASSIGN_OR_RETURN(std::string cert, ReadSmallFile(flags.tpm_ak_cert, "--tpm-ak-cert"));
    tpm.ak_certificate = ToBytes(cert);
    if (!flags.tpm_ak_chain.empty()) {
      OPENPCC_ASSIGN_OR_RETURN(std::string chain, ReadSmallFile(flags.tpm_ak_chain, "--tpm-ak-chain"));
      tpm.ak_intermediates.push_back(ToBytes(chain));
    }
    const std::string tcti = flags.tpm_tcti.empty() ? "device:" + flags.tpm_device : flags.tpm_tcti;
    OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<attest::collect::TpmCollector> collector,
                             attest::collect::TpmCollector::Open(tcti, std::move(tpm)));
    LogInfo(kComponent, "platform 'tpm': measured boot without memory isolation; clients accept it only "
                        "when their policy lists tpm", {{"tcti", tcti}});
    return std::unique_ptr<attest::PlatformCollector>(std::move(collector));
  }
  return Error(ErrorCode::kInvalidArgument,
               "--platform: '" + name + "' is not one of auto, sim, sev-snp, tdx, tpm");
}

// Refreshes the log freshness (when configured) every `period` and asks the registrar to
// re-register the refreshed bundles.
class EvidenceRefresher {
 public:
  EvidenceRefresher(services::node::LogFreshness* log, services::node::Registrar& registrar,
                    std::chrono::milliseconds period)
      : log_(log), registrar_(registrar), period_(period) {}
  ~EvidenceRefresher() { Stop(); }
  void Start() { thread_ = std::thread([this] { Run(); }); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
      lock.unlock();
      if (log_ != nullptr) {
        Result<bool> changed = log_->Refresh(SystemClock::Instance().NowSeconds());
        if (!changed.ok()) {
          LogWarning(kComponent, "checkpoint refresh failed; keeping the previous one",
                     {{"error", changed.error().ToString()}});
        } else if (*changed) {
          LogInfo(kComponent, "checkpoint refreshed", {{"size", std::to_string(log_->size())}});
        }
      }
      registrar_.RegisterSoon();
      lock.lock();
    }
  }

  services::node::LogFreshness* log_;
  services::node::Registrar& registrar_;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunNode(const Args& args) {
  if (!args.empty() && args[0] == "sim-root") {
    if (args.size() < 2 || args[1] != "init") {
      PrintError("node", "usage: openpcc node sim-root init DIR [--deployment NAME]");
      return kExitUsage;
    }
    return RunSimRootInit(Args(args.begin() + 2, args.end()));
  }
  ServiceFlags service;
  std::string engine_name = "llama";
  std::string model_path;
  std::string model_name;
  std::string model_sha256;
  int64_t slots = 4;
  int64_t context = 2048;
  int64_t max_tokens = 512;
  int64_t engine_threads = 0;
  std::string upstream;
  std::string upstream_model;
  bool allow_non_loopback_upstream = false;
  std::chrono::milliseconds transport_delay{0};
  std::chrono::milliseconds epoch_length{std::chrono::hours(1)};
  std::chrono::milliseconds key_grace{std::chrono::minutes(5)};
  std::chrono::milliseconds prepare_ahead{std::chrono::minutes(10)};
  int64_t max_request_bytes = 1024 * 1024;
  int64_t max_concurrent = 64;
  int64_t replay_capacity = 100'000;
  PlatformFlags platform;
  std::string checkpoint_file;
  std::string release_file;
  std::string log_url;
  std::string log_key;
  std::string log_origin;
  std::vector<std::string> witness_keys;
  int64_t threshold = 2;
  std::chrono::milliseconds log_max_age{std::chrono::minutes(15)};
  std::chrono::milliseconds evidence_refresh{std::chrono::minutes(5)};
  std::string gateway;
  std::string advertise_url;
  std::string credential_file;
  std::chrono::milliseconds register_interval{60'000};

  OptionSet options(
      "node [options]",
      "Runs a confidential inference node: it opens sealed requests addressed to its epoch keys,\n"
      "runs them on its engine (llama.cpp in process, or an OpenAI-compatible server on\n"
      "loopback inside the same TEE) and streams sealed, padded responses back. It serves\n"
      "POST /v1/infer, POST /v1/attest and GET /healthz only, writes nothing to disk, and logs\n"
      "request ids, sizes and timings, never content.");
  AddServiceFlags(options, service, "127.0.0.1:7500");
  options.AddString("engine", &engine_name,
                    "Inference engine: llama or openai; or transport-only, FOR TESTS AND BENCHMARKS "
                    "ONLY: it runs no model and answers no prompt, streaming max_tokens copies of \" tok\" "
                    "(see --transport-delay).", "NAME");
  options.AddString("model", &model_path, "llama: the GGUF model file.", "PATH");
  options.AddString("model-name", &model_name,
                    "The model name requests use (default: the GGUF file name without .gguf; "
                    "openai: required).", "NAME");
  options.AddString("model-sha256", &model_sha256,
                    "openai: SHA-256 (hex) of the upstream's weights, for the evidence claims "
                    "(llama: computed from --model; transport-only: default the SHA-256 of no bytes, "
                    "as it has no weights).", "HEX");
  options.AddInt("slots", &slots, "llama: requests decoded together.", 1, 64);
  options.AddInt("context", &context, "llama: context tokens per request (prompt + completion).", 256, 1 << 20);
  options.AddInt("max-tokens", &max_tokens, "Ceiling on a request's max_tokens.", 1, 1 << 20);
  options.AddInt("engine-threads", &engine_threads, "llama: CPU threads (0: automatic).", 0, 256);
  options.AddString("upstream", &upstream,
                    "openai: base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000.", "URL");
  options.AddString("upstream-model", &upstream_model,
                    "openai: the model name sent upstream (default: --model-name).", "NAME");
  options.AddBool("allow-non-loopback-upstream", &allow_non_loopback_upstream,
                  "openai: permit an upstream that is not on loopback. Only for an upstream inside "
                  "the same TEE reached over another interface.");
  options.AddDuration("transport-delay", &transport_delay,
                      "transport-only (tests and benchmarks only): pause between consecutive pieces, "
                      "e.g. 200ms (default 0).");
  options.AddDuration("epoch-length", &epoch_length, "Directory epoch: one HPKE key per epoch.");
  options.AddDuration("key-grace", &key_grace, "How long a key still opens requests after its epoch.");
  options.AddDuration("key-prepare-ahead", &prepare_ahead,
                      "How long before an epoch starts its key is made and registered.");
  options.AddInt("max-request-bytes", &max_request_bytes, "Bound on one sealed request.", 1024, 64 << 20);
  options.AddInt("max-concurrent", &max_concurrent, "Inference requests served at once.", 1, 4096);
  options.AddInt("replay-capacity", &replay_capacity,
                 "Sealed requests remembered for replay detection (120 s each).", 16, 100'000'000);
  options.AddString("platform", &platform.platform,
                    "Evidence platform: auto (detects configfs-tsm, /dev/sev-guest, /dev/tdx_guest, "
                    "a TPM; refuses without one, never falls back to sim), sev-snp, tdx, tpm, or sim "
                    "(development: a simulated TEE under --sim-root-dir).", "NAME");
  options.AddString("sim-root-dir", &platform.sim_root_dir,
                    "sim: directory with sim-root.key and sim-root.pem, made by "
                    "`openpcc node sim-root init DIR`.", "DIR");
  options.AddString("tsm-root", &platform.tsm_root, "sev-snp, tdx: the configfs-tsm report directory.", "DIR");
  options.AddString("tpm-tcti", &platform.tpm_tcti,
                    "tpm: the tpm2-tss TCTI reaching the TPM (default device:/dev/tpmrm0; e.g. "
                    "swtpm:host=127.0.0.1,port=2321). The node's HPKE keys are then TPM-resident "
                    "DHKEM(P-256) keys under PolicyPCR over --tpm-pcrs.", "TCTI");
  options.AddString("tpm-ak-cert", &platform.tpm_ak_cert,
                    "tpm: the certificate (PEM or DER) of this TPM's AK (the ECC P-256 primary key of "
                    "the endorsement hierarchy), from the cloud provider or the operator CA.", "FILE");
  options.AddString("tpm-ak-chain", &platform.tpm_ak_chain,
                    "tpm: intermediate certificates (PEM) between the AK certificate and the root "
                    "clients pin; sent in the bundle as ak_chain.", "FILE");
  options.AddString("tpm-pcrs", &platform.tpm_pcrs,
                    "tpm: the PCRs quoted and bound into the keys' policy, e.g. 0-7 or sha256:0,2,7 "
                    "(must be the release manifest's PCRs).", "LIST");
  options.AddString("checkpoint-file", &checkpoint_file,
                    "Signed checkpoint note, re-read for each bundle (freshness kind 1) — for tests and "
                    "offline use; a deployment uses --log.", "FILE");
  options.AddString("release", &release_file,
                    "The release this node runs: the JSON `openpcc release publish --out FILE` wrote "
                    "(signed manifest entry, log index, inclusion proof, checkpoint). Every bundle "
                    "carries it; clients refuse bundles without one (DESIGN §2.4 step 4).", "FILE");
  options.AddString("log", &log_url,
                    "Base URL of the transparency log: its newest checkpoint, verified under --log-key, "
                    "--witness and --threshold, is the bundles' freshness.", "URL");
  options.AddString("log-key", &log_key, "The log's vkey (Ed25519, type 0x01), inline or a .vkey file.", "VKEY");
  options.AddString("log-origin", &log_origin, "The log's origin (default: the log key's name).", "ORIGIN");
  options.AddList("witness", &witness_keys, "A witness's cosignature/v1 vkey, inline or a .vkey file; repeatable.", "VKEY");
  options.AddInt("threshold", &threshold, "Valid witness cosignatures required (t of n).", 1, 64);
  options.AddDuration("log-max-age", &log_max_age, "Refuse a checkpoint whose quorum cosigned longer ago.");
  options.AddDuration("evidence-refresh", &evidence_refresh,
                      "Refresh the log checkpoint and re-register the bundles this often.");
  options.AddString("gateway", &gateway,
                    "Base URL of the gateway's operator listener to register with, e.g. "
                    "http://127.0.0.1:7201 (default: do not register).", "URL");
  options.AddString("advertise-url", &advertise_url,
                    "The URL the gateway reaches this node at (default: http://LISTEN, or https://LISTEN with --tls-cert).", "URL");
  options.AddString("registration-credential", &credential_file,
                    "File holding the operator-issued registration credential.", "FILE");
  options.AddDuration("register-interval", &register_interval, "Keep-alive re-registration interval.");
  options.AddNotes(
      "Examples:\n"
      "  openpcc node --engine llama --model ~/models/Meta-Llama-3-8B-Instruct.Q4_K_M.gguf \\\n"
      "      --model-name llama-3-8b --context 8192\n"
      "  openpcc node --engine openai --upstream http://127.0.0.1:8000 --model-name llama-3-8b\n\n"
      "Example config (--config node.conf):\n"
      "  listen = 127.0.0.1:7500\n"
      "  engine = llama\n"
      "  model = /models/llama-3-8b.gguf\n"
      "  model-name = llama-3-8b\n"
      "  gateway = http://127.0.0.1:7201\n"
      "  registration-credential = /etc/openpcc/node.credential\n");
  Result<OptionSet::Outcome> parsed = options.Parse(args);
  if (!parsed.ok()) {
    PrintError("node", parsed.error());
    return kExitUsage;
  }
  if (*parsed == OptionSet::Outcome::kHelpShown) return kExitOk;
  // Before any thread exists (engine, server, registrar): SIGTERM must reach only the waiter.
  services::BlockStopSignals();

  Result<net::ServerOptions> server_options = ToServerOptions(service, kComponent);
  if (!server_options.ok()) {
    PrintError("node", server_options.error());
    return kExitUsage;
  }
  // The sealed-request bound is the body bound: the sealed reader names the limit it hit.
  server_options->limits.max_body_bytes =
      std::max<uint64_t>(server_options->limits.max_body_bytes, static_cast<uint64_t>(max_request_bytes));
  if (!log_url.empty() && !checkpoint_file.empty()) {
    PrintError("node", "--log and --checkpoint-file exclude each other");
    return kExitUsage;
  }
  // The platform first: a node that cannot produce evidence does not load a model.
  Result<std::unique_ptr<attest::PlatformCollector>> platform_collector = MakePlatformCollector(platform);
  if (!platform_collector.ok()) {
    PrintError("node", platform_collector.error());
    return kExitUsage;
  }
  std::optional<attest::BundleRelease> release;
  if (!release_file.empty()) {
    Result<std::string> record = ReadSmallFile(release_file, "--release");
    Result<attest::BundleRelease> release_record =
        record.ok() ? services::node::ParseReleaseRecord(*record) : Result<attest::BundleRelease>(record.error());
    if (!release_record.ok()) {
      PrintError("node", Error(release_record.error().code(), "--release: " + release_record.error().message()));
      return kExitUsage;
    }
    release = std::move(release_record).value();
  }
  std::unique_ptr<services::node::LogFreshness> log_freshness;
  std::unique_ptr<services::LogClient> log_client;
  if (!log_url.empty()) {
    if (log_key.empty()) {
      PrintError("node", "--log needs --log-key VKEY (and --witness VKEY for each witness)");
      return kExitUsage;
    }
    Result<std::string> log_vkey = ReadVkeyArg("--log-key", log_key);
    if (!log_vkey.ok()) {
      PrintError("node", log_vkey.error());
      return kExitUsage;
    }
    std::vector<std::string> witness_vkeys;
    for (const std::string& w : witness_keys) {
      Result<std::string> v = ReadVkeyArg("--witness", w);
      if (!v.ok()) {
        PrintError("node", v.error());
        return kExitUsage;
      }
      witness_vkeys.push_back(*v);
    }
    if (log_origin.empty()) {
      Result<tlog::Vkey> parsed_vkey = tlog::ParseVkey(*log_vkey);
      if (!parsed_vkey.ok()) {
        PrintError("node", parsed_vkey.error());
        return kExitUsage;
      }
      log_origin = parsed_vkey->name;
    }
    Result<tlog::LogPolicy> policy =
        tlog::LogPolicy::Create(log_origin, *log_vkey, witness_vkeys, static_cast<size_t>(threshold));
    if (!policy.ok()) {
      PrintError("node", policy.error());
      return kExitUsage;
    }
    policy->max_age = std::chrono::duration_cast<std::chrono::seconds>(log_max_age);
    Result<std::unique_ptr<services::LogClient>> client = services::LogClient::Create(log_url);
    if (!client.ok()) {
      PrintError("node", client.error());
      return kExitUsage;
    }
    log_client = std::move(client).value();
    services::LogClient* raw_client = log_client.get();
    log_freshness = std::make_unique<services::node::LogFreshness>(
        std::move(policy).value(), [raw_client] { return raw_client->FetchCheckpoint(); });
    // The first bundles carry a verified checkpoint, or the node does not start.
    if (Result<bool> first = log_freshness->Refresh(SystemClock::Instance().NowSeconds()); !first.ok()) {
      PrintError("node", first.error());
      return kExitFailure;
    }
    LogInfo(kComponent, "checkpoint verified", {{"size", std::to_string(log_freshness->size())}});
  }

  // ---- The engine ----
  std::unique_ptr<engine::Engine> engine;
  attest::ModelClaim claim;
  if (engine_name == "llama") {
#if OPENPCC_HAVE_LLAMA
    if (model_path.empty()) {
      PrintError("node", "--engine llama needs --model PATH.gguf");
      return kExitUsage;
    }
    engine::LlamaEngineOptions llama;
    llama.model_path = model_path;
    llama.model_name = model_name;
    llama.slots = static_cast<uint32_t>(slots);
    llama.context_per_request = static_cast<uint32_t>(context);
    llama.max_tokens_cap = static_cast<uint32_t>(max_tokens);
    llama.threads = static_cast<int32_t>(engine_threads);
    LogInfo(kComponent, "hashing model weights for the evidence claims");
    Result<std::string> digest = FileSha256(model_path);
    if (!digest.ok()) {
      PrintError("node", digest.error());
      return kExitFailure;
    }
    claim.sha256 = *digest;
    Result<std::unique_ptr<engine::LlamaEngine>> made = engine::LlamaEngine::Create(std::move(llama));
    if (!made.ok()) {
      PrintError("node", made.error());
      return kExitFailure;
    }
    engine = std::move(made).value();
#else
    PrintError("node", "this build has no llama engine (built without OPENPCC_WITH_LLAMA)");
    return kExitUsage;
#endif
  } else if (engine_name == "openai") {
    if (upstream.empty() || model_name.empty()) {
      PrintError("node", "--engine openai needs --upstream URL and --model-name NAME");
      return kExitUsage;
    }
    engine::OpenAiEngineOptions openai;
    openai.base_url = upstream;
    openai.model = model_name;
    openai.upstream_model = upstream_model;
    openai.allow_non_loopback = allow_non_loopback_upstream;
    openai.max_tokens_cap = static_cast<uint32_t>(max_tokens);
    Result<std::unique_ptr<engine::OpenAiEngine>> made = engine::OpenAiEngine::Create(std::move(openai));
    if (!made.ok()) {
      PrintError("node", made.error());
      return kExitUsage;
    }
    engine = std::move(made).value();
    claim.sha256 = model_sha256;
  } else if (engine_name == engine::kTransportEngineName) {
    // Tests and benchmarks only: no model, no answer to any prompt; the claim names the model
    // requests use and declares the digest of empty weights unless told otherwise, so a release
    // listing that name and digest (published with an empty weight file) admits the node.
    if (model_name.empty()) {
      PrintError("node", "--engine transport-only needs --model-name NAME");
      return kExitUsage;
    }
    engine::TransportEngineOptions transport;
    transport.model = model_name;
    transport.delay = std::chrono::duration_cast<std::chrono::microseconds>(transport_delay);
    transport.max_tokens_cap = static_cast<uint32_t>(max_tokens);
    transport.max_concurrent = static_cast<uint32_t>(max_concurrent);
    Result<std::unique_ptr<engine::TransportEngine>> made = engine::TransportEngine::Create(std::move(transport));
    if (!made.ok()) {
      PrintError("node", made.error());
      return kExitUsage;
    }
    engine = std::move(made).value();
    claim.sha256 = model_sha256.empty() ? HexEncode(crypto::Sha256(ByteView())) : model_sha256;
    LogWarning(kComponent, "engine 'transport-only': FOR TESTS AND BENCHMARKS ONLY; it runs no model and "
                           "answers every request with fixed text",
               {{"delay_ms", std::to_string(transport_delay.count())}});
  } else {
    PrintError("node", "--engine: '" + engine_name + "' is not one of llama, openai, transport-only");
    return kExitUsage;
  }
  claim.name = engine->info().model;

  // ---- Keys, evidence, service ----
  services::node::KeyRingOptions key_options;
  key_options.epoch_length = epoch_length;
  key_options.grace = key_grace;
  key_options.prepare_ahead = prepare_ahead;
  // tpm: the HPKE keys are the TPM's own, so that its evidence can certify them.
  if (auto* tpm = dynamic_cast<attest::collect::TpmCollector*>(platform_collector->get())) {
    key_options.make_key = [tpm]() -> Result<std::shared_ptr<const crypto::DhPrivateKey>> {
      OPENPCC_ASSIGN_OR_RETURN(std::shared_ptr<const attest::tpm::TpmDhKey> key, tpm->CreateNodeKey());
      return std::shared_ptr<const crypto::DhPrivateKey>(std::move(key));
    };
  }
  services::node::KeyRing keys(key_options);
  services::node::BuilderCollector collector(std::move(platform_collector).value());
  if (release) collector.AttachRelease(std::move(*release));

  services::node::NodeServiceOptions node_options;
  node_options.max_request_bytes = static_cast<size_t>(max_request_bytes);
  node_options.max_concurrent = static_cast<size_t>(max_concurrent);
  node_options.replay_capacity = static_cast<size_t>(replay_capacity);
  node_options.claims.models.push_back(claim);
  if (log_freshness) {
    services::node::LogFreshness* raw = log_freshness.get();
    node_options.freshness = [raw] { return raw->Current(); };
  } else if (!checkpoint_file.empty()) {
    node_options.freshness = [checkpoint_file] {
      attest::BundleFreshness f;
      f.binding.kind = attest::FreshnessKind::kLogCheckpoint;
      Result<std::string> note = ReadSmallFile(checkpoint_file, "--checkpoint-file");
      if (note.ok()) {
        f.checkpoint = *note;
        const Bytes digest = crypto::Sha256(ByteView(reinterpret_cast<const uint8_t*>(note->data()), note->size()));
        std::copy(digest.begin(), digest.end(), f.binding.value.begin());
      } else {
        LogWarning(kComponent, "checkpoint unreadable; bundle freshness is empty",
                   {{"error", note.error().ToString()}});
      }
      return f;
    };
  }
  const SystemClock& clock = SystemClock::Instance();
  services::node::NodeService node(std::move(node_options), *engine, keys, collector, clock);
  // The first keys exist before the listener opens.
  if (Result<bool> ticked = keys.Tick(clock.Now()); !ticked.ok()) {
    PrintError("node", ticked.error());
    return kExitFailure;
  }

  Result<std::unique_ptr<net::Server>> server = net::Server::Start(*server_options, node.MakeRouter());
  if (!server.ok()) {
    PrintError("node", server.error());
    return kExitFailure;
  }

  services::node::RegistrarOptions registrar_options;
  registrar_options.gateway_url = gateway;
  registrar_options.interval = register_interval;
  const char* scheme = service.tls_cert.empty() ? "http://" : "https://";
  registrar_options.node_url = advertise_url.empty()
                                   ? scheme + server_options->address + ":" + std::to_string((*server)->port())
                                   : advertise_url;
  if (!gateway.empty()) {
    if (credential_file.empty()) {
      PrintError("node", "--gateway needs --registration-credential FILE");
      return kExitUsage;
    }
    Result<std::string> credential = ReadSmallFile(credential_file, "--registration-credential");
    if (!credential.ok()) {
      PrintError("node", credential.error());
      return kExitUsage;
    }
    registrar_options.credential = Trim(*credential);
  }
  services::node::Registrar registrar(std::move(registrar_options), node, keys, clock);
  if (Status started = registrar.Start(); !started.ok()) {
    PrintError("node", started.error());
    return kExitFailure;
  }
  EvidenceRefresher refresher(log_freshness.get(), registrar, evidence_refresh);
  refresher.Start();
  LogInfo(kComponent, "serving",
          {{"engine", engine->info().name}, {"model", engine->info().model},
           {"port", std::to_string((*server)->port())}});
  const int code = services::ServeUntilSignal(**server, ToProcessOptions(service, "node"),
                                              [&registrar, &refresher] {
                                                refresher.Stop();
                                                registrar.Stop();
                                              });
  refresher.Stop();
  registrar.Stop();
  return code;
}

}  // namespace openpcc::cli
