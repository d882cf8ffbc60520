// hops_bench — the load side of the hop benchmark (issue 8, item 6), driven by bench/hops/run,
// which starts the processes and computes the differences and ratios.
//
//   hops_bench openpcc --client-config FILE --model NAME --via relay|gateway|node [--url URL]
//                      [--concurrency 1,4,16] [--requests 400] [--max-tokens 6] --state-dir DIR
//     Streamed chat requests through the client library (client/client.h), so the client's
//     sealing, token and OHTTP costs are in every figure:
//       relay:   client → relay → gateway → node (the client config's relay, or --url)
//       gateway: client → gateway → node (--url http://GATEWAY: OHTTP straight to the gateway)
//       node:    client → node (--url http://NODE: the sealed request POSTed to the node's
//                /v1/infer without OHTTP and without a token, as the gateway would forward it)
//   hops_bench raw --url URL --request-bytes N [--response-bytes M] [--concurrency ...]
//     POSTs N opaque bytes (message/ohttp-chunked-req) and reads the streamed answer: the load on
//     a plain reverse-proxy chain (nginx) that carries bytes of the same sizes.
//   hops_bench origin --response-bytes M --chunks K --ready-file FILE [--listen 127.0.0.1:0]
//     The chain's origin: reads any POST body, answers M bytes in K chunks (chunked encoding),
//     on the same HTTP server code as the node. Runs until SIGTERM or SIGINT.
//
// --requests is per concurrency level (each of the c workers sends requests / c in sequence).
// Output: JSON on stdout, per level: requests/s, latency p50/p99 (request start to the end of
// the stream) and time to the first byte of content p50.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "e2e/load.h"
#include "openpcc/client/client.h"
#include "openpcc/client/sealed_call.h"
#include "openpcc/net/client.h"
#include "openpcc/net/router.h"
#include "openpcc/net/server.h"
#include "openpcc/util/clock.h"
#include "openpcc/wire/sealed.h"

namespace {

using namespace openpcc;
using namespace openpcc::bench;
namespace fs = std::filesystem;
using Ms = std::chrono::duration<double, std::milli>;

struct Flags {
  std::string mode;
  std::string client_config;
  std::string via = "relay";
  std::string url;
  std::string state_dir;
  std::string ready_file;
  std::string listen = "127.0.0.1:0";
  ChatSettings settings{.model = "transport-only", .max_tokens = 6, .seed = 1};
  std::vector<int> levels = {1, 4, 16};
  int requests = 400;
  int warmup = 8;
  size_t request_bytes = 0;
  size_t response_bytes = 0;
  size_t chunks = 8;
};

const char* kUsage =
    "usage: hops_bench openpcc --client-config FILE --model NAME --via relay|gateway|node [--url URL]\n"
    "                          --state-dir DIR [--concurrency 1,4,16] [--requests N] [--max-tokens N]\n"
    "       hops_bench raw --url URL --request-bytes N [--response-bytes M] [--concurrency ...] [--requests N]\n"
    "       hops_bench origin --response-bytes M --chunks K --ready-file FILE [--listen HOST:PORT]\n"
    "Load generator of bench/hops/run (see its --help); prints JSON on stdout.\n";

bool ParseFlags(int argc, char** argv, Flags& flags) {
  if (argc < 2) return false;
  flags.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || i + 1 >= argc) return false;
    const std::string value = argv[++i];
    const auto number = [&] { return static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10)); };
    if (name == "--client-config") flags.client_config = value;
    else if (name == "--model") flags.settings.model = value;
    else if (name == "--via") flags.via = value;
    else if (name == "--url") flags.url = value;
    else if (name == "--state-dir") flags.state_dir = value;
    else if (name == "--ready-file") flags.ready_file = value;
    else if (name == "--listen") flags.listen = value;
    else if (name == "--max-tokens") flags.settings.max_tokens = static_cast<uint32_t>(number());
    else if (name == "--requests") flags.requests = static_cast<int>(number());
    else if (name == "--warmup") flags.warmup = static_cast<int>(number());
    else if (name == "--request-bytes") flags.request_bytes = number();
    else if (name == "--response-bytes") flags.response_bytes = number();
    else if (name == "--chunks") flags.chunks = number();
    else if (name == "--concurrency") {
      if (!ParseConcurrencyLevels(value, flags.levels)) return false;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      return false;
    }
  }
  const bool levels_ok = !flags.levels.empty();
  return levels_ok && flags.requests >= 1;
}

