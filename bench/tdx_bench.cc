// Warm verification time of Intel TDX evidence (target: < 5 ms per quote, DESIGN/issue 4): the
// full VerifyTdxQuote on go-tdx-guest's/trustee's 2023 set (quote, TCB info, QE identity, PCK CRL
// with its chain, root CRL), from bytes and warm (collateral parsed once), and its parts, so a
// regression can be placed.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "openpcc/attest/tdx/ccel.h"
#include "openpcc/attest/tdx/verify.h"

namespace {

using namespace openpcc;
using namespace openpcc::attest::tdx;

Bytes Read(const char* relative) {
  std::string path = std::string(OPENPCC_VECTORS_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tdx_bench: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream s;
  s << in.rdbuf();
  return ToBytes(s.str());
}

struct Inputs {
  Bytes quote = Read("trustee/tdx/tdx_quote_4.dat");
  Bytes tcb_info = Read("go-tdx-guest/sample_tcbInfo_response");
  Bytes tcb_chain = Read("go-tdx-guest/tcbinfo_issuer_chain.pem");
  Bytes qe_identity = Read("go-tdx-guest/sample_qeIdentity_response");
  Bytes qe_chain = Read("go-tdx-guest/qeidentity_issuer_chain.pem");
  Bytes pck_crl = Read("go-tdx-guest/pckcrl");
  Bytes pck_crl_chain = Read("go-tdx-guest/pckcrl_issuer_chain.pem");
  Bytes root_crl = Read("go-tdx-guest/rootcrl.der");
  Bytes ccel = Read("go-tdx-guest/ccel/ccel_data.unpadded.bin");
  std::chrono::sys_seconds at = crypto::ParseUtcTime("2023-07-01T00:00:00Z").value();

  TdxCollateral Collateral() const {
    return {tcb_info, tcb_chain, qe_identity, qe_chain, ByteView(pck_crl), ByteView(pck_crl_chain),
            ByteView(root_crl)};
  }
};

const Inputs& In() {
  static const Inputs inputs;
  return inputs;
}

void BM_VerifyTdxQuoteWithCollateralAndCrls(benchmark::State& state) {
  const Inputs& in = In();
  TdxCollateral collateral = in.Collateral();
  for (auto _ : state) {
    Result<TdxClaims> claims = VerifyTdxQuote(in.quote, collateral, in.at);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyTdxQuoteWithCollateralAndCrls)->Unit(benchmark::kMicrosecond);

// Warm: the collateral (TCB info, QE identity, issuer chains, both CRLs) parsed once, as a client
// keeps it per platform; each iteration parses the quote (with its PCK chain) and runs every check
// of VerifyTdxQuote: four certificate chains with CRLs, the QE report, quote, TCB info and QE
// identity signatures, the collateral windows and the TCB status.
void BM_VerifyTdxQuoteWarm(benchmark::State& state) {
  const Inputs& in = In();
  TdxCollateral collateral = in.Collateral();
  Result<ParsedTdxCollateral> parsed = ParseTdxCollateral(collateral);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().message().c_str());
    return;
  }
  for (auto _ : state) {
    Result<Quote> quote = ParseQuote(in.quote);
    if (!quote.ok()) state.SkipWithError(quote.error().message().c_str());
    Result<TdxClaims> claims = VerifyTdxQuote(*quote, *parsed, in.at);
    if (!claims.ok()) state.SkipWithError(claims.error().message().c_str());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyTdxQuoteWarm)->Unit(benchmark::kMicrosecond);

void BM_ParseQuote(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ParseQuote(In().quote));
}
BENCHMARK(BM_ParseQuote)->Unit(benchmark::kMicrosecond);

void BM_QuoteSignaturesAndPckChain(benchmark::State& state) {
  Quote quote = ParseQuote(In().quote).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyQuoteSignatures(quote, In().at, IntelSgxRoots(), {}));
  }
}
BENCHMARK(BM_QuoteSignaturesAndPckChain)->Unit(benchmark::kMicrosecond);

void BM_ParseTcbInfo(benchmark::State& state) {
  for (auto _ : state) {
    auto signed_json = ExtractSignedJson(AsChars(In().tcb_info), "tcbInfo");
    benchmark::DoNotOptimize(ParseTcbInfo(signed_json->value));
  }
}
BENCHMARK(BM_ParseTcbInfo)->Unit(benchmark::kMicrosecond);

void BM_ReplayCcel(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ReplayCcel(In().ccel));
}
BENCHMARK(BM_ReplayCcel)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
