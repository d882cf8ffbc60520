// wire/byte_reader.h — the one cursor through which OpenPCC reads untrusted bytes.
//
// Modelled on BoringSSL's CBS: every getter either succeeds and advances, or fails and leaves the
// reader exactly where it was (nothing half-read). A length-prefixed field becomes a child reader
// limited to that field, so a parser can never read past the field it is in. Parsers never index
// buffers directly; they end with `empty()` (or say why trailing bytes are allowed).
//
// Getters return `bool` rather than `Result` so that the parser, which knows which field it was
// reading, composes the error message ("bhttp: header field name length").
//
// A ByteReader does not own its bytes; the span must outlive it. Not thread-safe (a cursor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace openpcc::wire {

// Largest value a QUIC variable-length integer can hold (RFC 9000 §16): 2^62 - 1.
inline constexpr uint64_t kMaxVarint = (uint64_t{1} << 62) - 1;

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // The bytes not yet read.
  std::span<const uint8_t> rest() const { return bytes_; }

  bool ReadU8(uint8_t* out);
  bool ReadU16(uint16_t* out);   // big-endian
  bool ReadU32(uint32_t* out);   // big-endian
  bool ReadU64(uint64_t* out);   // big-endian
  // Reads an unsigned big-endian integer of `width` bytes (1..8).
  bool ReadUint(size_t width, uint64_t* out);
  bool ReadU16Le(uint16_t* out);
  bool ReadU32Le(uint32_t* out);
  bool ReadU64Le(uint64_t* out);

  // QUIC variable-length integer (RFC 9000 §16). Non-minimal encodings are accepted, as RFC 9292
  // requires of BHTTP decoders.
  bool ReadVarint(uint64_t* out);
  // Reads the first byte of a varint without consuming it; false when empty.
  bool PeekU8(uint8_t* out) const;

  // Exactly `n` bytes as a view into the input.
  bool ReadBytes(size_t n, std::span<const uint8_t>* out);
  // Copies exactly out.size() bytes.
  bool CopyBytes(std::span<uint8_t> out);
  bool Skip(size_t n);
  // A child reader over the next `n` bytes.
  bool ReadChild(size_t n, ByteReader* child);
  // A child over a field prefixed by its length as u8 / u16 / u32 / varint.
  bool ReadU8Prefixed(ByteReader* child);
  bool ReadU16Prefixed(ByteReader* child);
  bool ReadU32Prefixed(ByteReader* child);
  bool ReadVarintPrefixed(ByteReader* child);
  // Same, as views.
  bool ReadVarintPrefixedBytes(std::span<const uint8_t>* out);

 private:
  std::span<const uint8_t> bytes_;
};

// Number of bytes the minimal varint encoding of `value` takes (1, 2, 4 or 8); 0 if too large.
size_t VarintLength(uint64_t value);
// Number of bytes of a varint whose first byte is `first_byte` (its two high bits say: 1, 2, 4, 8).
inline size_t VarintLengthFromFirstByte(uint8_t first_byte) { return size_t{1} << (first_byte >> 6); }

// For incremental parsers: moves bytes from the front of `input` to the end of `buffer` until
// `buffer` holds `want` bytes (or `input` runs out). Returns true once `buffer` holds `want` bytes.
bool FillTo(std::vector<uint8_t>& buffer, size_t want, std::span<const uint8_t>& input);

}  // namespace openpcc::wire
