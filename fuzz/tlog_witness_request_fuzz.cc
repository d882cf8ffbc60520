// fuzz/tlog_witness_request_fuzz.cc — the witness's add-checkpoint body and the log's 409 size on
// untrusted bytes.
// Invariants: a body that parses re-formats to its input; a size that parses prints back.
#include <cstddef>
#include <cstdint>

#include "openpcc/tlog/witness_request.h"
#include "tlog_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto request = tlog::ParseAddCheckpoint(input); request.ok()) {
    if (tlog::FormatAddCheckpoint(request->old_size, request->proof, request->checkpoint_note) != input) {
      fuzz::TlogInvariantViolated("add-checkpoint body does not round-trip");
    }
  }
  if (auto n = tlog::ParseTreeSize(input); n.ok()) {
    const std::string printed = std::to_string(*n);
    if (printed != input && printed + "\n" != input) fuzz::TlogInvariantViolated("tree size does not round-trip");
  }
  return 0;
}
