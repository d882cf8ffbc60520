// `openpcc node`: the confidential inference node (DESIGN §2.2, §2.4, §4, §5, §6).
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/engine/openai_engine.h"
#include "openpcc/net/server.h"
#include "openpcc/services/node/evidence.h"
#include "openpcc/services/node/key_ring.h"
#include "openpcc/services/node/node_service.h"
#include "openpcc/services/node/registrar.h"
#include "openpcc/services/process.h"
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

}  // namespace

int RunNode(const Args& args) {
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
  std::chrono::milliseconds epoch_length{std::chrono::hours(1)};
  std::chrono::milliseconds key_grace{std::chrono::minutes(5)};
  std::chrono::milliseconds prepare_ahead{std::chrono::minutes(10)};
  int64_t max_request_bytes = 1024 * 1024;
  int64_t max_concurrent = 64;
  int64_t replay_capacity = 100'000;
  std::string platform = "unattested";
  std::string checkpoint_file;
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
  options.AddString("engine", &engine_name, "Inference engine: llama or openai.", "NAME");
  options.AddString("model", &model_path, "llama: the GGUF model file.", "PATH");
  options.AddString("model-name", &model_name,
                    "The model name requests use (default: the GGUF file name without .gguf; "
                    "openai: required).", "NAME");
  options.AddString("model-sha256", &model_sha256,
                    "openai: SHA-256 (hex) of the upstream's weights, for the evidence claims "
                    "(llama: computed from --model).", "HEX");
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
  options.AddDuration("epoch-length", &epoch_length, "Directory epoch: one HPKE key per epoch.");
  options.AddDuration("key-grace", &key_grace, "How long a key still opens requests after its epoch.");
  options.AddDuration("key-prepare-ahead", &prepare_ahead,
                      "How long before an epoch starts its key is made and registered.");
  options.AddInt("max-request-bytes", &max_request_bytes, "Bound on one sealed request.", 1024, 64 << 20);
  options.AddInt("max-concurrent", &max_concurrent, "Inference requests served at once.", 1, 4096);
  options.AddInt("replay-capacity", &replay_capacity,
                 "Sealed requests remembered for replay detection (120 s each).", 16, 100'000'000);
  options.AddString("platform", &platform,
                    "Evidence collector. This build has 'unattested' only (development: bundles "
                    "carry no signed evidence and every client refuses them).", "NAME");
  options.AddString("checkpoint-file", &checkpoint_file,
                    "Signed checkpoint note of the transparency log, re-read for each bundle "
                    "(freshness kind 1).", "FILE");
  options.AddString("gateway", &gateway,
                    "Base URL of the gateway's operator listener to register with, e.g. "
                    "http://127.0.0.1:7201 (default: do not register).", "URL");
  options.AddString("advertise-url", &advertise_url,
                    "The URL the gateway reaches this node at (default: http://LISTEN).", "URL");
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
  if (platform != "unattested") {
    PrintError("node", "--platform: '" + platform +
                           "' is not available in this build (available: unattested)");
    return kExitUsage;
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
  } else {
    PrintError("node", "--engine: '" + engine_name + "' is not one of llama, openai");
    return kExitUsage;
  }
  claim.name = engine->info().model;

  // ---- Keys, evidence, service ----
  services::node::KeyRingOptions key_options;
  key_options.epoch_length = epoch_length;
  key_options.grace = key_grace;
  key_options.prepare_ahead = prepare_ahead;
  services::node::KeyRing keys(key_options);
  services::node::UnattestedCollector collector;
  LogWarning(kComponent, "platform 'unattested': bundles carry no signed evidence (development only)");

  services::node::NodeServiceOptions node_options;
  node_options.max_request_bytes = static_cast<size_t>(max_request_bytes);
  node_options.max_concurrent = static_cast<size_t>(max_concurrent);
  node_options.replay_capacity = static_cast<size_t>(replay_capacity);
  node_options.claims.models.push_back(claim);
  if (!checkpoint_file.empty()) {
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
  registrar_options.node_url = advertise_url.empty()
                                   ? "http://" + server_options->address + ":" + std::to_string((*server)->port())
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
  LogInfo(kComponent, "serving",
          {{"engine", engine->info().name}, {"model", engine->info().model},
           {"port", std::to_string((*server)->port())}});
  const int code = services::ServeUntilSignal(**server, ToProcessOptions(service, "node"),
                                              [&registrar] { registrar.Stop(); });
  registrar.Stop();
  return code;
}

}  // namespace openpcc::cli
