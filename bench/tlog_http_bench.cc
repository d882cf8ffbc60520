// `openpcc tlog` appends through HTTP: concurrent clients each POST /add one entry per request; the
// service batches what arrives together into one durable Append. Run:
//   build/release/bench/tlog_http_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "openpcc/net/server.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/services/tlog/tlog_service.h"
#include "openpcc/tlog/release.h"

namespace openpcc::services {
namespace {

crypto::Ed25519PrivateKey Key(uint8_t fill) { return crypto::Ed25519PrivateKey::FromSeed(Bytes(32, fill)).value(); }

Bytes Entry(uint64_t n, const crypto::Ed25519PrivateKey& key) {
  tlog::ReleaseManifest m;
  m.version = "bench-" + std::to_string(n);
  m.source_revision = "bench";
  m.build_recipe_sha256 = Bytes(32, 1);
  m.node_binary_sha256 = Bytes(32, 2);
  m.sim.emplace();
  m.sim->measurements.push_back(Bytes(48, 3));
  return tlog::SignEntry(tlog::EntryKind::kReleaseManifest, tlog::ReleaseManifestToJson(m).value(), key).value();
}

void BM_HttpAppend(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() / ("openpcc-tlog-http-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto release = Key(7);
  TlogServiceOptions options;
  options.dir = dir;
  options.origin = "bench/log";
  options.keyring.AddReleaseKey(release.public_key());
  auto service = TlogService::Open(std::move(options), tlog::NoteSigner::Create("bench/log", Key(9)).value()).value();
  net::ServerOptions server_options;
  server_options.threads = 2;
  auto server = net::Server::Start(server_options, service->Routes()).value();
  service->Start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port());
  constexpr int kPerClient = 16;
  std::vector<std::vector<Bytes>> entries(static_cast<size_t>(clients));
  uint64_t n = 0;
  std::vector<std::unique_ptr<LogClient>> http;
  for (int c = 0; c < clients; ++c) http.push_back(LogClient::Create(url).value());
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& list : entries) {
      list.clear();
      for (int i = 0; i < kPerClient; ++i) list.push_back(Entry(n++, release));
    }
    state.ResumeTiming();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (const Bytes& e : entries[static_cast<size_t>(c)]) {
          if (!http[static_cast<size_t>(c)]->Add(std::vector<Bytes>{e}).ok()) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failures > 0) state.SkipWithError("an append failed");
  }
  state.SetItemsProcessed(state.iterations() * clients * kPerClient);
  server->Shutdown(std::chrono::milliseconds(0));
  service->Stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HttpAppend)->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace openpcc::services

BENCHMARK_MAIN();
