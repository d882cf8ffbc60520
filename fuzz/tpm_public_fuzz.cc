// libFuzzer target for attest/tpm TPMT_PUBLIC parsing and what is derived from it. Aborts unless
// an accepted key keeps its exact bytes (the Name hashes them), its Name (when its nameAlg is
// supported) is the 2-byte algorithm plus a digest of that size, and the TPM2B_PUBLIC wrapping of
// the same bytes parses to the same key. Building an OpenSSL key from it may fail but must not crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "openpcc/attest/tpm/structures.h"
#include "openpcc/wire/byte_writer.h"

using namespace openpcc::attest::tpm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  openpcc::ByteView input(data, size);
  openpcc::Result<Public> pub = ParsePublic(input);
  if (!pub.ok()) {
    (void)ParsePublicOrSized(input);
    return 0;
  }
  if (pub->encoded != openpcc::ToBytes(input)) std::abort();
  openpcc::Result<openpcc::Bytes> name = ComputeName(*pub);
  if (name.ok() && name->size() != 2 + AlgDigestSize(pub->name_alg)) std::abort();
  openpcc::wire::ByteWriter sized;
  if (sized.WriteU16Prefixed(input)) {
    openpcc::Result<Public> again = ParsePublicOrSized(sized.view());
    if (!again.ok() || again->encoded != pub->encoded) std::abort();
  }
  (void)PublicKeyOf(*pub);
  (void)P256UncompressedPoint(*pub);
  return 0;
}
