#include "openpcc/crypto/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace openpcc::crypto {

void RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (out.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::fputs("openpcc: fatal: the CSPRNG failed; refusing to continue\n", stderr);
    std::abort();
  }
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes out(size);
  RandomBytes(out.mutable_view());
  return out;
}

uint64_t RandomUniform(uint64_t bound) {
  if (bound <= 1) return 0;
  // Reject the top partial range so every residue is equally likely.
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - (std::numeric_limits<uint64_t>::max() % bound);
  for (;;) {
    uint64_t v = 0;
    RandomBytes({reinterpret_cast<uint8_t*>(&v), sizeof(v)});
    if (v < limit) return v % bound;
  }
}

}  // namespace openpcc::crypto
