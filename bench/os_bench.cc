// os_bench — what the operating system charges for the two things every hop of the confidential
// path does per streamed token: a system call, and waking a thread blocked in another (a context
// switch each way). On bare metal a null system call costs tens of nanoseconds; in a paravirtualized
// guest it can cost microseconds, and docs/benchmarks.md attributes the per-token cost of the
// hops to these figures. Run: build/release/bench/os_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <thread>

#include <benchmark/benchmark.h>

namespace {

void BM_NullSystemCall(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
}
BENCHMARK(BM_NullSystemCall);

// One iteration: wake a thread blocked on an eventfd and block until it wakes us back — two
// wake-ups, four system calls.
void BM_ThreadWakeRoundTrip(benchmark::State& state) {
  const int ping = eventfd(0, EFD_CLOEXEC);
  const int pong = eventfd(0, EFD_CLOEXEC);
  std::thread peer([&] {
    uint64_t v = 0;
    while (read(ping, &v, sizeof v) == sizeof v && v != UINT64_MAX - 1) {
      v = 1;
      if (write(pong, &v, sizeof v) != sizeof v) break;
    }
  });
  uint64_t v = 1;
  for (auto _ : state) {
    v = 1;
    if (write(ping, &v, sizeof v) != sizeof v || read(pong, &v, sizeof v) != sizeof v) {
      state.SkipWithError("eventfd");
      break;
    }
  }
  v = UINT64_MAX - 1;
  (void)!write(ping, &v, sizeof v);
  peer.join();
  close(ping);
  close(pong);
}
BENCHMARK(BM_ThreadWakeRoundTrip)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
