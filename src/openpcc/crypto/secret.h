// crypto/secret.h — secret byte buffers: wiped on destruction, compared in constant time.
//
// `SecretBytes` holds keys, shared secrets and decrypted plaintext. It wipes its memory with
// OPENSSL_cleanse when destroyed, moved from or resized, cannot be copied implicitly (use
// `Clone()`), has no stream operator, and compares in constant time. Use `view()` to hand the
// bytes to a primitive; never copy them into a plain `Bytes`.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "openpcc/util/bytes.h"

namespace openpcc::crypto {

// Overwrites `bytes` with zeros in a way the compiler does not elide.
void Wipe(std::span<uint8_t> bytes);

// Constant-time equality of two byte strings. Unequal lengths compare unequal; only the lengths,
// which are public, influence the running time.
bool ConstantTimeEqual(ByteView a, ByteView b);

// An allocator whose deallocation wipes the memory first, so a container of plaintext leaves no
// copy behind in freed heap — including the old buffers a growing container reallocates away from.
// (Characters held inline by a short string's small-buffer optimisation live in the string object
// itself; they are wiped only if that object lives in memory from this allocator.)
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    Wipe({reinterpret_cast<uint8_t*>(p), n * sizeof(T)});
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

// Plaintext containers: decrypted requests and responses, header values, tokens.
using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;
using SecretVector = std::vector<uint8_t, WipingAllocator<uint8_t>>;

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size, 0) {}
  explicit SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Clear(); }

  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const { return SecretBytes(view()); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  ByteView view() const { return bytes_; }
  std::span<uint8_t> mutable_view() { return bytes_; }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }

  // Wipes and empties.
  void Clear();
  // Wipes the bytes beyond `size` (or zero-extends); never leaves a stale copy behind.
  void Resize(size_t size);
  // Appends, reallocating through a wiped copy so no stale secret remains in freed memory.
  void Append(ByteView more);

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    return ConstantTimeEqual(a.view(), b.view());
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace openpcc::crypto
