// crypto/hash.h — SHA-2 digests (OpenSSL EVP), one-shot and incremental.
//
// Thread safety: the one-shot functions are; a `Hasher` is a single-threaded object.
#pragma once

#include <cstdint>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/util/bytes.h"

namespace openpcc::crypto {

enum class HashId : uint8_t { kSha256, kSha384, kSha512 };

size_t HashLength(HashId id);
const EVP_MD* HashMd(HashId id);

Bytes Sha256(ByteView data);
Bytes Sha384(ByteView data);
Bytes Sha512(ByteView data);
Bytes Digest(HashId id, ByteView data);

// Incremental digest, for hashing a stream as it passes (the sealed request digest).
class Hasher {
 public:
  explicit Hasher(HashId id);
  Hasher(Hasher&&) noexcept = default;
  Hasher& operator=(Hasher&&) noexcept = default;

  // Update or Finish after Finish (or on a moved-from hasher) aborts: it is a programming error
  // that would otherwise hash into a finalised OpenSSL context.
  void Update(ByteView data);
  Bytes Finish();

 private:
  HashId id_;
  EvpMdCtxPtr ctx_;
  bool finished_ = false;
};

}  // namespace openpcc::crypto
