// libFuzzer target for attest/tdx CCEL parsing: the input is a TCG2 crypto-agile event log (and, as
// a second reading, an ACPI CCEL table). The target aborts unless a replay is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "openpcc/attest/tdx/ccel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::attest::tdx;
  openpcc::ByteView input(data, size);
  auto log = ReplayCcel(input);
  if (log.ok()) {
    auto again = ReplayCcel(input);
    if (!again.ok() || again->rtmr != log->rtmr) {
      std::fprintf(stderr, "tdx_ccel_fuzz: replay not deterministic\n");
      std::abort();
    }
  }
  (void)ParseCcelTable(input);
  return 0;
}
