// TPM 2.0 quote verification (attest/tpm), on the GCE vTPM vector (RSA-2048 AK, RSASSA-SHA256,
// 24 PCRs): parse + signature + nonce + PCR digest, and the same with the AK certificate chain
// (two certificates to Google's root). Target: under 1 ms. Run:
//   build/release/bench/tpm_bench --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>

#include "openpcc/attest/tpm/verify.h"

namespace {

using namespace openpcc;
using namespace openpcc::attest::tpm;

Bytes Read(const std::string& relative) {
  std::ifstream in(std::string(OPENPCC_VECTORS_DIR) + "/" + relative, std::ios::binary);
  if (!in) std::abort();
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Fixture {
  Bytes attest, signature;
  PcrValues pcrs;
  AttestationKey ak;
  crypto::Certificate ak_cert;
  std::vector<crypto::Certificate> intermediates, roots;
};

const Fixture& Load() {
  static const Fixture fixture = [] {
    std::string base = "go-tpm-tools/extracted/gce-cos-85-nonce9009/";
    Bytes pcr_text = Read(base + "quote_sha256.pcrs.txt");
    return Fixture{Read(base + "quote_sha256.tpms_attest.bin"),
                   Read(base + "quote_sha256.tpmt_signature.bin"),
                   ParsePcrValues(AsChars(pcr_text)).value(),
                   AttestationKey::Parse(Read(base + "ak_pub.tpmt_public.bin")).value(),
                   crypto::Certificate::ParseOne(Read(base + "ak_cert.der")).value(),
                   crypto::Certificate::ParseAll(Read("go-tpm-tools/ca-certs/tpm_ek_intermediate_2.crt")).value(),
                   crypto::Certificate::ParseAll(Read("go-tpm-tools/ca-certs/tpm_ek_root_1.cer")).value()};
  }();
  return fixture;
}

void BM_TpmQuoteVerify(benchmark::State& state) {
  const Fixture& f = Load();
  QuotePolicy policy;
  policy.expected_nonce = Bytes{0x90, 0x09};
  for (auto _ : state) {
    Result<QuoteClaims> claims = VerifyQuote(f.attest, f.signature, f.pcrs, f.ak, policy);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_TpmQuoteVerify)->Unit(benchmark::kMicrosecond);

void BM_TpmQuoteVerifyWithAkChain(benchmark::State& state) {
  const Fixture& f = Load();
  QuotePolicy policy;
  policy.expected_nonce = Bytes{0x90, 0x09};
  policy.ak_certificate = AkCertificatePolicy{f.ak_cert, f.intermediates, f.roots,
                                              crypto::ParseUtcTime("2022-06-01T00:00:00Z").value()};
  for (auto _ : state) {
    Result<QuoteClaims> claims = VerifyQuote(f.attest, f.signature, f.pcrs, f.ak, policy);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_TpmQuoteVerifyWithAkChain)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
