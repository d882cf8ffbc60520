// libFuzzer target for attest/tpm TPMS_ATTEST parsing. Aborts unless a parsed attestation is
// internally consistent: a QUOTE carries quote info and no creation info (and the reverse), every
// PCR bank is a known hash with indices ascending, and a prefix of an accepted input is refused
// (the parser requires its input consumed exactly, so no shorter prefix can also be whole).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "openpcc/attest/tpm/structures.h"

using namespace openpcc::attest::tpm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  openpcc::ByteView input(data, size);
  openpcc::Result<Attest> attest = ParseAttest(input);
  if (!attest.ok()) return 0;
  bool quote = attest->type == kStAttestQuote;
  if (quote != attest->quote.has_value() || quote == attest->creation.has_value()) std::abort();
  if (attest->quote) {
    for (const PcrSelection& selection : attest->quote->selections) {
      if (AlgDigestSize(selection.hash) == 0) std::abort();
      for (size_t i = 1; i < selection.pcrs.size(); ++i) {
        if (selection.pcrs[i - 1] >= selection.pcrs[i]) std::abort();
      }
    }
  }
  if (size > 0 && ParseAttest(input.first(size - 1)).ok()) std::abort();
  return 0;
}
