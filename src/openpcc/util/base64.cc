#include "openpcc/util/base64.h"

#include <array>
#include <cstdint>

namespace openpcc {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Encode(ByteView bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

std::array<int8_t, 256> Table(const char* alphabet) {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}

Result<Bytes> Decode(std::string_view text, const std::array<int8_t, 256>& table, bool padded,
                     std::string_view name) {
  size_t data_chars = text.size();
  if (padded) {
    if (text.size() % 4 != 0) {
      return Error(ErrorCode::kMalformed, std::string(name) + ": length " + std::to_string(text.size()) +
                                              " is not a multiple of 4");
    }
    if (data_chars > 0 && text[data_chars - 1] == '=') --data_chars;
    if (data_chars > 0 && text[data_chars - 1] == '=') --data_chars;
  } else if (text.size() % 4 == 1) {
    return Error(ErrorCode::kMalformed, std::string(name) + ": length " + std::to_string(text.size()) +
                                            " is impossible");
  }
  Bytes out;
  out.reserve(data_chars / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_chars; ++i) {
    const int8_t v = table[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return Error(ErrorCode::kMalformed, std::string(name) + ": invalid character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  // 2 or 4 leftover bits must be zero; 6 leftover bits means one lone character (impossible).
  if (bits == 6 || acc != 0) {
    return Error(ErrorCode::kMalformed, std::string(name) + ": non-canonical final character");
  }
  return out;
}

}  // namespace

std::string Base64Encode(ByteView bytes) { return Encode(bytes, kStd, true); }
std::string Base64UrlEncode(ByteView bytes) { return Encode(bytes, kUrl, false); }

Result<Bytes> Base64Decode(std::string_view text) {
  static const auto table = Table(kStd);
  return Decode(text, table, true, "base64");
}

Result<Bytes> Base64UrlDecode(std::string_view text) {
  static const auto table = Table(kUrl);
  return Decode(text, table, false, "base64url");
}

}  // namespace openpcc
