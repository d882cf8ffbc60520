// The node's own cost: time to first token (TTFT) and time per output token (TPOT) for the llama
// engine called directly (in a child process of its own), and through `openpcc node` (sealed,
// streamed, over loopback HTTP), at concurrency 1 and 4. Rounds interleave the two (alternating
// which goes first) so the drift of a shared machine spreads over both, and the node is frozen
// (SIGSTOP) while the direct engine runs; each figure is the median over rounds of the per-round
// median. TPOT runs from the first token to the end of the stream.
//
//   build/release/bench/node_bench MODEL.gguf [RUNS=5] [TOKENS=64] [THREADS=1]
//
// MODEL.gguf: `openpcc model make-tiny --bench bench.gguf` (the ~100M-parameter shape).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "openpcc/engine/llama_engine.h"
#include "openpcc/util/base64.h"
#include "openpcc/util/subprocess.h"
#include "support/sealed_client.h"

namespace {

using namespace openpcc;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

// TPOT is measured to the end of the stream (the finish event, or the authenticated final chunk),
// so tokens that arrive bunched with the end are counted the same way in both modes.
struct Sample {
  double ttft_ms = 0;
  double tpot_ms = 0;
  double total_ms = 0;
};

constexpr const char* kPrompt = "Write a short story about a lighthouse keeper and the sea.";

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Sample Direct(engine::Engine& e, int tokens) {
  engine::GenerationRequest r;
  r.messages.push_back({"user", crypto::SecretString(kPrompt)});
  r.sampling.temperature = 0;
  r.max_tokens = static_cast<uint32_t>(tokens);
  const auto t0 = Clock::now();
  auto stream = e.Submit(std::move(r));
  if (!stream.ok()) return {};
  Clock::time_point first{}, last{};
  uint32_t n = 0;
  while (true) {
    engine::StreamEvent ev = stream->Next();
    if (!ev.text.empty()) {
      last = Clock::now();
      if (first == Clock::time_point{}) first = last;
    }
    if (ev.finish) {
      n = ev.finish->usage.completion_tokens;
      last = Clock::now();
      break;
    }
  }
  return {Ms(first - t0).count(), n > 1 ? Ms(last - first).count() / (n - 1) : 0, Ms(last - t0).count()};
}

Sample ThroughNode(net::BlockingClient& client, const std::string& url, const wire::KeyConfig& config,
                   int tokens) {
  const std::string body = std::string("{\"model\":\"bench\",\"stream\":true,\"temperature\":0,") +
                           "\"stream_options\":{\"include_usage\":true},\"max_tokens\":" +
                           std::to_string(tokens) + ",\"messages\":[{\"role\":\"user\",\"content\":\"" +
                           kPrompt + "\"}]}";
  const auto t0 = Clock::now();
  auto sealed = testing::Seal({testing::CandidateFor(config)}, {.body = body, .date = ""});
  if (!sealed.ok()) return {};
  testing::SealedReply reply = testing::Send(client, url + "/v1/infer", std::move(sealed).value());
  if (!reply.opened || reply.piece_times.size() < 3) {
    std::fprintf(stderr, "node request failed: %s %s\n", reply.error.c_str(), reply.outer_body.c_str());
    return {};
  }
  // Pieces: [0] head + role chunk, [1..n-2] tokens, [n-1] the final chunk.
  const size_t pos = reply.inner_content.rfind("\"completion_tokens\":");
  const uint32_t n = pos == std::string::npos ? 0 : std::stoul(reply.inner_content.substr(pos + 20));
  const auto first = reply.piece_times[1];
  const auto last = reply.piece_times.back();
  return {Ms(first - t0).count(), n > 1 ? Ms(last - first).count() / (n - 1) : 0, Ms(last - t0).count()};
}

template <typename F>
std::vector<Sample> Concurrently(int c, F f) {
  std::vector<Sample> out(static_cast<size_t>(c));
  std::vector<std::thread> threads;
  for (int i = 0; i < c; ++i) threads.emplace_back([&, i] { out[static_cast<size_t>(i)] = f(i); });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

// The direct engine runs in a process of its own, as the node's does: measured in the benchmark
// process itself it was consistently slower than through the node (a whole request took 35%
// longer), which says more about sharing a process than about the node.
//   node_bench --direct-child MODEL THREADS CONCURRENCY TOKENS  → one line per request on stdout
int DirectChild(char** argv) {
  engine::LlamaEngineOptions options;
  options.model_path = argv[2];
  options.model_name = "bench";
  options.slots = 4;
  options.context_per_request = 1024;
  options.threads = std::atoi(argv[3]);
  auto direct = engine::LlamaEngine::Create(options);
  if (!direct.ok()) {
    std::fprintf(stderr, "%s\n", direct.error().message().c_str());
    return 1;
  }
  const int c = std::atoi(argv[4]), tokens = std::atoi(argv[5]);
  Direct(**direct, 8);  // warm: the first call pages the weights in
  for (const Sample& s : Concurrently(c, [&](int) { return Direct(**direct, tokens); })) {
    std::printf("%.6f %.6f %.6f\n", s.ttft_ms, s.tpot_ms, s.total_ms);
  }
  return 0;
}

std::vector<Sample> DirectInChild(const std::string& model, int threads, int c, int tokens) {
  const std::string command = std::string(OPENPCC_NODE_BENCH) + " --direct-child '" + model + "' " +
                              std::to_string(threads) + " " + std::to_string(c) + " " + std::to_string(tokens);
  std::vector<Sample> out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  Sample s;
  while (std::fscanf(pipe, "%lf %lf %lf", &s.ttft_ms, &s.tpot_ms, &s.total_ms) == 3) out.push_back(s);
  if (pclose(pipe) != 0) std::fprintf(stderr, "direct child failed\n");
  return out;
}

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--direct-child") return DirectChild(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: node_bench MODEL.gguf [RUNS=5] [TOKENS=64] [THREADS=1]\n");
    return 2;
  }
  const std::string model = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const int tokens = argc > 3 ? std::atoi(argv[3]) : 64;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 1;

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("node-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  // The node needs an evidence platform: a simulated TEE under a throwaway sim root.
  SubprocessOptions root_options;
  root_options.argv = {OPENPCC_BINARY, "node", "sim-root", "init", (dir / "sim-root").string()};
  root_options.log_path = (dir / "sim-root.log").string();
  auto root = Subprocess::Start(root_options);
  if (!root.ok() || root->Wait() != 0) {
    std::fprintf(stderr, "openpcc node sim-root init failed\n");
    return 1;
  }
  SubprocessOptions node_options;
  node_options.argv = {OPENPCC_BINARY, "node", "--engine", "llama", "--model", model, "--model-name", "bench",
                       "--slots", "4", "--context", "1024", "--engine-threads", std::to_string(threads),
                       "--listen", "127.0.0.1:0", "--ready-file", (dir / "ready").string(),
                       "--platform", "sim", "--sim-root-dir", (dir / "sim-root").string(),
                       "--log-level", "warning"};
  node_options.log_path = (dir / "node.log").string();
  auto node = Subprocess::Start(node_options);
  if (!node.ok()) return 1;
  auto ready = WaitForFile((dir / "ready").string(), std::chrono::seconds(120), &*node);
  if (!ready.ok()) {
    std::fprintf(stderr, "node did not start: %s\n", ready.error().message().c_str());
    return 1;
  }
  const std::string url = "http://" + *ready;
  std::vector<std::unique_ptr<net::BlockingClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::move(net::BlockingClient::Create({})).value());
  auto attested = clients[0]->Fetch(net::ClientRequest("POST", url + "/v1/attest"),
                                    "{\"nonce\":\"" + Base64UrlEncode(Bytes(32, 1)) + "\"}", 1 << 20);
  auto config = testing::KeyConfigFromBundleJson(attested.ok() ? attested->body : "");
  if (!config.ok()) {
    std::fprintf(stderr, "attest failed\n");
    return 1;
  }

  ThroughNode(*clients[0], url, *config, 8);  // warm (the child warms itself)

  struct Series {
    std::vector<double> ttft, tpot, total;
  };
  Series series[2][2];  // [direct, node][c=1, c=4]
  for (int r = 0; r < runs; ++r) {
    for (int k = 0; k < 2; ++k) {
      const int mode = (r + k) % 2;  // alternate which goes first
      for (int ci = 0; ci < 2; ++ci) {
        const int c = ci == 0 ? 1 : 4;
        // The node process is frozen while the direct engine runs, so the two never share the
        // cores (an idle process's threads can still poll); it resumes for its own turn.
        if (mode == 0) node->Signal(SIGSTOP);
        std::vector<Sample> samples = mode == 0
            ? DirectInChild(model, threads, c, tokens)
            : Concurrently(c, [&](int i) { return ThroughNode(*clients[static_cast<size_t>(i)], url, *config, tokens); });
        if (mode == 0) node->Signal(SIGCONT);
        std::vector<double> ttft, tpot, total;
        for (const Sample& s : samples) {
          ttft.push_back(s.ttft_ms);
          tpot.push_back(s.tpot_ms);
          total.push_back(s.total_ms);
        }
        series[mode][ci].ttft.push_back(Median(ttft));
        series[mode][ci].tpot.push_back(Median(tpot));
        series[mode][ci].total.push_back(Median(total));
      }
    }
    std::fprintf(stderr, "round %d/%d done\n", r + 1, runs);
  }
  std::printf("| concurrency | TTFT direct (ms) | TTFT node (ms) | added (ms) | TPOT direct (ms) | TPOT node (ms) | added | request direct (ms) | request node (ms) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int ci = 0; ci < 2; ++ci) {
    const double td = Median(series[0][ci].ttft), tn = Median(series[1][ci].ttft);
    const double pd = Median(series[0][ci].tpot), pn = Median(series[1][ci].tpot);
    std::printf("| %d | %.2f | %.2f | %+.2f | %.3f | %.3f | %+.2f%% | %.1f | %.1f |\n", ci == 0 ? 1 : 4, td, tn,
                tn - td, pd, pn, pd > 0 ? 100.0 * (pn - pd) / pd : 0.0, Median(series[0][ci].total),
                Median(series[1][ci].total));
  }
  node->Stop(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
  return 0;
}
