#include "openpcc/attest/snp/vek.h"

#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::snp {
namespace {

using wire::ByteReader;

constexpr uint8_t kDerInteger = 0x02;
constexpr uint8_t kDerOctetString = 0x04;
constexpr uint8_t kDerUtf8String = 0x0C;
constexpr uint8_t kDerIa5String = 0x16;

Error BadExtension(std::string_view name, std::string_view why) {
  return Error(ErrorCode::kMalformed,
               "sev-snp: VEK certificate: " + std::string(name) + " extension " + std::string(why));
}

// One DER TLV with a short-form length (< 128 bytes: everything AMD puts here), occupying all of
// `bytes`. Returns false on anything else.
bool ReadWholeTlv(ByteView bytes, uint8_t* tag, ByteView* value) {
  ByteReader reader(bytes);
  uint8_t length = 0;
  if (!reader.ReadU8(tag) || !reader.ReadU8(&length) || length >= 0x80) return false;
  if (!reader.ReadBytes(length, value)) return false;
  return reader.empty();
}

Result<std::optional<uint8_t>> ReadSpl(const crypto::Certificate& vek, const char* oid,
                                       std::string_view name) {
  std::optional<Bytes> ext = vek.Extension(oid);
  if (!ext) return std::optional<uint8_t>();
  uint8_t tag = 0;
  ByteView value;
  if (!ReadWholeTlv(*ext, &tag, &value) || tag != kDerInteger || value.empty()) {
    return BadExtension(name, "is not a DER INTEGER");
  }
  ByteReader reader(value);
  uint8_t first = 0;
  (void)reader.PeekU8(&first);
  if ((first & 0x80) != 0) return BadExtension(name, "is negative");
  // Minimal DER: a leading zero only before a byte with its high bit set.
  if (value.size() == 2) {
    uint8_t lead = 0;
    (void)reader.ReadU8(&lead);
    if (lead != 0) return BadExtension(name, "does not fit in a byte");
  } else if (value.size() != 1) {
    return BadExtension(name, "does not fit in a byte");
  }
  uint8_t spl = 0;
  if (!reader.ReadU8(&spl) || !reader.empty()) return BadExtension(name, "is not a DER INTEGER");
  return std::optional<uint8_t>(spl);
}

}  // namespace

Result<VekExtensions> ParseVekExtensions(const crypto::Certificate& vek) {
  VekExtensions out;
  std::optional<Bytes> product = vek.Extension(kOidProductName);
  if (!product) {
    return Error(ErrorCode::kMalformed,
                 "sev-snp: VEK certificate has no productName extension (1.3.6.1.4.1.3704.1.2)");
  }
  uint8_t tag = 0;
  ByteView value;
  if (!ReadWholeTlv(*product, &tag, &value) || (tag != kDerIa5String && tag != kDerUtf8String)) {
    return BadExtension("productName", "is not an IA5String");
  }
  out.product_name = std::string(AsChars(value));

  OPENPCC_ASSIGN_OR_RETURN(out.bl_spl, ReadSpl(vek, kOidBlSpl, "blSPL"));
  OPENPCC_ASSIGN_OR_RETURN(out.tee_spl, ReadSpl(vek, kOidTeeSpl, "teeSPL"));
  OPENPCC_ASSIGN_OR_RETURN(out.snp_spl, ReadSpl(vek, kOidSnpSpl, "snpSPL"));
  OPENPCC_ASSIGN_OR_RETURN(out.ucode_spl, ReadSpl(vek, kOidUcodeSpl, "ucodeSPL"));
  OPENPCC_ASSIGN_OR_RETURN(out.fmc_spl, ReadSpl(vek, kOidFmcSpl, "fmcSPL"));

  if (std::optional<Bytes> hwid = vek.Extension(kOidHwid)) {
    // Raw chip ids are 64 bytes (8 on Turin); anything else must be exactly one OCTET STRING.
    if (hwid->size() == 64 || hwid->size() == 8) {
      out.hwid = std::move(hwid);
    } else if (ReadWholeTlv(*hwid, &tag, &value) && tag == kDerOctetString) {
      out.hwid = ToBytes(value);
    } else {
      return BadExtension("hwID", "is neither a raw chip id nor an OCTET STRING");
    }
  }
  return out;
}

}  // namespace openpcc::attest::snp
