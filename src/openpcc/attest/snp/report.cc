#include "openpcc/attest/snp/report.h"

#include <algorithm>

#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::snp {
namespace {

using wire::ByteReader;

Error Truncated(std::string_view field) {
  return Error(ErrorCode::kTruncated, "sev-snp: report: " + std::string(field));
}

template <size_t N>
bool ReadArray(ByteReader& reader, std::array<uint8_t, N>& out) {
  return reader.CopyBytes(out);
}

// A 72-byte little-endian ECDSA component as a 48-byte big-endian integer.
Status ReadSignatureComponent(ByteReader& reader, std::string_view name,
                              std::array<uint8_t, 48>& out) {
  ByteView field;
  if (!reader.ReadBytes(kSignatureComponentLength, &field)) return Truncated(name);
  ByteView high = field.subspan(out.size());
  if (std::any_of(high.begin(), high.end(), [](uint8_t b) { return b != 0; })) {
    return Error(ErrorCode::kMalformed,
                 "sev-snp: report: signature " + std::string(name) + " exceeds 384 bits");
  }
  std::reverse_copy(field.begin(), field.begin() + static_cast<ptrdiff_t>(out.size()), out.begin());
  return OkStatus();
}

bool Bit(uint64_t value, unsigned bit) { return ((value >> bit) & 1U) != 0; }

uint8_t Byte(uint64_t value, unsigned index) { return static_cast<uint8_t>(value >> (8 * index)); }

}  // namespace

std::string_view SnpFamilyName(SnpFamily family) {
  switch (family) {
    case SnpFamily::kMilan: return "Milan";
    case SnpFamily::kGenoa: return "Genoa";
    case SnpFamily::kTurin: return "Turin";
  }
  return "?";
}

std::optional<SnpFamily> SnpFamilyFromProductName(std::string_view product_name) {
  std::string_view base = product_name.substr(0, product_name.find('-'));
  for (SnpFamily family : {SnpFamily::kMilan, SnpFamily::kGenoa, SnpFamily::kTurin}) {
    if (base == SnpFamilyName(family)) return family;
  }
  return std::nullopt;
}

std::optional<SnpFamily> SnpFamilyFromCpuid(uint8_t family_id, uint8_t model_id) {
  const unsigned model_high = model_id >> 4;
  if (family_id == 0x19) {
    if (model_high == 0x0) return SnpFamily::kMilan;
    if (model_high == 0x1 || model_high == 0xA) return SnpFamily::kGenoa;
  }
  if (family_id == 0x1A && (model_high == 0x0 || model_high == 0x1)) return SnpFamily::kTurin;
  return std::nullopt;
}

SnpTcb DecodeTcb(uint64_t raw, SnpFamily family) {
  SnpTcb tcb;
  tcb.raw = raw;
  if (family == SnpFamily::kTurin) {
    tcb.fmc = Byte(raw, 0);
    tcb.bootloader = Byte(raw, 1);
    tcb.tee = Byte(raw, 2);
    tcb.snp = Byte(raw, 3);
  } else {
    tcb.bootloader = Byte(raw, 0);
    tcb.tee = Byte(raw, 1);
    tcb.snp = Byte(raw, 6);
  }
  tcb.microcode = Byte(raw, 7);
  return tcb;
}

uint64_t EncodeTcb(const SnpTcb& tcb, SnpFamily family) {
  auto at = [](uint8_t value, unsigned index) { return uint64_t{value} << (8 * index); };
  if (family == SnpFamily::kTurin) {
    return at(tcb.fmc.value_or(0), 0) | at(tcb.bootloader, 1) | at(tcb.tee, 2) | at(tcb.snp, 3) |
           at(tcb.microcode, 7);
  }
  return at(tcb.bootloader, 0) | at(tcb.tee, 1) | at(tcb.snp, 6) | at(tcb.microcode, 7);
}

std::string TcbToString(const SnpTcb& tcb) {
  std::string out;
  if (tcb.fmc) out += "fmc " + std::to_string(*tcb.fmc) + " ";
  out += "bl " + std::to_string(tcb.bootloader) + " tee " + std::to_string(tcb.tee) + " snp " +
         std::to_string(tcb.snp) + " ucode " + std::to_string(tcb.microcode);
  return out;
}

