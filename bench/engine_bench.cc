// Throughput of the llama engine on generated models (engine/tiny_model.h): output tokens per
// second at 1 and 4 concurrent requests, for the tiny test model and the ~100M-parameter
// benchmark shape (8 layers, width 512). Each iteration submits the requests together (greedy,
// 64 output tokens each, distinct short chat prompts) and drains them; time to first token is
// taken when the engine signals the first piece of each stream.
//
// Run: build/release/bench/engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
// (medians are the figures to quote). OPENPCC_BENCH_THREADS sets llama.cpp's CPU threads (default 1:
// ggml's workers spin-wait, so extra threads on a shared, loaded machine make it slower, not faster);
// the models are written to a temporary directory once per run.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/engine/llama_engine.h"
#include "openpcc/engine/tiny_model.h"

namespace {

using namespace openpcc;
using namespace openpcc::engine;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kOutputTokens = 64;

fs::path BenchDir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("openpcc-engine-bench-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::map<bool, std::unique_ptr<LlamaEngine>> g_engines;

LlamaEngine& EngineFor(bool big) {
  auto& slot = g_engines[big];
  if (slot) return *slot;
  TinyModelOptions m;
  if (big) {
    m.layers = kBenchLayers;
    m.width = kBenchWidth;
  }
  const fs::path path = BenchDir() / (big ? "bench-100m.gguf" : "tiny.gguf");
  if (Status s = MakeTinyModel(m, path); !s.ok()) {
    std::fprintf(stderr, "make-tiny failed: %s\n", s.error().ToString().c_str());
    std::abort();
  }
  const auto shape = TinyModelShapeFor(m);
  std::fprintf(stderr, "model %s: %u layers, width %u, %llu parameters\n", path.filename().c_str(),
               shape->layers, shape->width, static_cast<unsigned long long>(shape->parameters));
  LlamaEngineOptions o;
  o.model_path = path;
  o.slots = 4;
  o.stream_capacity = 4 * kOutputTokens;  // never pause: measure the engine, not the consumer
  const char* threads = std::getenv("OPENPCC_BENCH_THREADS");
  o.threads = threads != nullptr ? std::atoi(threads) : 1;
  auto engine = LlamaEngine::Create(o);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine failed: %s\n", engine.error().ToString().c_str());
    std::abort();
  }
  slot = std::move(engine).value();
  return *slot;
}

void BM_LlamaGenerate(benchmark::State& state) {
  const bool big = state.range(0) != 0;
  const auto concurrency = static_cast<size_t>(state.range(1));
  LlamaEngine& engine = EngineFor(big);
  uint64_t tokens = 0;
  double ttft_sum_ms = 0;
  uint64_t requests = 0;
  for (auto _ : state) {
    std::vector<Stream> streams;
    std::vector<std::shared_ptr<std::atomic<int64_t>>> first(concurrency);
    const auto start = Clock::now();
    for (size_t i = 0; i < concurrency; ++i) {
      GenerationRequest r;
      r.messages.push_back({"user", crypto::SecretString(("Benchmark request " + std::to_string(i) +
                                                          ": write something long.").c_str())});
      r.max_tokens = kOutputTokens;
      r.sampling.temperature = 0.0f;
      auto s = engine.Submit(std::move(r));
      if (!s.ok()) {
        state.SkipWithError(s.error().ToString().c_str());
        return;
      }
      first[i] = std::make_shared<std::atomic<int64_t>>(-1);
      s->SetWake([f = first[i], start] {
        int64_t unset = -1;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
        f->compare_exchange_strong(unset, ns);
      });
      streams.push_back(std::move(s).value());
    }
    for (auto& s : streams) {
      for (;;) {
        auto event = s.Next();
        if (!event.finish) continue;
        if (event.finish->reason != FinishReason::kLength) {
          state.SkipWithError("a request ended before max_tokens");
          return;
        }
        tokens += event.finish->usage.completion_tokens;
        break;
      }
    }
    for (const auto& f : first) ttft_sum_ms += static_cast<double>(f->load()) / 1e6;
    requests += concurrency;
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["ttft_ms"] = requests ? ttft_sum_ms / static_cast<double>(requests) : 0;
}
BENCHMARK(BM_LlamaGenerate)
    ->ArgsProduct({{0, 1}, {1, 4}})
    ->ArgNames({"100m", "concurrency"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_engines.clear();
  std::error_code ec;
  fs::remove_all(BenchDir(), ec);
  return 0;
}
