// libFuzzer target for attest/tpm TPMT_SIGNATURE parsing. Aborts unless an accepted signature has
// a supported scheme with the fields that scheme carries, and its prefixes are refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "openpcc/attest/tpm/structures.h"

using namespace openpcc::attest::tpm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  openpcc::ByteView input(data, size);
  openpcc::Result<Signature> sig = ParseSignature(input);
  if (!sig.ok()) return 0;
  bool rsa = sig->sig_alg == alg::kRsassa || sig->sig_alg == alg::kRsapss;
  bool ecc = sig->sig_alg == alg::kEcdsa;
  if (!rsa && !ecc) std::abort();
  if (rsa && (!sig->ecc_r.empty() || !sig->ecc_s.empty())) std::abort();
  if (ecc && !sig->rsa_signature.empty()) std::abort();
  if (size > 0 && ParseSignature(input.first(size - 1)).ok()) std::abort();
  return 0;
}
