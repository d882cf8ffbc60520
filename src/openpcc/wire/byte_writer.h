// wire/byte_writer.h — the one builder through which OpenPCC serialises wire formats.
//
// Modelled on BoringSSL's CBB: fixed-width big-endian integers, QUIC varints and length-prefixed
// fields. Writers never truncate: a value that does not fit its field (a varint above 2^62 - 1, a
// u16-prefixed field over 65535 bytes) makes the call return false and leaves the output unchanged.
//
// Not thread-safe. The writer owns its buffer; `Take()` moves it out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace openpcc::wire {

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(size_t reserve) { bytes_.reserve(reserve); }

  void WriteU8(uint8_t v);
  void WriteU16(uint16_t v);
  void WriteU32(uint32_t v);
  void WriteU64(uint64_t v);
  // `width` bytes big-endian; false if `v` does not fit.
  [[nodiscard]] bool WriteUint(size_t width, uint64_t v);
  // Minimal QUIC varint; false above 2^62 - 1.
  [[nodiscard]] bool WriteVarint(uint64_t v);
  void WriteBytes(std::span<const uint8_t> b);
  void WriteZeros(size_t n);
  [[nodiscard]] bool WriteU8Prefixed(std::span<const uint8_t> b);
  [[nodiscard]] bool WriteU16Prefixed(std::span<const uint8_t> b);
  [[nodiscard]] bool WriteU32Prefixed(std::span<const uint8_t> b);
  [[nodiscard]] bool WriteVarintPrefixed(std::span<const uint8_t> b);

  size_t size() const { return bytes_.size(); }
  std::span<const uint8_t> view() const { return bytes_; }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

// Appends the minimal varint encoding of `v` to `out`; false (and nothing appended) above 2^62-1.
[[nodiscard]] bool AppendVarint(std::vector<uint8_t>& out, uint64_t v);

}  // namespace openpcc::wire
