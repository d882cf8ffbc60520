// fuzz/nvgpu_rim_fuzz.cc — NVIDIA RIMs (SWID XML with an enveloped XML-DSig signature) and the
// bounded XML reader under them, on untrusted text. Seeds: NVIDIA's signed RIMs from the shared
// vectors and small documents of the accepted XML subset.
//
// Invariants beyond "no crash, leak or undefined behaviour":
//  - canonical XML is a fixed point: the canonical form of a document parses, and canonicalizes
//    to itself;
//  - a RIM that parses has measurements whose alternatives all have the stated size;
//  - signature verification (against the pinned root, at a fixed time) returns a result for any
//    parsed RIM; it can succeed only for the unmodified NVIDIA seeds.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "openpcc/attest/nvgpu/rim.h"
#include "openpcc/attest/nvgpu/roots.h"
#include "openpcc/attest/nvgpu/xml.h"

namespace {

using namespace openpcc;
using namespace openpcc::attest::nvgpu;

[[noreturn]] void InvariantViolated(const char* what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<xml::Node> doc = xml::Parse(text);
  if (doc.ok()) {
    std::string canonical = xml::Canonicalize(*doc);
    Result<xml::Node> again = xml::Parse(canonical);
    if (!again.ok()) InvariantViolated("canonical XML does not parse");
    if (xml::Canonicalize(*again) != canonical) InvariantViolated("canonical XML is not a fixed point");
  }
  Result<Rim> rim = ParseRim(text);
  if (!rim.ok()) return 0;
  for (const auto& [index, m] : rim->measurements) {
    for (const Bytes& alt : m.alternatives) {
      if (alt.size() != m.size) InvariantViolated("a reference value does not have its stated size");
    }
  }
  static const auto at = std::chrono::sys_seconds(std::chrono::seconds(1717200000));  // 2024-06-01
  (void)VerifyRimSignature(*rim, NvidiaRimRoots(), at);
  return 0;
}
