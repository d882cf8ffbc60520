// crypto/kdf.h — HKDF (RFC 5869) over SHA-256, SHA-384 and SHA-512, as HPKE's KDFs (RFC 9180 §7.2).
//
// Inputs and outputs that are secret are SecretBytes. Thread-safe (no shared mutable state).
#pragma once

#include <cstdint>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/result.h"

namespace openpcc::crypto {

// HPKE KDF identifiers (RFC 9180 §7.2).
enum class KdfId : uint16_t { kHkdfSha256 = 0x0001, kHkdfSha384 = 0x0002, kHkdfSha512 = 0x0003 };

// Nh: the output length of Extract.
size_t KdfHashLength(KdfId id);
HashId KdfHash(KdfId id);
bool IsKnownKdf(uint16_t id);

// HKDF-Extract(salt, ikm) -> PRK of Nh bytes. An empty salt means Nh zero bytes, as RFC 5869 says.
Result<SecretBytes> HkdfExtract(KdfId id, ByteView salt, ByteView ikm);
// HKDF-Expand(prk, info, length); length at most 255 * Nh.
Result<SecretBytes> HkdfExpand(KdfId id, ByteView prk, ByteView info, size_t length);

}  // namespace openpcc::crypto
