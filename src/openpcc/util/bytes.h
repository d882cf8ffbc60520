// util/bytes.h — byte buffers and views shared by every module, and hex for tests and tools.
//
// `Bytes` owns public bytes (ciphertexts, encodings). Secret bytes use crypto::SecretBytes (or the
// wiping containers beside it), which wipe themselves; never put a key or plaintext in `Bytes`.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/result.h"

namespace openpcc {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(ByteView b) { return Bytes(b.begin(), b.end()); }
inline Bytes ToBytes(std::string_view s) { return ToBytes(AsBytes(s)); }

// Appends `b` to `out`.
inline void Append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// Concatenation of any number of byte views.
template <typename... Views>
Bytes Concat(const Views&... views) {
  Bytes out;
  (Append(out, ByteView(views)), ...);
  return out;
}

std::string HexEncode(ByteView bytes);
// "0x0020": how protocol identifiers (KEM, KDF, AEAD ids) appear in error messages.
std::string HexU16(uint16_t value);
// Accepts upper or lower case; fails on odd length or a non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

}  // namespace openpcc
