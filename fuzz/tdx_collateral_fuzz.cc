// libFuzzer target for attest/tdx PCS collateral: a TCB info or QE identity response body. The
// target aborts unless an extracted signed value lies inside the body; the value (and the input
// itself) then goes through the TCB info and QE identity parsers.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "openpcc/attest/tdx/collateral.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "tdx_collateral_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::attest::tdx;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (std::string_view key : {"tcbInfo", "enclaveIdentity"}) {
    auto signed_json = ExtractSignedJson(body, key);
    if (!signed_json.ok()) continue;
    std::string_view value = signed_json->value;
    Check(value.data() >= body.data() && value.data() + value.size() <= body.data() + body.size(),
          "signed value outside the body");
    (void)ParseTcbInfo(value);
    (void)ParseQeIdentity(value);
  }
  (void)ParseTcbInfo(body);
  (void)ParseIssuerChain(openpcc::ByteView(data, size));
  return 0;
}