// Records when each piece of the engine's answer (SSE bytes) authenticated.
class TimingSink final : public client::AnswerSink {
 public:
  explicit TimingSink(StreamTiming& timing) : timing_(timing) {}
  Status OnHead(const client::InnerResponseHead& head) override {
    if (head.status != 200) return Error(ErrorCode::kFailedPrecondition, "engine answered HTTP " + std::to_string(head.status));
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    if (!piece.empty()) timing_.token_times.push_back(std::chrono::steady_clock::now());
    return OkStatus();
  }

 private:
  StreamTiming& timing_;
};

class ClientBackend final : public Backend {
 public:
  explicit ClientBackend(std::shared_ptr<client::Client> client) : client_(std::move(client)) {}
  Result<StreamTiming> StreamChat(const std::string& prompt, const ChatSettings& settings) override {
    StreamTiming timing;
    TimingSink sink(timing);
    timing.start = std::chrono::steady_clock::now();
    OPENPCC_ASSIGN_OR_RETURN(client::VerificationReport report, client_->Chat(ChatBody(prompt, settings), sink));
    (void)report;
    timing.end = std::chrono::steady_clock::now();
    return timing;
  }

 private:
  std::shared_ptr<client::Client> client_;
};

// The sealed request straight to one node: what the gateway forwards, without OHTTP or a token.
class NodeBackend final : public Backend {
 public:
  NodeBackend(std::vector<client::NodeCandidate> candidates, std::string url, std::unique_ptr<net::BlockingClient> http)
      : candidates_(std::move(candidates)), url_(std::move(url)), http_(std::move(http)) {}
  Result<StreamTiming> StreamChat(const std::string& prompt, const ChatSettings& settings) override {
    StreamTiming timing;
    TimingSink sink(timing);
    timing.start = std::chrono::steady_clock::now();
    client::EngineRequest request;
    request.body = ChatBody(prompt, settings);
    OPENPCC_ASSIGN_OR_RETURN(client::SealedCall call,
                             client::SealedCall::Create(candidates_, request, SystemClock::Instance().NowSeconds()));
    OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<client::SealedResponseSink> sealed, call.OpenResponse(sink));
    client::InnerResponseHead head;
    head.status = 200;
    head.headers = {{"content-type", std::string(wire::kSealedResponseMediaType)}};
    OPENPCC_RETURN_IF_ERROR(sealed->OnHead(head));
    auto outer = http_->FetchStreaming(
        net::ClientRequest("POST", url_ + "/v1/infer", {{"Content-Type", std::string(wire::kSealedRequestMediaType)}}),
        AsChars(call.sealed_request()), [&](std::string_view piece) { return sealed->OnContent(AsBytes(piece)); });
    if (!outer.ok()) return outer.error();
    if (outer->status != 200) return Error(ErrorCode::kFailedPrecondition, "node answered HTTP " + std::to_string(outer->status));
    OPENPCC_RETURN_IF_ERROR(sealed->Finish());
    timing.end = std::chrono::steady_clock::now();
    return timing;
  }

 private:
  std::vector<client::NodeCandidate> candidates_;
  std::string url_;
  std::unique_ptr<net::BlockingClient> http_;
};

