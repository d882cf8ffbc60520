// Transparency log benchmarks: durable appends (per batch size), and proof generation and
// verification on a log of 10^6 entries (generation reads tiles from disk through the store).
// Run: build/release/bench/tlog_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "openpcc/tlog/log_store.h"

namespace openpcc::tlog {
namespace {

namespace fs = std::filesystem;

NoteSigner Signer() {
  return std::move(NoteSigner::Create("bench.openpcc/log", std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 7))).value()))
      .value();
}

fs::path BenchDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("openpcc-tlog-bench-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

std::unique_ptr<LogStore> Open(const fs::path& dir) {
  LogStoreOptions o;
  o.dir = dir;
  o.origin = "bench.openpcc/log";
  o.max_batch = 1 << 16;
  return std::move(LogStore::Open(o, Signer())).value();
}

Bytes Entry(uint64_t i) {
  Bytes e(200, 0x5a);  // about the size of a small signed entry
  for (int k = 0; k < 8; ++k) e[static_cast<size_t>(k)] = static_cast<uint8_t>(i >> (8 * k));
  return e;
}

void BM_AppendDurable(benchmark::State& state) {
  const auto batch_size = static_cast<size_t>(state.range(0));
  const fs::path dir = BenchDir("append-" + std::to_string(batch_size));
  auto store = Open(dir);
  uint64_t next = 0;
  for (auto _ : state) {
    std::vector<Bytes> batch;
    for (size_t i = 0; i < batch_size; ++i) batch.push_back(Entry(next++));
    if (!store->Append(batch).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_AppendDurable)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

constexpr uint64_t kBigLog = 1000000;

struct BigLog {
  fs::path dir = BenchDir("million");
  std::unique_ptr<LogStore> store;
  Checkpoint checkpoint;
  BigLog() {
    store = Open(dir);
    for (uint64_t i = 0; i < kBigLog;) {
      std::vector<Bytes> batch;
      for (size_t k = 0; k < 50000 && i < kBigLog; ++k) batch.push_back(Entry(i++));
      if (!store->Append(batch).ok()) std::abort();
    }
    checkpoint = store->checkpoint();
  }
  ~BigLog() {
    store.reset();
    fs::remove_all(dir);
  }
};

BigLog& Big() {
  static BigLog log;
  return log;
}

void BM_InclusionProofGenerate(benchmark::State& state) {
  auto& log = Big();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto proof = log.store->InclusionProof(rng() % kBigLog, kBigLog);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_InclusionProofGenerate)->Unit(benchmark::kMicrosecond);

void BM_InclusionProofVerify(benchmark::State& state) {
  auto& log = Big();
  const uint64_t index = 123457;
  const auto proof = *log.store->InclusionProof(index, kBigLog);
  const Hash leaf = LeafHash(Entry(index));
  for (auto _ : state) {
    auto status = VerifyInclusion(index, kBigLog, View(leaf), proof, View(log.checkpoint.root));
    if (!status.ok()) state.SkipWithError("does not verify");
  }
}
BENCHMARK(BM_InclusionProofVerify)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProofGenerate(benchmark::State& state) {
  auto& log = Big();
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto proof = log.store->ConsistencyProof(1 + rng() % (kBigLog - 1), kBigLog);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_ConsistencyProofGenerate)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProofVerify(benchmark::State& state) {
  auto& log = Big();
  const uint64_t old_size = 654321;
  const auto proof = *log.store->ConsistencyProof(old_size, kBigLog);
  LogStore& store = *log.store;
  // The old root, from the store's tiles.
  class Source : public TileSource {
   public:
    explicit Source(LogStore& s) : s_(s) {}
    Result<Bytes> ReadTile(const TileCoord& t) override { return s_.ReadPath(TilePath(t)); }
    LogStore& s_;
  } source(store);
  TileHashReader reader(old_size, source);
  const Hash old_root = *TreeRoot(old_size, reader);
  for (auto _ : state) {
    auto status = VerifyConsistency(old_size, kBigLog, proof, View(old_root), View(log.checkpoint.root));
    if (!status.ok()) state.SkipWithError("does not verify");
  }
}
BENCHMARK(BM_ConsistencyProofVerify)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace openpcc::tlog

BENCHMARK_MAIN();
