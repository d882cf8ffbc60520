// crypto/random.h — OpenPCC's one source of randomness: OpenSSL's CSPRNG (RAND_bytes).
//
// Every key, nonce and sample in OpenPCC comes from here. There is no seedable or test mode: tests
// that need fixed values pass them explicitly (HpkeSenderOptions::ephemeral_key_for_testing,
// OhttpTestingOptions, SealedTestingValues), which production code never sets.
// Thread-safe (OpenSSL's DRBG is per thread).
#pragma once

#include <cstdint>
#include <span>

#include "openpcc/crypto/secret.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

// Fills `out` with random bytes. Aborts the process if the CSPRNG fails: continuing with
// predictable keys would be worse than stopping.
void RandomBytes(std::span<uint8_t> out);
SecretBytes RandomSecret(size_t size);
// Uniform in [0, bound), bound > 0, without modulo bias.
uint64_t RandomUniform(uint64_t bound);

}  // namespace openpcc::crypto
