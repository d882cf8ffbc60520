// `openpcc up`: the whole service on this machine, each role a child process of this one
// (DESIGN §4): transparency log and three witnesses, a release of this very binary in the log,
// the Privacy Pass issuer with one account, the gateway, N nodes on a simulated TEE with the
// embedded llama engine, the relay, and the local OpenAI-compatible proxy (with a client config
// that trusts this run's directory key, log, witnesses and sim root). With --platform tpm the nodes
// run on one software TPM (swtpm) each instead, their AKs certified by an operator CA made for the
// run, and the release states the PCRs those TPMs report (cli/up_tpm.h).
//
// Everything listens on 127.0.0.1; user-facing roles on the default ports of DESIGN §4, the
// witnesses on ephemeral ports. Keys and the generated model persist in --dir; the run state
// (log, databases, logs) is made afresh in --dir/run each time, so a second `up` starts clean.
// Stops every child on SIGINT/SIGTERM, and everything when one child exits on its own.
//
// `--engine transport-only` (tests and benchmarks only) starts nodes that run no model: no model
// file is made, and the release lists the model name with the digest of an empty weight file.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/attest/sim/sim.h"
#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/cli/up_tpm.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/services/key_files.h"
#include "openpcc/services/process.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/subprocess.h"

namespace openpcc::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct UpFlags {
  std::string dir;
  std::string model;
  std::string model_name = "tiny";
  std::string engine = "llama";
  std::string platform = "sim";
  std::string upstream;
  std::string upstream_model;
  int64_t nodes = 3;
  int64_t engine_threads = 1;
  int64_t epoch_seconds = 3600;
  std::string log_level = "info";
  bool ephemeral_ports = false;
  int64_t token_batch = 16;
  int64_t service_threads = 1;
  std::chrono::milliseconds transport_delay{0};

  bool TransportOnly() const { return engine == "transport-only"; }

  // DESIGN §4's port for a role, or 0 (the system picks) with --ephemeral-ports.
  std::string Listen(int port) const { return "127.0.0.1:" + std::to_string(ephemeral_ports ? 0 : port); }
};

std::string ReadText(const fs::path& path) {
  Result<Bytes> bytes = ReadInputFile("file", path.string());
  std::string text = bytes.ok() ? std::string(AsChars(*bytes)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A secret (the API key, the registration credential) goes straight into a 0600 file.
Status WriteSecretFile(const fs::path& path, std::string_view text) {
  std::string line = std::string(text) + "\n";
  Status written = services::WriteKeyFile(path, AsBytes(line), 0600);
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(line.data()), line.size()));
  return written;
}

// The children of this process, stopped in reverse order of start.
class Supervisor {
 public:
  Supervisor(std::string self, fs::path run, std::string log_level, int64_t service_threads)
      : self_(std::move(self)),
        run_(std::move(run)),
        log_level_(std::move(log_level)),
        service_threads_(std::to_string(service_threads)) {}
  ~Supervisor() { StopAll(); }

