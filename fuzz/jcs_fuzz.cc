// fuzz/jcs_fuzz.cc — RFC 8785 canonicalization of untrusted JSON.
// Invariants: the canonical form of a parsed document parses, is its own canonical form
// (idempotent), and is accepted by ParseCanonicalJson.
#include <cstddef>
#include <cstdint>

#include "openpcc/wire/jcs.h"
#include "tlog_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto json = wire::ParseJson(input);
  if (!json.ok()) return 0;
  auto canonical = wire::Canonicalize(*json);
  if (!canonical.ok()) return 0;
  auto reparsed = wire::ParseJson(*canonical);
  if (!reparsed.ok()) fuzz::TlogInvariantViolated("canonical form does not parse: " + reparsed.error().message());
  auto again = wire::Canonicalize(*reparsed);
  if (!again.ok() || *again != *canonical) fuzz::TlogInvariantViolated("canonicalization is not idempotent");
  if (!wire::ParseCanonicalJson(*canonical).ok()) fuzz::TlogInvariantViolated("canonical form refused as non-canonical");
  return 0;
}
