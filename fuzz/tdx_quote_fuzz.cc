// libFuzzer target for attest/tdx quote parsing and the PCK certificate's SGX extensions. The input
// is a DCAP quote. The target aborts unless a parsed quote's signed region is a prefix of the input
// and its parts account for the input's length; the PCK extension parser also gets the raw input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "openpcc/attest/tdx/pck.h"
#include "openpcc/attest/tdx/quote.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "tdx_quote_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::attest::tdx;
  openpcc::ByteView input(data, size);
  openpcc::Result<Quote> quote = ParseQuote(input);
  if (quote.ok()) {
    const Quote& q = *quote;
    Check(q.signed_region.size() <= size, "signed region longer than input");
    Check(std::equal(q.signed_region.begin(), q.signed_region.end(), data), "signed region not a prefix");
    Check(q.qe_report_raw.size() == kSgxReportSize, "QE report size");
    Check(q.trailing_bytes <= size - q.signed_region.size(), "trailing bytes");
    auto chain = openpcc::crypto::Certificate::ParseAll(q.pck_chain_pem);
    if (chain.ok()) (void)PckExtensionsOf(chain->front());
  }
  (void)ParsePckExtensions(input);
  return 0;
}