  // Runs `openpcc ARGS...` to completion; its stdout is returned, its stderr goes to the step's log.
  Result<std::string> RunStep(const std::string& name, std::vector<std::string> args) {
    const fs::path out = run_ / "logs" / (name + ".out");
    SubprocessOptions options;
    // umask 077: a step's output can be a secret (the API key `issuer admin create-key` prints).
    options.argv = {"/bin/sh", "-c", "umask 077; exec \"$0\" \"$@\" >" + Quote(out.string()) + " 2>>" +
                                         Quote((run_ / "logs" / (name + ".log")).string()),
                    self_};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    OPENPCC_ASSIGN_OR_RETURN(Subprocess step, Subprocess::Start(options));
    const int code = step.Wait();
    std::string stdout_text = ReadText(out);
    std::error_code ignored;
    fs::remove(out, ignored);
    if (code != 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   name + " failed (exit " + std::to_string(code) + "); see " + (run_ / "logs" / (name + ".log")).string());
    }
    return stdout_text;
  }

  // Starts a service with --listen LISTEN and a ready file; returns its HOST:PORT once it listens.
  Result<std::string> Start(const std::string& name, std::vector<std::string> args, const std::string& listen,
                            std::chrono::seconds wait = 60s) {
    const fs::path ready = run_ / (name + ".ready");
    SubprocessOptions options;
    options.argv = {self_};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    for (const std::string& a : {std::string("--listen"), listen, std::string("--ready-file"), ready.string(),
                                 std::string("--log-level"), log_level_, std::string("--threads"),
                                 service_threads_}) {
      options.argv.push_back(a);
    }
    options.log_path = (run_ / "logs" / (name + ".log")).string();
    options.env = {"OPENPCC_STATE_DIR=" + (run_ / "state" / name).string()};
    OPENPCC_ASSIGN_OR_RETURN(Subprocess child, Subprocess::Start(options));
    children_.push_back({name, std::move(child)});
    Result<std::string> address = WaitForFile(ready.string(), wait, &children_.back().process);
    if (!address.ok()) {
      return Error(ErrorCode::kFailedPrecondition, name + " did not start on " + listen + " (" +
                                                       address.error().message() + "); see " + options.log_path);
    }
    std::fprintf(stderr, "  %-10s http://%s\n", name.c_str(), address->c_str());
    return address;
  }

  // Takes a child started elsewhere (a swtpm), to be supervised and stopped like the others.
  void Adopt(const std::string& name, Subprocess process) { children_.push_back({name, std::move(process)}); }

  // The first child that exited on its own, if any.
  std::optional<std::string> Exited() {
    for (auto& child : children_) {
      if (!child.process.Running()) return child.name;
    }
    return std::nullopt;
  }

  void StopAll() {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) it->process.Stop(10s);
    children_.clear();
  }

  const fs::path& run() const { return run_; }

 private:
  static std::string Quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  struct Child {
    std::string name;
    Subprocess process;
  };
  std::string self_;
  fs::path run_;
  std::string log_level_;
  std::string service_threads_;
  std::vector<Child> children_;
};

// SHA-256 of a (possibly large) model file, read in pieces.
Result<std::string> FileSha256(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kFailedPrecondition, "cannot read " + path.string());
  crypto::Hasher hasher(crypto::HashId::kSha256);
  std::vector<uint8_t> buffer(1 << 20);
  while (in) {
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
    hasher.Update(ByteView(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  return HexEncode(hasher.Finish());
}

Status StatusOf(const Result<std::string>& step) { return step.ok() ? OkStatus() : Status(step.error()); }

Status Prepare(Supervisor& s, const UpFlags& flags, const fs::path& keys) {
  fs::create_directories(keys);
  auto key = [&](const std::string& kind, const std::string& name) -> Status {
    if (fs::exists(keys / (name + ".key"))) return OkStatus();
    return StatusOf(s.RunStep("keys-" + name, {"keys", "generate", "--kind", kind, "--out", keys.string(), "--name", name}));
  };
  for (const char* kind : {"log", "release", "directory", "ohttp"}) OPENPCC_RETURN_IF_ERROR(key(kind, kind));
  for (int i = 1; i <= 3; ++i) OPENPCC_RETURN_IF_ERROR(key("witness", "witness-" + std::to_string(i)));
  if (!flags.TransportOnly() && !fs::exists(flags.model)) {
    std::fprintf(stderr, "generating the tiny test model (random weights) at %s\n", flags.model.c_str());
    OPENPCC_RETURN_IF_ERROR(StatusOf(s.RunStep("make-tiny", {"model", "make-tiny", flags.model})));
  }
  if (flags.platform != "sim") return OkStatus();
  return StatusOf(s.RunStep("sim-root", {"node", "sim-root", "init", (s.run() / "sim-root").string()}));
}

// The PCRs the nodes quote and bind their keys to, and the release states (--tpm-pcrs 0-7).
const std::vector<uint32_t> kTpmPcrs = {0, 1, 2, 3, 4, 5, 6, 7};
const std::string kTpmPcrList = "0-7";

struct TpmNode {
  std::string tcti;
  fs::path ak_certificate;
};

// --platform tpm: a swtpm per node (supervised by `s`, started before the nodes so it stops after
// them), each AK certified by one operator CA made for this run (its certificate is the policy's
// AK root: run/operator-ca.der; its private key never leaves this process), and the SHA-256 PCRs
// 0-7 every TPM reports, which must agree since the one release states them.
Status StartTpms(Supervisor& s, int64_t nodes, std::vector<TpmNode>& out, std::map<uint32_t, Bytes>& pcrs) {
  if (std::string missing = MissingSwtpmTools(); !missing.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "--platform tpm needs swtpm, swtpm_setup and swtpm_localca (Debian: swtpm swtpm-tools); " +
                     missing + " is not on PATH");
  }
  // The CLI is where the wall clock enters: the AK certificates are valid from now.
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::chrono::seconds validity = std::chrono::hours(24 * 365);
  OPENPCC_ASSIGN_OR_RETURN(attest::tpm::OperatorCa ca,
                           attest::tpm::OperatorCa::Generate("openpcc up operator CA (development only)",
                                                             now - std::chrono::hours(1), now + validity + std::chrono::hours(24)));
  OPENPCC_RETURN_IF_ERROR(services::WriteKeyFile(s.run() / "operator-ca.der", ca.certificate().Der(), 0644));
  // tpm2-tss logs every TPM response code it sees at warning level, including the ones callers expect.
  setenv("TSS2_LOG", "all+none", 0);
  for (int64_t i = 1; i <= nodes; ++i) {
    const std::string name = "swtpm-" + std::to_string(i);
    const fs::path dir = s.run() / name;
    OPENPCC_ASSIGN_OR_RETURN(StartedSwtpm tpm, StartSwtpm(dir));
    std::string tcti = tpm.tcti;
    s.Adopt(name, std::move(tpm.process));
    OPENPCC_ASSIGN_OR_RETURN(EnrolledTpm enrolled, EnrollSwtpm(tcti, dir, ca, now, validity, kTpmPcrs));
    const fs::path ak = dir / "ak.der";
    OPENPCC_RETURN_IF_ERROR(services::WriteKeyFile(ak, enrolled.ak_certificate_der, 0644));
    if (i == 1) {
      pcrs = enrolled.sha256_pcrs;
    } else if (enrolled.sha256_pcrs != pcrs) {
      return Error(ErrorCode::kFailedPrecondition, name + " reports other PCR values than swtpm-1");
    }
    std::fprintf(stderr, "  %-10s %s (AK certified by the run's operator CA)\n", name.c_str(), tcti.c_str());
    out.push_back({tcti, ak});
  }
  return OkStatus();
}

int Fail(const Error& error) {
  PrintError("up", error);
  return kExitFailure;
}

}  // namespace

