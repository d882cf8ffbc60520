#include "openpcc/crypto/secret.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace openpcc::crypto {

void Wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecretBytes::Clear() {
  // Wipe the whole allocation, not just the live bytes: Resize may have left old bytes beyond size().
  bytes_.resize(bytes_.capacity());
  Wipe(bytes_);
  bytes_.clear();
}

void SecretBytes::Resize(size_t size) {
  if (size <= bytes_.size()) {
    Wipe(std::span<uint8_t>(bytes_).subspan(size));
    bytes_.resize(size);
    return;
  }
  if (size <= bytes_.capacity()) {  // grows in place: no reallocation, so no stale copy
    bytes_.resize(size, 0);
    return;
  }
  std::vector<uint8_t> grown;
  grown.reserve(std::max(size, bytes_.capacity() * 2));  // geometric, so appending chunks is linear
  grown.assign(bytes_.begin(), bytes_.end());
  grown.resize(size, 0);
  Clear();
  bytes_ = std::move(grown);
}

void SecretBytes::Append(ByteView more) {
  if (bytes_.size() + more.size() <= bytes_.capacity()) {
    bytes_.insert(bytes_.end(), more.begin(), more.end());
    return;
  }
  std::vector<uint8_t> grown;
  grown.reserve((bytes_.size() + more.size()) * 2);
  grown.assign(bytes_.begin(), bytes_.end());
  grown.insert(grown.end(), more.begin(), more.end());
  Clear();
  bytes_ = std::move(grown);
}

}  // namespace openpcc::crypto
