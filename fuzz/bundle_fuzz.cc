// Evidence bundle JSON (attest/bundle.h): untrusted bytes from the gateway's directory response.
// Whatever parses must serialise canonically and parse back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "openpcc/attest/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  openpcc::Result<openpcc::attest::EvidenceBundle> bundle = openpcc::attest::ParseBundle(text);
  if (!bundle.ok()) return 0;
  std::string serialized = bundle.value().Serialize();
  openpcc::Result<openpcc::attest::EvidenceBundle> again = openpcc::attest::ParseBundle(serialized);
  if (!again.ok() || again.value().Serialize() != serialized) std::abort();
  return 0;
}
