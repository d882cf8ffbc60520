// Warm SEV-SNP verification time (issue 4 target: < 2 ms on this machine). "Warm" means the pinned
// ARKs are already parsed (they are parsed once per process); every other step runs per iteration.
//   SnpVerifyEvidence  bytes in: parse the report and the PEM/DER certificates, chain VCEK → ASK →
//                      ARK-Milan (two RSA-4096 PSS verifications), VCEK extensions, the report's
//                      ECDSA P-384 signature, policy — what `openpcc evidence verify` does.
//   SnpVerifyReport    the same from an already parsed report and certificates.
//   SnpParseReport     the report parser alone.
// Run: build/release/bench/snp_bench --benchmark_repetitions=9 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "openpcc/attest/snp/verify.h"

namespace {

using namespace openpcc;
using namespace openpcc::attest::snp;

Bytes ReadVector(const char* relative) {
  std::ifstream in(std::string(OPENPCC_VECTORS_DIR) + "/" + relative, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "snp_bench: cannot read vector %s\n", relative);
    std::abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ToBytes(ss.str());
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "snp_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

struct Evidence {
  Bytes report = ReadVector("go-sev-guest/attestation.bin");
  Bytes vcek = ReadVector("go-sev-guest/vcek.testcer");
  Bytes chain = ReadVector("go-sev-guest/milan.testcer");
  std::chrono::sys_seconds at = Must(crypto::ParseUtcTime("2025-07-01T00:00:00Z"));
  SnpPolicy policy = [] {
    SnpPolicy p;
    p.allow_debug = true;  // this vector's guest has POLICY.DEBUG set
    return p;
  }();
};

void SnpVerifyEvidence(benchmark::State& state) {
  Evidence e;
  (void)PinnedAmdRoots();
  for (auto _ : state) {
    auto claims = VerifySnpEvidence(e.report, e.vcek, e.chain, std::nullopt, e.policy, e.at);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(SnpVerifyEvidence)->Unit(benchmark::kMicrosecond);

void SnpVerifyReport(benchmark::State& state) {
  Evidence e;
  SnpReport report = Must(ParseSnpReport(e.report));
  crypto::Certificate vcek = Must(crypto::Certificate::ParseOne(e.vcek));
  std::vector<crypto::Certificate> chain = Must(crypto::Certificate::ParseAll(e.chain));
  SnpVerifyOptions options;
  options.at = e.at;
  options.policy = e.policy;
  for (auto _ : state) {
    auto claims = VerifySnpReport(report, vcek, chain, options);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(SnpVerifyReport)->Unit(benchmark::kMicrosecond);

void SnpParseReport(benchmark::State& state) {
  Evidence e;
  for (auto _ : state) benchmark::DoNotOptimize(ParseSnpReport(e.report));
}
BENCHMARK(SnpParseReport)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