SnpGuestPolicy DecodeGuestPolicy(uint64_t raw) {
  SnpGuestPolicy p;
  p.raw = raw;
  p.abi_minor = Byte(raw, 0);
  p.abi_major = Byte(raw, 1);
  p.smt = Bit(raw, 16);
  p.migrate_ma = Bit(raw, 18);
  p.debug = Bit(raw, 19);
  p.single_socket = Bit(raw, 20);
  p.cxl_allow = Bit(raw, 21);
  p.mem_aes_256_xts = Bit(raw, 22);
  p.rapl_dis = Bit(raw, 23);
  p.ciphertext_hiding = Bit(raw, 24);
  p.page_swap_disable = Bit(raw, 25);
  return p;
}

SnpPlatformInfo DecodePlatformInfo(uint64_t raw) {
  SnpPlatformInfo p;
  p.raw = raw;
  p.smt_enabled = Bit(raw, 0);
  p.tsme_enabled = Bit(raw, 1);
  p.ecc_enabled = Bit(raw, 2);
  p.rapl_disabled = Bit(raw, 3);
  p.ciphertext_hiding_enabled = Bit(raw, 4);
  p.alias_check_complete = Bit(raw, 5);
  return p;
}

std::string_view SnpSigningKeyName(SnpSigningKey key) {
  switch (key) {
    case SnpSigningKey::kVcek: return "VCEK";
    case SnpSigningKey::kVlek: return "VLEK";
    case SnpSigningKey::kNone: return "none";
  }
  return "reserved";
}

std::optional<SnpFamily> SnpReport::CpuidFamily() const {
  if (!cpuid) return std::nullopt;
  return SnpFamilyFromCpuid(cpuid->family_id, cpuid->model_id);
}