int RunUp(const Args& args) {
  UpFlags flags;
  OptionSet options(
      "up [options]",
      "Runs the whole OpenPCC service on this machine, every role as a child process on 127.0.0.1:\n"
      "a transparency log with three witnesses, a release of this binary published in it, the\n"
      "Privacy Pass issuer (one account), the gateway (7200, operator 7201), N nodes (7500...) on a\n"
      "simulated TEE serving the model with the embedded llama engine, the relay (7100) and the\n"
      "local OpenAI-compatible proxy (7600), configured to trust exactly this deployment.\n"
      "The simulated TEE is for development only: its reports are signed by a software root made\n"
      "for this run, and every verification output says 'simulated'. With --platform tpm each node\n"
      "runs on its own software TPM (swtpm) instead: its AK certified by an operator CA made for the\n"
      "run after ActivateCredential, its HPKE keys TPM-resident under PolicyPCR, and the release\n"
      "stating the PCRs the fresh TPMs report. Ctrl-C stops everything.");
  options.AddString("dir", &flags.dir, "Keys, the generated model and the run state (default: STATE-DIR/up).", "DIR");
  options.AddString("model", &flags.model, "GGUF model to serve (default: DIR/tiny.gguf, generated on first use).", "FILE");
  options.AddString("model-name", &flags.model_name, "The name requests use for the model.", "NAME");
  options.AddString("engine", &flags.engine,
                    "llama (embedded llama.cpp) or openai (the nodes forward to --upstream, e.g. a "
                    "llama-server or vLLM on loopback); or transport-only, FOR TESTS AND BENCHMARKS "
                    "ONLY: the nodes run no model and stream fixed text (model name default "
                    "'transport-only'; see --transport-delay).", "NAME");
  options.AddDuration("transport-delay", &flags.transport_delay,
                      "transport-only: the nodes' pause between consecutive pieces, e.g. 200ms.");
  options.AddString("upstream", &flags.upstream, "openai: the upstream's base URL (loopback).", "URL");
  options.AddString("upstream-model", &flags.upstream_model, "openai: the model name the upstream knows (default: --model-name).", "NAME");
  options.AddString("platform", &flags.platform,
                    "sim (the simulated TEE) or tpm (one swtpm per node; needs swtpm, swtpm_setup and "
                    "swtpm_localca: Debian packages swtpm, swtpm-tools). Both are for development only: "
                    "a software TPM proves nothing about the machine, and TPM measured boot does not "
                    "isolate a node's memory from its host.", "NAME");
  options.AddInt("nodes", &flags.nodes, "Inference nodes to start. Clients require N_min = 3 nodes in the directory; with fewer, this run's client config lowers N_min to match (development only).", 1, 8);
  options.AddInt("engine-threads", &flags.engine_threads, "llama: CPU threads per node.", 1, 64);
  options.AddInt("epoch-seconds", &flags.epoch_seconds, "Directory epoch length (node keys live one epoch).", 60, 86400);
  options.AddInt("token-batch", &flags.token_batch,
                 "Tokens the proxy's wallet fetches per batch (benchmarks that send many requests at "
                 "once use more; the issuer's batch limit follows).", 1, 1024);
  options.AddBool("ephemeral-ports", &flags.ephemeral_ports,
                  "Every role on a free port the system picks instead of 7100-7600 (tests, or a second "
                  "stack beside a running one); the banner shows where each listens.");
  options.AddInt("service-threads", &flags.service_threads,
                 "I/O threads of each service. One is plenty on one machine and spares each streamed "
                 "token a hand-off between threads in every process it crosses.", 1, 64);
  options.AddString("log-level", &flags.log_level, "Log level of every child: debug, info, warning or error.", "LEVEL");
  options.AddNotes(
      "Children log to DIR/run/logs/ROLE.log; none of them logs prompts, completions or tokens.\n"
      "Example: openpcc up --nodes 3 --model ~/models/llama-3-8b-instruct.Q4_K_M.gguf --model-name llama-3-8b\n");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "up")) return *exit_status;
  if (flags.engine != "llama" && flags.engine != "openai" && !flags.TransportOnly()) {
    PrintError("up", "--engine: expected llama, openai or transport-only, got '" + flags.engine + "'");
    return kExitUsage;
  }
  // The stack must not look like it serves a model when it serves none.
  if (flags.TransportOnly() && flags.model_name == "tiny") flags.model_name = "transport-only";
  if (flags.platform != "sim" && flags.platform != "tpm") {
    PrintError("up", "--platform: expected sim or tpm, got '" + flags.platform + "'");
    return kExitUsage;
  }
  if (flags.platform == "tpm" && flags.epoch_seconds < 900) {
    // A swtpm has three transient slots: a node keeps an epoch's key 5 min after it and makes the
    // next 10 min ahead, so shorter epochs would need three keys besides the AK.
    PrintError("up", "--platform tpm needs --epoch-seconds of at least 900 (a swtpm holds at most two node keys)");
    return kExitUsage;
  }
  if ((flags.engine == "openai") != !flags.upstream.empty()) {
    PrintError("up", "--upstream URL is required with --engine openai, and only with it");
    return kExitUsage;
  }

  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return Fail(Error(ErrorCode::kFailedPrecondition, "cannot find this executable: " + ec.message()));
  const fs::path dir = flags.dir.empty() ? fs::path(DefaultStateDir()) / "up" : fs::path(flags.dir);
  const fs::path run = dir / "run";
  // transport-only has no weights: the release lists the model name with the digest of an empty
  // file, which is what the nodes claim.
  if (flags.TransportOnly()) flags.model = (run / "transport-only.weights").string();
  if (flags.model.empty()) flags.model = (dir / "tiny.gguf").string();
  // The run state is made afresh, but only a directory this command made is ever removed (a
  // mistyped --dir must not cost the user a folder).
  const fs::path marker = run / ".openpcc-up-run";
  if (fs::exists(run, ec) && !fs::exists(marker, ec)) {
    return Fail(Error(ErrorCode::kFailedPrecondition,
                      run.string() + " exists and was not made by openpcc up: remove it or choose another --dir"));
  }
  fs::remove_all(run, ec);
  fs::create_directories(run / "logs", ec);
  if (ec) return Fail(Error(ErrorCode::kFailedPrecondition, "cannot create " + run.string() + ": " + ec.message()));
  std::ofstream(marker) << "made by openpcc up; removed and made again by the next run\n";
  if (flags.TransportOnly()) std::ofstream(flags.model).flush();
  const fs::path keys = dir / "keys";

  services::BlockStopSignals();
  Supervisor s(self.string(), run, flags.log_level, flags.service_threads);
  const bool tpm = flags.platform == "tpm";
  std::fprintf(stderr, "openpcc up: preparing keys, model and %s in %s\n",
               tpm ? "the software TPMs" : "the simulated TEE root", dir.string().c_str());
  if (Status prepared = Prepare(s, flags, keys); !prepared.ok()) return Fail(prepared.error());

  std::fprintf(stderr, "starting:\n");
  std::vector<TpmNode> tpm_nodes;
  std::map<uint32_t, Bytes> tpm_pcrs;
  if (tpm) {
    if (Status started = StartTpms(s, flags.nodes, tpm_nodes, tpm_pcrs); !started.ok()) return Fail(started.error());
  }
  const std::string log_vkey_file = (keys / "log.vkey").string();
  const std::string log_vkey = ReadText(keys / "log.vkey");
  const std::string log_origin = log_vkey.substr(0, log_vkey.find('+'));
  std::vector<std::string> witness_urls;
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "witness-" + std::to_string(i);
    auto address = s.Start(name, {"witness", "--key", (keys / (name + ".key")).string(), "--dir",
                                  (run / name).string(), "--log", log_vkey_file}, "127.0.0.1:0");
    if (!address.ok()) return Fail(address.error());
    witness_urls.push_back("http://" + *address);
  }
  std::vector<std::string> tlog_args = {"tlog", "--key", (keys / "log.key").string(), "--dir", (run / "log").string(),
                                        "--release-key", (keys / "release.pub").string(), "--directory-key",
                                        (keys / "directory.pub").string(), "--refresh-interval", "60s"};
  for (int i = 1; i <= 3; ++i) {
    tlog_args.push_back("--witness");
    tlog_args.push_back(witness_urls[static_cast<size_t>(i - 1)] + " " + (keys / ("witness-" + std::to_string(i) + ".vkey")).string());
  }
  auto tlog = s.Start("tlog", tlog_args, flags.Listen(7400));
  if (!tlog.ok()) return Fail(tlog.error());
  const std::string log_url = "http://" + *tlog;

  // A release of this binary and the model, so clients can check step 4 of DESIGN §2.4: the sim
  // measurement of this binary, or the PCRs the software TPMs report.
  const fs::path release_record = run / "release.json";
  std::vector<std::string> release_args = {"release", "publish", "--key", (keys / "release.key").string(), "--log", log_url,
                                           "--log-key", log_vkey_file, "--version", "up-" + std::to_string(getpid()),
                                           "--source-revision", "local", "--binary", self.string(), "--model",
                                           flags.model_name + "=" + flags.model, "--out", release_record.string()};
  if (tpm) {
    for (const auto& [index, value] : tpm_pcrs) {
      release_args.push_back("--tpm-pcr");
      release_args.push_back(std::to_string(index) + "=" + HexEncode(value));
    }
  } else {
    Result<Bytes> measurement = attest::sim::MeasureFile(self);
    if (!measurement.ok()) return Fail(measurement.error());
    release_args.push_back("--measurement");
    release_args.push_back("sim=" + HexEncode(*measurement));
  }
  auto published = s.RunStep("release", release_args);
  if (!published.ok()) return Fail(published.error());

  auto issuer = s.Start("issuer", {"issuer", "--state-dir", (run / "issuer").string(), "--max-batch",
                                   std::to_string(std::max<int64_t>(256, flags.token_batch))},
                        flags.Listen(7300));
  if (!issuer.ok()) return Fail(issuer.error());
  auto account = s.RunStep("issuer-account", {"issuer", "admin", "create-account", "up", "--per-hour", "100000",
                                              "--per-day", "1000000", "--state-dir", (run / "issuer").string()});
  if (!account.ok()) return Fail(account.error());
  auto api_key = s.RunStep("issuer-key", {"issuer", "admin", "create-key", "up", "--state-dir", (run / "issuer").string()});
  if (!api_key.ok()) return Fail(api_key.error());
  Status wrote_key = WriteSecretFile(run / "api-key", *api_key);
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(api_key->data()), api_key->size()));
  if (!wrote_key.ok()) return Fail(wrote_key.error());

  Bytes credential(32);
  crypto::RandomBytes(credential);
  std::string credential_hex = HexEncode(credential);
  Status wrote_credential = WriteSecretFile(run / "registration-credential", credential_hex);
  crypto::Wipe(credential);
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(credential_hex.data()), credential_hex.size()));
  if (!wrote_credential.ok()) return Fail(wrote_credential.error());
  auto release_pub = services::ReadEd25519PublicKey(keys / "release.pub");
  if (!release_pub.ok()) return Fail(release_pub.error());
  boost::json::array witness_vkeys;
  for (int i = 1; i <= 3; ++i) witness_vkeys.push_back(boost::json::string(ReadText(keys / ("witness-" + std::to_string(i) + ".vkey"))));
  boost::json::object policy{
      {"version", 1},
      {"platforms", boost::json::array{boost::json::string(flags.platform)}},
      {"roots", tpm ? boost::json::object{{"tpm_ak", boost::json::array{(run / "operator-ca.der").string()}}}
                    : boost::json::object{{"sim", boost::json::array{(run / "sim-root" / "sim-root.pem").string()}}}},
      {"log", boost::json::object{{"origin", log_origin}, {"key", log_vkey}, {"witnesses", witness_vkeys}, {"threshold", 2}}},
      {"release_keys", boost::json::array{boost::json::string(HexEncode(release_pub->bytes()))}}};
  std::ofstream(run / "policy.json") << boost::json::serialize(policy) << "\n";

  const std::string epoch = std::to_string(flags.epoch_seconds);
  Result<std::string> model_digest = flags.engine == "openai" ? FileSha256(flags.model) : Result<std::string>(std::string());
  if (!model_digest.ok()) return Fail(model_digest.error());
  auto gateway = s.Start("gateway", {"gateway", "--operator-listen", flags.Listen(7201), "--operator-ready-file",
                                     (run / "gateway-operator.ready").string(), "--state-dir",
                                     (run / "gateway").string(), "--directory-key", (keys / "directory.key").string(),
                                     "--ohttp-key", (keys / "ohttp.key").string(), "--policy",
                                     (run / "policy.json").string(), "--registration-credential",
                                     (run / "registration-credential").string(), "--issuer", "http://" + *issuer,
                                     "--log", log_url, "--epoch-seconds", epoch,
                                     // The first directory as soon as every node registered: nodes
                                     // that start slowly (a loaded machine, a large model) must not
                                     // miss it, since it stands for a whole epoch.
                                     "--startup-nodes", std::to_string(flags.nodes), "--startup-wait", "300s"},
                         flags.Listen(7200));
  if (!gateway.ok()) return Fail(gateway.error());
  Result<std::string> operator_address = WaitForFile((run / "gateway-operator.ready").string(), 10s);
  if (!operator_address.ok()) return Fail(operator_address.error());
  std::fprintf(stderr, "  %-10s http://%s (operator)\n", "gateway", operator_address->c_str());

  for (int64_t i = 0; i < flags.nodes; ++i) {
    std::vector<std::string> node_args = {"node", "--engine", flags.engine, "--model-name", flags.model_name};
    if (flags.engine == "llama") {
      for (const std::string& a : {std::string("--model"), flags.model, std::string("--engine-threads"),
                                   std::to_string(flags.engine_threads)}) {
        node_args.push_back(a);
      }
    } else if (flags.TransportOnly()) {
      node_args.push_back("--transport-delay");
      node_args.push_back(std::to_string(flags.transport_delay.count()) + "ms");
    } else {
      node_args.push_back("--upstream");
      node_args.push_back(flags.upstream);
      node_args.push_back("--upstream-model");
      node_args.push_back(flags.upstream_model.empty() ? flags.model_name : flags.upstream_model);
      node_args.push_back("--model-sha256");  // the claim the release lists (the same weights)
      node_args.push_back(*model_digest);
    }
    const std::vector<std::string> platform_args =
        tpm ? std::vector<std::string>{"--platform", "tpm", "--tpm-tcti", tpm_nodes[static_cast<size_t>(i)].tcti,
                                       "--tpm-ak-cert", tpm_nodes[static_cast<size_t>(i)].ak_certificate.string(),
                                       "--tpm-pcrs", kTpmPcrList}
            : std::vector<std::string>{"--platform", "sim", "--sim-root-dir", (run / "sim-root").string()};
    node_args.insert(node_args.end(), platform_args.begin(), platform_args.end());
    for (const std::string& a : std::vector<std::string>{"--release", release_record.string(), "--log", log_url, "--log-key", log_vkey_file, "--threshold", "2",
        "--gateway", "http://" + *operator_address, "--registration-credential", (run / "registration-credential").string(),
        "--epoch-length", epoch + "s"}) {
      node_args.push_back(a);
    }
    for (int w = 1; w <= 3; ++w) {
      node_args.push_back("--witness");
      node_args.push_back((keys / ("witness-" + std::to_string(w) + ".vkey")).string());
    }
    auto node = s.Start("node-" + std::to_string(i + 1), node_args, flags.Listen(7500 + static_cast<int>(i)), 120s);
    if (!node.ok()) return Fail(node.error());
  }
  auto relay = s.Start("relay", {"relay", "--gateway", "http://" + *gateway + "/gateway"}, flags.Listen(7100));
  if (!relay.ok()) return Fail(relay.error());

  // The local proxy is a client like any other: it trusts the directory key, the log and its
  // witnesses, and the sim root (or operator CA) of this run, and pays with tokens of the account made above.
  if (flags.nodes < 3) {
    std::fprintf(stderr,
                 "note: --nodes %lld is below the client's N_min of 3; this run's client configuration "
                 "lowers N_min to %lld, which weakens non-targetability (development only)\n",
                 static_cast<long long>(flags.nodes), static_cast<long long>(flags.nodes));
  }
  auto directory_pub = services::ReadEd25519PublicKey(keys / "directory.pub");
  if (!directory_pub.ok()) return Fail(directory_pub.error());
  const fs::path client_dir = run / "client";
  fs::create_directories(client_dir / "state", ec);
  boost::json::object client_config{{"relay_url", "http://" + *relay + "/"},
                                    {"issuer_url", "http://" + *issuer},
                                    {"api_key_file", (run / "api-key").string()},
                                    {"directory_key", HexEncode(directory_pub->bytes())},
                                    {"bundle_policy", (run / "policy.json").string()},
                                    {"min_nodes", std::min<int64_t>(3, flags.nodes)},
                                    {"state_dir", (client_dir / "state").string()},
                                    {"token_batch_size", flags.token_batch},
                                    // A newcomer's first answer should not wait up to a minute for
                                    // the first batch; a development stack, not a privacy setting.
                                    {"empty_refill_delay_seconds", 5}};
  std::ofstream(client_dir / "client.json") << boost::json::serialize(client_config) << "\n";
  auto proxy = s.Start("proxy", {"proxy", "--client-config", (client_dir / "client.json").string()}, flags.Listen(7600));
  if (!proxy.ok()) return Fail(proxy.error());

  std::fprintf(stderr,
               "\nOpenPCC is up (%s: for development only). The gateway publishes the first node\n"
               "directory once every node registered (a few seconds); until then the proxy answers 503.\n"
               "  OpenAI-compatible endpoint: http://%s/v1   (model \"%s\")\n"
               "  try:  openpcc chat --client-config %s \"Hello\"\n"
               "        (without --client-config, chat and proxy use this configuration when you have\n"
               "        none of your own and `up` runs in its default directory)\n"
               "Logs: %s. Ctrl-C stops everything.\n",
               tpm ? "software TPMs" : "simulated TEE", proxy->c_str(), flags.model_name.c_str(), (client_dir / "client.json").string().c_str(),
               (run / "logs").string().c_str());

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  const timespec poll_interval{0, 500'000'000};
  while (true) {
    const int signal = sigtimedwait(&stop_signals, nullptr, &poll_interval);
    if (signal == SIGINT || signal == SIGTERM) {
      std::fprintf(stderr, "stopping\n");
      s.StopAll();
      return kExitOk;
    }
    if (std::optional<std::string> exited = s.Exited()) {
      std::fprintf(stderr, "openpcc up: %s exited; stopping everything (see %s)\n", exited->c_str(),
                   (run / "logs" / (*exited + ".log")).string().c_str());
      s.StopAll();
      return kExitFailure;
    }
  }
}

}  // namespace openpcc::cli
