#include "openpcc/wire/byte_reader.h"

namespace openpcc::wire {

bool ByteReader::ReadUint(size_t width, uint64_t* out) {
  if (width == 0 || width > 8 || bytes_.size() < width) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value = (value << 8) | bytes_[i];
  bytes_ = bytes_.subspan(width);
  *out = value;
  return true;
}

bool ByteReader::ReadU8(uint8_t* out) {
  uint64_t v;
  if (!ReadUint(1, &v)) return false;
  *out = static_cast<uint8_t>(v);
  return true;
}

bool ByteReader::ReadU16(uint16_t* out) {
  uint64_t v;
  if (!ReadUint(2, &v)) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

bool ByteReader::ReadU32(uint32_t* out) {
  uint64_t v;
  if (!ReadUint(4, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ByteReader::ReadU64(uint64_t* out) { return ReadUint(8, out); }

namespace {
template <typename T>
bool ReadLittleEndian(std::span<const uint8_t>& bytes, T* out) {
  if (bytes.size() < sizeof(T)) return false;
  T value = 0;
  for (size_t i = sizeof(T); i > 0; --i) value = static_cast<T>((value << 8) | bytes[i - 1]);
  bytes = bytes.subspan(sizeof(T));
  *out = value;
  return true;
}
}  // namespace

bool ByteReader::ReadU16Le(uint16_t* out) { return ReadLittleEndian(bytes_, out); }
bool ByteReader::ReadU32Le(uint32_t* out) { return ReadLittleEndian(bytes_, out); }
bool ByteReader::ReadU64Le(uint64_t* out) { return ReadLittleEndian(bytes_, out); }

bool ByteReader::PeekU8(uint8_t* out) const {
  if (bytes_.empty()) return false;
  *out = bytes_[0];
  return true;
}

bool ByteReader::ReadVarint(uint64_t* out) {
  if (bytes_.empty()) return false;
  const size_t length = size_t{1} << (bytes_[0] >> 6);
  if (bytes_.size() < length) return false;
  uint64_t value = bytes_[0] & 0x3f;
  for (size_t i = 1; i < length; ++i) value = (value << 8) | bytes_[i];
  bytes_ = bytes_.subspan(length);
  *out = value;
  return true;
}

bool ByteReader::ReadBytes(size_t n, std::span<const uint8_t>* out) {
  if (bytes_.size() < n) return false;
  *out = bytes_.first(n);
  bytes_ = bytes_.subspan(n);
  return true;
}

bool ByteReader::CopyBytes(std::span<uint8_t> out) {
  std::span<const uint8_t> view;
  if (!ReadBytes(out.size(), &view)) return false;
  for (size_t i = 0; i < view.size(); ++i) out[i] = view[i];
  return true;
}

bool ByteReader::Skip(size_t n) {
  std::span<const uint8_t> ignored;
  return ReadBytes(n, &ignored);
}

bool ByteReader::ReadChild(size_t n, ByteReader* child) {
  std::span<const uint8_t> view;
  if (!ReadBytes(n, &view)) return false;
  *child = ByteReader(view);
  return true;
}

namespace {
// Reads a length with `read_length`, then that many bytes, restoring the reader on failure.
template <typename ReadLength>
bool ReadPrefixed(ByteReader& reader, ByteReader* child, ReadLength read_length) {
  ByteReader saved = reader;
  uint64_t length = 0;
  if (!read_length(length) || length > reader.remaining() ||
      !reader.ReadChild(static_cast<size_t>(length), child)) {
    reader = saved;
    return false;
  }
  return true;
}
}  // namespace

bool ByteReader::ReadU8Prefixed(ByteReader* child) {
  return ReadPrefixed(*this, child, [this](uint64_t& n) { return ReadUint(1, &n); });
}
bool ByteReader::ReadU16Prefixed(ByteReader* child) {
  return ReadPrefixed(*this, child, [this](uint64_t& n) { return ReadUint(2, &n); });
}
bool ByteReader::ReadU32Prefixed(ByteReader* child) {
  return ReadPrefixed(*this, child, [this](uint64_t& n) { return ReadUint(4, &n); });
}
bool ByteReader::ReadVarintPrefixed(ByteReader* child) {
  return ReadPrefixed(*this, child, [this](uint64_t& n) { return ReadVarint(&n); });
}

bool ByteReader::ReadVarintPrefixedBytes(std::span<const uint8_t>* out) {
  ByteReader child;
  if (!ReadVarintPrefixed(&child)) return false;
  *out = child.rest();
  return true;
}

bool FillTo(std::vector<uint8_t>& buffer, size_t want, std::span<const uint8_t>& input) {
  if (buffer.size() >= want) return true;
  const size_t take = want - buffer.size() < input.size() ? want - buffer.size() : input.size();
  buffer.insert(buffer.end(), input.begin(), input.begin() + static_cast<std::ptrdiff_t>(take));
  input = input.subspan(take);
  return buffer.size() == want;
}

size_t VarintLength(uint64_t value) {
  if (value < (uint64_t{1} << 6)) return 1;
  if (value < (uint64_t{1} << 14)) return 2;
  if (value < (uint64_t{1} << 30)) return 4;
  if (value <= kMaxVarint) return 8;
  return 0;
}

}  // namespace openpcc::wire