Result<SnpReport> ParseSnpReport(ByteView bytes) {
  if (bytes.size() != kReportSize) {
    return Error(ErrorCode::kMalformed, "sev-snp: report: length " + std::to_string(bytes.size()) +
                                            " is not " + std::to_string(kReportSize));
  }
  ByteReader reader(bytes);
  SnpReport report;
  uint64_t policy = 0, platform_info = 0;
  uint32_t key_info = 0;
  if (!reader.ReadU32Le(&report.version)) return Truncated("VERSION");
  if (report.version < kMinReportVersion || report.version > kMaxReportVersion) {
    return Error(ErrorCode::kUnsupported, "sev-snp: report: VERSION " +
                                              std::to_string(report.version) + " is not in [2, 5]");
  }
  if (!reader.ReadU32Le(&report.guest_svn)) return Truncated("GUEST_SVN");
  if (!reader.ReadU64Le(&policy)) return Truncated("POLICY");
  report.policy = DecodeGuestPolicy(policy);
  if (!ReadArray(reader, report.family_id)) return Truncated("FAMILY_ID");
  if (!ReadArray(reader, report.image_id)) return Truncated("IMAGE_ID");
  if (!reader.ReadU32Le(&report.vmpl)) return Truncated("VMPL");
  if (!reader.ReadU32Le(&report.signature_algo)) return Truncated("SIGNATURE_ALGO");
  if (!reader.ReadU64Le(&report.current_tcb)) return Truncated("CURRENT_TCB");
  if (!reader.ReadU64Le(&platform_info)) return Truncated("PLATFORM_INFO");
  report.platform_info = DecodePlatformInfo(platform_info);
  if (!reader.ReadU32Le(&key_info)) return Truncated("KEY_INFO");
  report.author_key_en = (key_info & 1U) != 0;
  report.mask_chip_id = (key_info & 2U) != 0;
  report.signing_key_raw = static_cast<uint8_t>((key_info >> 2) & 7U);
  if (report.signing_key_raw > 1 && report.signing_key_raw < 7) {
    return Error(ErrorCode::kMalformed, "sev-snp: report: SIGNING_KEY " +
                                            std::to_string(report.signing_key_raw) +
                                            " is reserved (expected 0 VCEK, 1 VLEK or 7 none)");
  }
  if (!reader.Skip(4)) return Truncated("reserved 0x4C");
  if (!ReadArray(reader, report.report_data)) return Truncated("REPORT_DATA");
  if (!ReadArray(reader, report.measurement)) return Truncated("MEASUREMENT");
  if (!ReadArray(reader, report.host_data)) return Truncated("HOST_DATA");
  if (!ReadArray(reader, report.id_key_digest)) return Truncated("ID_KEY_DIGEST");
  if (!ReadArray(reader, report.author_key_digest)) return Truncated("AUTHOR_KEY_DIGEST");
  if (!ReadArray(reader, report.report_id)) return Truncated("REPORT_ID");
  if (!ReadArray(reader, report.report_id_ma)) return Truncated("REPORT_ID_MA");
  if (!reader.ReadU64Le(&report.reported_tcb)) return Truncated("REPORTED_TCB");
  // 0x188: CPUID (v3+) and reserved bytes up to CHIP_ID at 0x1A0.
  size_t reserved = 0x1A0 - 0x188;
  if (report.version >= 3) {
    SnpCpuid cpuid;
    if (!reader.ReadU8(&cpuid.family_id) || !reader.ReadU8(&cpuid.model_id) ||
        !reader.ReadU8(&cpuid.stepping)) {
      return Truncated("CPUID");
    }
    report.cpuid = cpuid;
    reserved -= 3;
  }
  if (!reader.Skip(reserved)) return Truncated("reserved 0x18B");
  if (!ReadArray(reader, report.chip_id)) return Truncated("CHIP_ID");
  if (!reader.ReadU64Le(&report.committed_tcb)) return Truncated("COMMITTED_TCB");
  uint8_t unused = 0;
  if (!reader.ReadU8(&report.current_version.build) ||
      !reader.ReadU8(&report.current_version.minor) ||
      !reader.ReadU8(&report.current_version.major) || !reader.ReadU8(&unused)) {
    return Truncated("CURRENT_BUILD/MINOR/MAJOR");
  }
  if (!reader.ReadU8(&report.committed_version.build) ||
      !reader.ReadU8(&report.committed_version.minor) ||
      !reader.ReadU8(&report.committed_version.major) || !reader.ReadU8(&unused)) {
    return Truncated("COMMITTED_BUILD/MINOR/MAJOR");
  }
  if (!reader.ReadU64Le(&report.launch_tcb)) return Truncated("LAUNCH_TCB");
  reserved = kSignedLength - 0x1F8;
  if (report.version >= 5) {
    uint64_t launch_mit = 0, current_mit = 0;
    if (!reader.ReadU64Le(&launch_mit)) return Truncated("LAUNCH_MIT_VECTOR");
    if (!reader.ReadU64Le(&current_mit)) return Truncated("CURRENT_MIT_VECTOR");
    report.launch_mit_vector = launch_mit;
    report.current_mit_vector = current_mit;
    reserved -= 16;
  }
  if (!reader.Skip(reserved)) return Truncated("reserved before SIGNATURE");
  OPENPCC_RETURN_IF_ERROR(ReadSignatureComponent(reader, "R", report.signature_r));
  OPENPCC_RETURN_IF_ERROR(ReadSignatureComponent(reader, "S", report.signature_s));
  // The rest of the 512-byte SIGNATURE field is reserved; the length check above covers it.
  report.signed_bytes = ToBytes(bytes.first(kSignedLength));
  return report;
}

Result<Bytes> DecodeReportBytes(ByteView raw_or_hex) {
  // A binary report starts with its little-endian VERSION (02 00 00 00 ...), an HCL report with
  // "HCLA"; neither is all hex digits, so text made only of hex digits and whitespace is hex.
  std::string hex;
  hex.reserve(raw_or_hex.size());
  for (uint8_t c : raw_or_hex) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit) return ToBytes(raw_or_hex);
    hex.push_back(static_cast<char>(c));
  }
  if (hex.empty()) return Error(ErrorCode::kMalformed, "sev-snp: report: empty input");
  Result<Bytes> decoded = HexDecode(hex);
  if (!decoded.ok()) return Error(ErrorCode::kMalformed, "sev-snp: report: hex text of odd length");
  return decoded;
}

}  // namespace openpcc::attest::snp
