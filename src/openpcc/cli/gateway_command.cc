// `openpcc gateway`: the OHTTP gateway, epoch node directory, token redemption and routing
// (services/gateway). Two listeners: the public one (reached through the relay) and the operator
// one (node registration, metrics), which must never be exposed to clients.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "openpcc/attest/bundle_policy.h"
#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/net/server.h"
#include "openpcc/services/gateway/gateway_service.h"
#include "openpcc/services/key_files.h"
#include "openpcc/services/process.h"
#include "openpcc/util/log.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kCommand = "gateway";

std::string DefaultStateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/openpcc/gateway";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/state/openpcc/gateway";
}

constexpr char kNotes[] = R"(Example config (openpcc gateway --config gateway.conf):

  listen = 127.0.0.1:7200
  operator-listen = 127.0.0.1:7201
  state-dir = /var/lib/openpcc/gateway
  directory-key = /etc/openpcc/keys/directory.key
  ohttp-key = /etc/openpcc/keys/ohttp.key
  ohttp-key = /etc/openpcc/keys/ohttp-2.key     # during rotation: at most two
  policy = /etc/openpcc/gateway-policy.json
  registration-credential = /etc/openpcc/registration.credential
  issuer = http://127.0.0.1:7300
  log = http://127.0.0.1:7400
  epoch-seconds = 3600
  k = 3

Keys are made by 'openpcc keys generate --kind directory|ohttp'. Each --ohttp-key NAME.key needs
NAME.keyconfig beside it (written by 'openpcc keys'). The policy file is the one
'openpcc evidence verify --type bundle --policy' reads (attest/bundle_policy.h); the gateway checks
each registering node's platform evidence and binding under it. Nodes register with
'openpcc node --gateway http://127.0.0.1:7201 --registration-credential FILE'.
)";

Result<std::string> ReadCredential(const std::string& path) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes bytes, services::ReadKeyFile(path, /*private_key=*/true));
  std::string text(AsChars(bytes.view()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return Error(ErrorCode::kInvalidArgument, "--registration-credential " + path + " is empty");
  return text;
}

Result<wire::GatewayKey> ReadOhttpKey(const std::string& key_path) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes pem, services::ReadKeyFile(key_path, /*private_key=*/true));
  OPENPCC_ASSIGN_OR_RETURN(Bytes der, services::PemDecode(services::kPemPrivateKey, AsChars(pem.view())));
  crypto::SecretBytes der_secret(der);
  crypto::Wipe(der);
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes raw,
                           services::ParseRawPrivateKeyPkcs8(services::RawKeyType::kX25519, der_secret.view()));
  OPENPCC_ASSIGN_OR_RETURN(crypto::SoftwareDhKey key,
                           crypto::SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, raw.view()));
  std::filesystem::path config_path(key_path);
  config_path.replace_extension(".keyconfig");
  OPENPCC_ASSIGN_OR_RETURN(Bytes config_bytes, ReadInputFile("--ohttp-key (its .keyconfig)", config_path.string()));
  OPENPCC_ASSIGN_OR_RETURN(wire::KeyConfig config, wire::ParseKeyConfig(config_bytes));
  if (config.kem != crypto::KemId::kX25519HkdfSha256 || config.public_key != ToBytes(key.public_key())) {
    return Error(ErrorCode::kInvalidArgument,
                 "--ohttp-key " + key_path + ": " + config_path.string() + " does not describe this key");
  }
  wire::GatewayKey out;
  out.config = std::move(config);
  out.private_key = std::make_shared<crypto::SoftwareDhKey>(std::move(key));
  return out;
}

}  // namespace

