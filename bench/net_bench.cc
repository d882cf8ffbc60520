// Costs of the net/ layer on loopback: the latency of one small request/response on a pooled
// connection (blocking client → server → client), and the latency of one streamed chunk from a
// producer thread (an "engine") through a ChunkChannel, the handler, the socket and the client.
// Both report the median as a counter (median_us), beside Google Benchmark's mean.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "openpcc/net/chunk_channel.h"
#include "openpcc/net/client.h"
#include "openpcc/net/server.h"

namespace {

using namespace openpcc;
using namespace openpcc::net;
using Clock = std::chrono::steady_clock;

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "bench setup failed: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

double MedianMicros(std::vector<double>& samples) {
  if (samples.empty()) return 0;
  std::nth_element(samples.begin(), samples.begin() + static_cast<long>(samples.size() / 2),
                   samples.end());
  return samples[samples.size() / 2];
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Server> StartBenchServer() {
  Router router;
  router.Handle("GET", "/ping", [](Request&, Response& res) -> Awaitable<void> {
    co_await res.Send(200, "pong", "text/plain");
  });
  // Streams 200 chunks, each stamped by the producer thread when it made it.
  router.Handle("GET", "/tokens", [](Request& req, Response& res) -> Awaitable<void> {
    auto channel = ChunkChannel::Create(16);
    channel->CancelOn(req.cancel_token());
    std::thread producer([channel] {
      for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (!channel->Push(std::to_string(NowNanos()) + "\n", std::chrono::seconds(5)).ok()) break;
      }
      channel->Close();
    });
    co_await res.StartStream(200, "text/plain");
    while (true) {
      auto next = co_await channel->Next();
      if (!next.ok() || !*next) break;
      if (!(co_await res.Write(**next)).ok()) break;
    }
    co_await res.Finish();
    producer.join();
  });
  ServerOptions options;
  options.threads = 2;
  return Must(Server::Start(options, std::move(router)));
}

void BM_LoopbackRequestLatency(benchmark::State& state) {
  auto server = StartBenchServer();
  auto client = Must(BlockingClient::Create({}));
  ClientRequest request{"GET", "http://127.0.0.1:" + std::to_string(server->port()) + "/ping", {}};
  std::vector<double> samples;
  for (auto _ : state) {
    auto start = Clock::now();
    auto r = client->Fetch(request, "", 1024);
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (!r.ok() || r->status != 200) state.SkipWithError("request failed");
  }
  state.counters["median_us"] = MedianMicros(samples);
  state.counters["connections"] = static_cast<double>(client->client().connections_opened());
}
BENCHMARK(BM_LoopbackRequestLatency)->UseRealTime()->MinTime(2.0);

void BM_StreamedChunkLatency(benchmark::State& state) {
  auto server = StartBenchServer();
  auto client = Must(BlockingClient::Create({}));
  ClientRequest request{"GET", "http://127.0.0.1:" + std::to_string(server->port()) + "/tokens", {}};
  std::vector<double> samples;
  for (auto _ : state) {
    std::string pending;
    auto head = client->FetchStreaming(request, "", [&](std::string_view chunk) {
      int64_t now = NowNanos();
      pending.append(chunk);
      size_t line_end;
      while ((line_end = pending.find('\n')) != std::string::npos) {
        int64_t stamped = std::stoll(pending.substr(0, line_end));
        samples.push_back(static_cast<double>(now - stamped) / 1000.0);
        pending.erase(0, line_end + 1);
      }
      return OkStatus();
    });
    if (!head.ok()) state.SkipWithError("stream failed");
  }
  state.counters["median_us"] = MedianMicros(samples);
  state.counters["chunks"] = static_cast<double>(samples.size());
}
BENCHMARK(BM_StreamedChunkLatency)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