// Opaque bytes of the sizes the OpenPCC path carries, for a plain reverse-proxy chain.
class RawBackend final : public Backend {
 public:
  RawBackend(std::string url, std::string body, size_t response_bytes, std::unique_ptr<net::BlockingClient> http)
      : url_(std::move(url)), body_(std::move(body)), response_bytes_(response_bytes), http_(std::move(http)) {}
  Result<StreamTiming> StreamChat(const std::string&, const ChatSettings&) override {
    StreamTiming timing;
    size_t received = 0;
    timing.start = std::chrono::steady_clock::now();
    auto head = http_->FetchStreaming(
        net::ClientRequest("POST", url_, {{"Content-Type", "message/ohttp-chunked-req"}, {"Incremental", "?1"}}), body_,
        [&](std::string_view piece) {
          received += piece.size();
          timing.token_times.push_back(std::chrono::steady_clock::now());
          return OkStatus();
        });
    if (!head.ok()) return head.error();
    if (head->status != 200) return Error(ErrorCode::kFailedPrecondition, "answered HTTP " + std::to_string(head->status));
    if (response_bytes_ > 0 && received != response_bytes_) {
      return Error(ErrorCode::kIncomplete, "received " + std::to_string(received) + " bytes, expected " +
                                               std::to_string(response_bytes_));
    }
    timing.end = std::chrono::steady_clock::now();
    return timing;
  }

 private:
  std::string url_;
  std::string body_;
  size_t response_bytes_;
  std::unique_ptr<net::BlockingClient> http_;
};

const std::vector<std::string> kPrompts = {"Say something.", "Tell me a story about the sea.", "List three colours."};

boost::json::object Summarise(const LevelResult& level) {
  std::vector<double> total, first;
  for (const RequestSample& s : level.samples) {
    total.push_back(s.total_ms);
    first.push_back(s.ttft_ms);
  }
  boost::json::object out;
  out["concurrency"] = level.concurrency;
  out["requests"] = level.samples.size();
  out["failures"] = level.failures;
  if (!level.first_error.empty()) out["first_error"] = level.first_error;
  out["wall_seconds"] = level.wall_seconds;
  out["rps"] = level.wall_seconds > 0 ? static_cast<double>(level.samples.size()) / level.wall_seconds : 0.0;
  out["p50_ms"] = Percentile(total, 50);
  out["p99_ms"] = Percentile(total, 99);
  out["first_content_p50_ms"] = Percentile(first, 50);
  return out;
}

// A fresh client per level: its own state directory, so its wallet starts empty and its first
// refill (a full batch) covers the level; the directory is verified before the clock starts.
Result<std::shared_ptr<client::Client>> MakeClient(const Flags& flags, int level, size_t tokens_needed) {
  OPENPCC_ASSIGN_OR_RETURN(client::ClientConfig config, client::ClientConfig::Load(flags.client_config));
  if (flags.via == "gateway") {
    config.relay_url = flags.url + "/gateway";
    config.keys_url = flags.url + "/ohttp-keys";
  } else if (flags.via == "relay" && !flags.url.empty()) {
    config.relay_url = flags.url + "/";
    config.keys_url.clear();
  }
  config.state_dir = fs::path(flags.state_dir) / (flags.via + "-" + std::to_string(level));
  config.wallet = config.state_dir / "wallet";
  config.token_batch_size = 1024;
  config.empty_refill_delay = std::chrono::seconds(1);
  std::error_code ec;
  fs::remove_all(config.state_dir, ec);
  fs::create_directories(config.state_dir, ec);
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<client::Client> made, client::Client::Create(config, SystemClock::Instance()));
  std::shared_ptr<client::Client> c = std::move(made);
  OPENPCC_ASSIGN_OR_RETURN(client::TrustedDirectory trusted, c->Bootstrap(flags.settings.model));
  (void)trusted;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (flags.via != "node" && c->tokens() < tokens_needed) {
    Result<size_t> added = c->TickWallet();
    if (!added.ok()) return added.error();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(ErrorCode::kFailedPrecondition, "the wallet holds " + std::to_string(c->tokens()) + " tokens, " +
                                                       std::to_string(tokens_needed) + " needed");
    }
    if (c->tokens() < tokens_needed) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return c;
}

