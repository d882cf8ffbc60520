#include "openpcc/crypto/hash.h"

#include <cstdio>
#include <cstdlib>

namespace openpcc::crypto {
namespace {

[[noreturn]] void DieOn(const char* what) {
  // Hashing cannot fail on valid inputs; if OpenSSL says otherwise the process state is unsound.
  std::fprintf(stderr, "openpcc: fatal: %s failed\n", what);
  std::abort();
}

}  // namespace

size_t HashLength(HashId id) {
  switch (id) {
    case HashId::kSha256: return 32;
    case HashId::kSha384: return 48;
    case HashId::kSha512: return 64;
  }
  return 0;
}

const EVP_MD* HashMd(HashId id) {
  switch (id) {
    case HashId::kSha256: return EVP_sha256();
    case HashId::kSha384: return EVP_sha384();
    case HashId::kSha512: return EVP_sha512();
  }
  return nullptr;
}

Bytes Digest(HashId id, ByteView data) {
  Bytes out(HashLength(id));
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, HashMd(id), nullptr) != 1 ||
      length != out.size()) {
    DieOn("EVP_Digest");
  }
  return out;
}

Bytes Sha256(ByteView data) { return Digest(HashId::kSha256, data); }
Bytes Sha384(ByteView data) { return Digest(HashId::kSha384, data); }
Bytes Sha512(ByteView data) { return Digest(HashId::kSha512, data); }

Hasher::Hasher(HashId id) : id_(id), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), HashMd(id), nullptr) != 1) DieOn("EVP_DigestInit_ex");
}

void Hasher::Update(ByteView data) {
  if (!ctx_ || finished_) DieOn("Hasher::Update after Finish");
  if (data.empty()) return;
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) DieOn("EVP_DigestUpdate");
}

Bytes Hasher::Finish() {
  if (!ctx_ || finished_) DieOn("Hasher::Finish twice");
  finished_ = true;
  Bytes out(HashLength(id_));
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &length) != 1 || length != out.size()) {
    DieOn("EVP_DigestFinal_ex");
  }
  return out;
}

}  // namespace openpcc::crypto
