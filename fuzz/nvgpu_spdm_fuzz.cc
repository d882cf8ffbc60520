// fuzz/nvgpu_spdm_fuzz.cc — NVIDIA SPDM GET_MEASUREMENTS evidence on untrusted bytes, raw and as
// hex text. Seeds: the Hopper and Blackwell reports of the shared vectors.
//
// Invariants beyond "no crash, leak or undefined behaviour":
//  - a report that parses splits exactly into signed bytes, a 96-byte signature and at most
//    kMaxTrailingBytes unsigned bytes;
//  - its blocks fill exactly record_length bytes, with unique indices;
//  - the typed opaque accessors return a value or an error, never crash;
//  - DecodeReport of the hex encoding of a parsed report gives back the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "openpcc/attest/nvgpu/spdm.h"

namespace {

using namespace openpcc;
using namespace openpcc::attest::nvgpu;

[[noreturn]] void InvariantViolated(const char* what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
  std::abort();
}

void Check(ByteView raw) {
  Result<SpdmEvidence> ev = ParseSpdmEvidence(raw);
  if (!ev.ok()) return;
  if (ev->signed_bytes.size() + kSpdmSignatureLength + ev->trailing_bytes != raw.size()) {
    InvariantViolated("signed bytes, signature and trailing bytes do not add up to the input");
  }
  if (ev->trailing_bytes > kMaxTrailingBytes) InvariantViolated("too many trailing bytes accepted");
  size_t record = 0;
  std::set<uint8_t> indices;
  for (const MeasurementBlock& block : ev->blocks) {
    record += 4 + 3 + block.value.size();
    if (!indices.insert(block.index).second) InvariantViolated("duplicate block index accepted");
  }
  if (record != ev->record_length) InvariantViolated("blocks do not fill the measurement record");
  (void)ev->opaque.DriverVersion();
  (void)ev->opaque.VbiosVersion();
  (void)ev->opaque.Project();
  (void)ev->opaque.ProjectSku();
  (void)ev->opaque.ChipSku();
  (void)ev->opaque.Nvdec0Status();
  (void)ev->opaque.Feature();
  Result<Bytes> again = DecodeReport(AsBytes(HexEncode(raw)));
  if (!again.ok() || *again != ToBytes(raw)) InvariantViolated("hex form does not decode to the report");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  Check(input);
  Result<Bytes> decoded = DecodeReport(input);
  if (decoded.ok() && *decoded != ToBytes(input)) Check(*decoded);
  return 0;
}