int RunGateway(const Args& args) {
  ServiceFlags flags;
  services::gateway::GatewayConfig config;
  config.state_dir = DefaultStateDir();
  config.issuer_url = "http://127.0.0.1:7300";
  config.log_url = "http://127.0.0.1:7400";
  std::string operator_listen = "127.0.0.1:7201";
  std::string operator_ready_file;
  std::string directory_key_file;
  std::vector<std::string> ohttp_key_files;
  std::string policy_file;
  std::string credential_file;
  std::string ca_file;
  int64_t epoch_seconds = 3600;
  int64_t k = static_cast<int64_t>(config.k);
  int64_t startup_nodes = 0;
  std::chrono::milliseconds startup_wait = config.startup_wait;
  std::chrono::milliseconds health_interval = config.health_interval;
  std::chrono::milliseconds node_grace = config.node_grace;
  OptionSet options(
      "gateway [options]",
      "The OHTTP gateway (DESIGN §2.1, §2.5, §4). Decapsulates OHTTP and chunked OHTTP from the\n"
      "relay (POST / or /gateway; keys at GET /ohttp-keys) and serves the inner API: GET /v1/models,\n"
      "GET /v1/directory (the epoch's signed and logged node directory with its inclusion proof and\n"
      "the nodes' current evidence bundles), POST /v1/infer (Privacy Pass token redeemed, then the\n"
      "sealed request forwarded unchanged to one healthy node among the client's candidates and\n"
      "the sealed response streamed back), POST /v1/attest, GET /v1/tlog/checkpoint and\n"
      "/v1/tlog/tile/... (from the log). At the start of every epoch it signs the directory with the\n"
      "directory key and appends it to the log. The operator listener takes node registrations\n"
      "(POST /v1/nodes/register, Bearer credential), deregistrations (DELETE /v1/nodes/{node_id})\n"
      "and serves GET /metrics. The gateway never sees a client address, prompt or completion.");
  AddServiceFlags(options, flags, "127.0.0.1:7200");
  options.AddString("operator-listen", &operator_listen,
                    "HOST:PORT of the operator listener (registration, metrics); loopback or a private "
                    "network only, never reachable by clients.",
                    "HOST:PORT");
  options.AddString("operator-ready-file", &operator_ready_file,
                    "Write \"<host>:<port>\\n\" of the operator listener to FILE once it listens.", "FILE");
  options.AddString("state-dir", &config.state_dir,
                    "Directory of the spent-token store (spent-tokens.db, SQLite; created 0700).", "DIR");
  options.AddString("directory-key", &directory_key_file,
                    "The Ed25519 directory key (PEM PKCS#8, 0600) that signs each epoch's directory "
                    "('openpcc keys generate --kind directory'). Required.",
                    "FILE");
  options.AddList("ohttp-key", &ohttp_key_files,
                  "An X25519 OHTTP key NAME.key with NAME.keyconfig beside it ('openpcc keys generate "
                  "--kind ohttp'); give it twice during a rotation (at most two). Required.",
                  "FILE");
  options.AddString("policy", &policy_file,
                    "Bundle policy (JSON, attest/bundle_policy.h) under which registering nodes' "
                    "evidence must verify. Required.",
                    "FILE");
  options.AddString("registration-credential", &credential_file,
                    "File (0600) holding the operator-issued credential nodes present as "
                    "'Authorization: Bearer' when they register. Required.",
                    "FILE");
  options.AddString("issuer", &config.issuer_url,
                    "The Privacy Pass issuer's origin: its directory gives the token keys and the fixed "
                    "TokenChallenge.",
                    "URL");
  options.AddString("log", &config.log_url, "The transparency log's URL (directories are appended there).", "URL");
  options.AddString("ca-file", &ca_file,
                    "PEM CA bundle for https URLs of nodes, log and issuer (default: system store).", "FILE");
  options.AddInt("epoch-seconds", &epoch_seconds,
                 "Directory epoch length in seconds; epoch n runs from n*L to (n+1)*L Unix time. Nodes "
                 "must use the same --epoch-length.",
                 1, 7 * 24 * 3600);
  options.AddDuration("startup-wait", &startup_wait,
                      "After start, how long to collect registrations before publishing the current "
                      "epoch's first directory (nodes re-register at least every minute).");
  options.AddInt("startup-nodes", &startup_nodes,
                 "Publish the first directory as soon as this many nodes of one model are registered, "
                 "before --startup-wait ends (0: always wait it out).", 0, 1024);
  options.AddInt("k", &k, "K, the number of candidates a client seals each request to (published).", 1, 8);
  options.AddString("service", &config.service, "The service name published in the directory.", "NAME");
  options.AddDuration("health-interval", &health_interval, "How often each node's /healthz is checked.");
  options.AddDuration("node-grace", &node_grace,
                      "How long a registration is kept after its key's not_after (requests sealed "
                      "just before a rollover).");
  options.AddBool("allow-remote-nodes", &config.allow_remote_nodes,
                  "Accept node URLs that are not loopback (then use https node URLs and --ca-file).");
  options.AddNotes(kNotes);
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"--directory-key", &directory_key_file},
                                    {"--policy", &policy_file},
                                    {"--registration-credential", &credential_file}}) {
    if (value->empty()) {
      PrintError(kCommand, std::string(flag) + " is required (see --help)");
      return kExitUsage;
    }
  }
  if (ohttp_key_files.empty() || ohttp_key_files.size() > 2) {
    PrintError(kCommand, "--ohttp-key: expected one or two keys");
    return kExitUsage;
  }

  Result<net::ServerOptions> server_options = ToServerOptions(flags, kCommand);
  if (!server_options.ok()) {
    PrintError(kCommand, server_options.error());
    return kExitUsage;
  }
  ServiceFlags operator_flags = flags;
  operator_flags.listen = operator_listen;
  operator_flags.ready_file.clear();
  Result<net::ServerOptions> operator_options = ToServerOptions(operator_flags, "gateway-operator");
  if (!operator_options.ok()) {
    PrintError(kCommand, operator_options.error());
    return kExitUsage;
  }

  Result<crypto::Ed25519PrivateKey> directory_key = services::ReadEd25519PrivateKey(directory_key_file);
  if (!directory_key.ok()) {
    PrintError(kCommand, directory_key.error());
    return kExitUsage;
  }
  config.directory_key = std::make_shared<const crypto::Ed25519PrivateKey>(std::move(directory_key).value());
  for (const std::string& file : ohttp_key_files) {
    Result<wire::GatewayKey> key = ReadOhttpKey(file);
    if (!key.ok()) {
      PrintError(kCommand, key.error());
      return kExitUsage;
    }
    config.ohttp_keys.push_back(std::move(key).value());
  }
  Result<std::string> credential = ReadCredential(credential_file);
  if (!credential.ok()) {
    PrintError(kCommand, credential.error());
    return kExitUsage;
  }
  config.credential = crypto::SecretBytes(AsBytes(*credential));
  crypto::Wipe({reinterpret_cast<uint8_t*>(credential->data()), credential->size()});

  Result<Bytes> policy_text = ReadInputFile("--policy", policy_file);
  if (!policy_text.ok()) {
    PrintError(kCommand, policy_text.error());
    return kExitUsage;
  }
  const std::filesystem::path base = std::filesystem::path(policy_file).parent_path();
  attest::PolicyFileLoader loader = [&base](std::string_view path) -> Result<Bytes> {
    std::filesystem::path p(path);
    if (p.is_relative()) p = base / p;
    return ReadInputFile("policy file", p.string());
  };
  Result<attest::BundlePolicy> policy = attest::ParseBundlePolicy(AsChars(*policy_text), loader);
  if (!policy.ok()) {
    PrintError(kCommand, "--policy " + policy_file + ": " + policy.error().message());
    return kExitUsage;
  }
  config.policy = std::move(policy).value();
  config.epoch_length = std::chrono::seconds(epoch_seconds);
  config.startup_wait = std::chrono::duration_cast<std::chrono::seconds>(startup_wait);
  config.health_interval = health_interval;
  config.node_grace = std::chrono::duration_cast<std::chrono::seconds>(node_grace);
  config.k = static_cast<uint64_t>(k);
  config.startup_nodes = static_cast<size_t>(startup_nodes);
  config.node_client.ca_file = ca_file;

  services::BlockStopSignals();
  Result<std::unique_ptr<services::gateway::GatewayService>> service =
      services::gateway::GatewayService::Create(std::move(config), SystemClock::Instance());
  if (!service.ok()) {
    PrintError(kCommand, service.error());
    return kExitFailure;
  }
  Result<std::unique_ptr<net::Server>> operator_server =
      net::Server::Start(*operator_options, (*service)->OperatorRouter());
  if (!operator_server.ok()) {
    PrintError(kCommand, "operator listener: " + operator_server.error().message());
    return kExitFailure;
  }
  Result<std::unique_ptr<net::Server>> server = net::Server::Start(*server_options, (*service)->PublicRouter());
  if (!server.ok()) {
    PrintError(kCommand, server.error());
    return kExitFailure;
  }
  if (Status started = (*service)->Start((*server)->executor()); !started.ok()) {
    PrintError(kCommand, started.error());
    return kExitFailure;
  }
  if (!operator_ready_file.empty()) {
    const std::string text = operator_options->address + ":" + std::to_string((*operator_server)->port()) + "\n";
    if (Status written = services::WriteFileAtomically(operator_ready_file, text); !written.ok()) {
      PrintError(kCommand, written.error());
      return kExitFailure;
    }
  }
  LogInfo("gateway", "serving",
          {{"port", std::to_string((*server)->port())}, {"operator_port", std::to_string((*operator_server)->port())}});
  const int status = services::ServeUntilSignal(**server, ToProcessOptions(flags, "gateway"), [&] {
    (*service)->Stop();
    (*operator_server)->Shutdown(std::chrono::milliseconds(2'000));
  });
  (*service)->Stop();
  (*operator_server)->Shutdown(std::chrono::milliseconds(0));
  (*server)->Shutdown(std::chrono::milliseconds(0));
  (*service)->ReleaseClient();  // before the server (and its io_context) is destroyed
  return status == 0 ? kExitOk : kExitFailure;
}

}  // namespace openpcc::cli