// The candidates a sealed request to the node at `url` is addressed to: K of the directory's
// nodes including that node (found by asking each in turn).
Result<std::vector<client::NodeCandidate>> CandidatesFor(const Flags& flags, client::Client& c) {
  OPENPCC_ASSIGN_OR_RETURN(client::TrustedDirectory trusted, c.Bootstrap(flags.settings.model));
  const std::vector<client::NodeCandidate> nodes = trusted.Candidates();
  const size_t k = std::min<size_t>(static_cast<size_t>(trusted.directory.k), nodes.size());
  for (size_t target = 0; target < nodes.size(); ++target) {
    std::vector<client::NodeCandidate> candidates = {nodes[target]};
    for (size_t i = 0; i < nodes.size() && candidates.size() < k; ++i) {
      if (i != target) candidates.push_back(nodes[i]);
    }
    OPENPCC_ASSIGN_OR_RETURN(auto http, net::BlockingClient::Create({}));
    NodeBackend probe({nodes[target]}, flags.url, std::move(http));
    if (probe.StreamChat("probe", flags.settings).ok()) return candidates;
  }
  return Error(ErrorCode::kUnknownKey, "no node of the directory answers at " + flags.url);
}

int RunOpenpcc(const Flags& flags) {
  if (flags.client_config.empty() || flags.state_dir.empty() || (flags.via != "relay" && flags.url.empty()) ||
      (flags.via != "relay" && flags.via != "gateway" && flags.via != "node")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  boost::json::array levels;
  int failures = 0;
  for (int c : flags.levels) {
    const int per_worker = std::max(1, flags.requests / c);
    auto made = MakeClient(flags, c, static_cast<size_t>(c * per_worker + flags.warmup));
    if (!made.ok()) {
      std::fprintf(stderr, "%s, c=%d: %s\n", flags.via.c_str(), c, made.error().message().c_str());
      return 1;
    }
    std::shared_ptr<client::Client> shared = *made;
    BackendFactory factory;
    if (flags.via == "node") {
      auto candidates = CandidatesFor(flags, *shared);
      if (!candidates.ok()) {
        std::fprintf(stderr, "node: %s\n", candidates.error().message().c_str());
        return 1;
      }
      factory = [&flags, list = *candidates]() -> Result<std::unique_ptr<Backend>> {
        OPENPCC_ASSIGN_OR_RETURN(auto http, net::BlockingClient::Create({}));
        return std::unique_ptr<Backend>(std::make_unique<NodeBackend>(list, flags.url, std::move(http)));
      };
    } else {
      factory = [shared]() -> Result<std::unique_ptr<Backend>> {
        return std::unique_ptr<Backend>(std::make_unique<ClientBackend>(shared));
      };
    }
    const LevelResult warm = RunLevel(factory, 1, flags.warmup, kPrompts, flags.settings);
    if (warm.failures > 0) {
      std::fprintf(stderr, "%s warm-up failed: %s\n", flags.via.c_str(), warm.first_error.c_str());
      return 1;
    }
    const LevelResult level = RunLevel(factory, c, per_worker, kPrompts, flags.settings);
    failures += level.failures;
    if (level.failures > 0) {
      std::fprintf(stderr, "%s c=%d: %d failures, first: %s\n", flags.via.c_str(), c, level.failures,
                   level.first_error.c_str());
    }
    levels.push_back(Summarise(level));
  }
  boost::json::object report{{"mode", "openpcc"}, {"via", flags.via}, {"max_tokens", flags.settings.max_tokens},
                             {"levels", std::move(levels)}};
  std::printf("%s\n", boost::json::serialize(report).c_str());
  return failures > 0 ? 1 : 0;
}

int RunRaw(const Flags& flags) {
  if (flags.url.empty() || flags.request_bytes == 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string body(flags.request_bytes, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131 + 7) & 0xff);
  const BackendFactory factory = [&]() -> Result<std::unique_ptr<Backend>> {
    OPENPCC_ASSIGN_OR_RETURN(auto http, net::BlockingClient::Create({}));
    return std::unique_ptr<Backend>(std::make_unique<RawBackend>(flags.url, body, flags.response_bytes, std::move(http)));
  };
  const LevelResult warm = RunLevel(factory, 1, flags.warmup, kPrompts, flags.settings);
  if (warm.failures > 0) {
    std::fprintf(stderr, "raw warm-up failed: %s\n", warm.first_error.c_str());
    return 1;
  }
  boost::json::array levels;
  int failures = 0;
  for (int c : flags.levels) {
    const LevelResult level = RunLevel(factory, c, std::max(1, flags.requests / c), kPrompts, flags.settings);
    failures += level.failures;
    if (level.failures > 0) std::fprintf(stderr, "raw c=%d: %d failures, first: %s\n", c, level.failures, level.first_error.c_str());
    levels.push_back(Summarise(level));
  }
  boost::json::object report{{"mode", "raw"}, {"url", flags.url}, {"levels", std::move(levels)}};
  std::printf("%s\n", boost::json::serialize(report).c_str());
  return failures > 0 ? 1 : 0;
}

int RunOrigin(const Flags& flags) {
  if (flags.ready_file.empty() || flags.response_bytes == 0 || flags.chunks == 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the server's threads exist

  // The response in `chunks` pieces of (nearly) equal size.
  auto pieces = std::make_shared<std::vector<std::string>>();
  std::string payload(flags.response_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 61 + 3) & 0xff);
  const size_t chunks = std::min(flags.chunks, flags.response_bytes);
  for (size_t i = 0, at = 0; i < chunks; ++i) {
    const size_t size = flags.response_bytes / chunks + (i < flags.response_bytes % chunks ? 1 : 0);
    pieces->push_back(payload.substr(at, size));
    at += size;
  }
  net::Router router;
  router.HandlePrefix("POST", "/", [pieces](net::Request& req, net::Response& res) -> net::Awaitable<void> {
    std::vector<uint8_t> buffer(16 * 1024);
    while (true) {
      const std::span<uint8_t> out(buffer);
      Result<size_t> n = co_await req.ReadSome(out);
      if (!n.ok()) co_return;
      if (*n == 0) break;
    }
    Status started = co_await res.StartStream(200, "message/ohttp-chunked-res");
    if (!started.ok()) co_return;
    for (const std::string& piece : *pieces) {
      const std::string_view view(piece);
      Status written = co_await res.Write(view);
      if (!written.ok()) co_return;
    }
    Status finished = co_await res.Finish();
    (void)finished;
  });
  net::ServerOptions options;
  const size_t colon = flags.listen.rfind(':');
  options.address = flags.listen.substr(0, colon);
  options.port = static_cast<uint16_t>(std::atoi(flags.listen.substr(colon + 1).c_str()));
  auto server = net::Server::Start(options, std::move(router));
  if (!server.ok()) {
    std::fprintf(stderr, "origin: %s\n", server.error().message().c_str());
    return 1;
  }
  std::ofstream(flags.ready_file + ".tmp") << options.address << ":" << (*server)->port() << "\n";
  fs::rename(flags.ready_file + ".tmp", flags.ready_file);
  int signal = 0;
  sigwait(&stop, &signal);
  (*server)->Shutdown(std::chrono::seconds(1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (flags.mode == "openpcc") return RunOpenpcc(flags);
  if (flags.mode == "raw") return RunRaw(flags);
  if (flags.mode == "origin") return RunOrigin(flags);
  std::fputs(kUsage, stderr);
  return 2;
}
