#include "openpcc/wire/byte_writer.h"

#include "openpcc/wire/byte_reader.h"

namespace openpcc::wire {

bool ByteWriter::WriteUint(size_t width, uint64_t v) {
  if (width == 0 || width > 8) return false;
  if (width < 8 && (v >> (8 * width)) != 0) return false;
  for (size_t i = width; i > 0; --i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * (i - 1))));
  return true;
}

void ByteWriter::WriteU8(uint8_t v) { bytes_.push_back(v); }
void ByteWriter::WriteU16(uint16_t v) { (void)WriteUint(2, v); }
void ByteWriter::WriteU32(uint32_t v) { (void)WriteUint(4, v); }
void ByteWriter::WriteU64(uint64_t v) { (void)WriteUint(8, v); }

bool AppendVarint(std::vector<uint8_t>& out, uint64_t v) {
  const size_t length = VarintLength(v);
  if (length == 0) return false;
  const uint8_t prefix = length == 1 ? 0x00 : length == 2 ? 0x40 : length == 4 ? 0x80 : 0xc0;
  for (size_t i = length; i > 0; --i) {
    uint8_t b = static_cast<uint8_t>(v >> (8 * (i - 1)));
    if (i == length) b = static_cast<uint8_t>(b | prefix);
    out.push_back(b);
  }
  return true;
}

bool ByteWriter::WriteVarint(uint64_t v) { return AppendVarint(bytes_, v); }

void ByteWriter::WriteBytes(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
void ByteWriter::WriteZeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }

bool ByteWriter::WriteU8Prefixed(std::span<const uint8_t> b) {
  if (!WriteUint(1, b.size())) return false;
  WriteBytes(b);
  return true;
}
bool ByteWriter::WriteU16Prefixed(std::span<const uint8_t> b) {
  if (!WriteUint(2, b.size())) return false;
  WriteBytes(b);
  return true;
}
bool ByteWriter::WriteU32Prefixed(std::span<const uint8_t> b) {
  if (!WriteUint(4, b.size())) return false;
  WriteBytes(b);
  return true;
}
bool ByteWriter::WriteVarintPrefixed(std::span<const uint8_t> b) {
  if (!WriteVarint(b.size())) return false;
  WriteBytes(b);
  return true;
}

}  // namespace openpcc::wire
