#include "openpcc/attest/nvgpu/spdm.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::nvgpu {
namespace {

constexpr uint8_t kSpdmVersion11 = 0x11;
constexpr uint8_t kGetMeasurements = 0xE0;
constexpr uint8_t kMeasurements = 0x60;
constexpr uint8_t kDmtfMeasurementSpec = 0x01;
constexpr size_t kDmtfHeaderLength = 3;  // value_type u8, value_size u16

Error Truncated(const std::string& field) {
  return Error(ErrorCode::kTruncated, "nvgpu: report: " + field + " is truncated");
}
Error Malformed(const std::string& message) {
  return Error(ErrorCode::kMalformed, "nvgpu: report: " + message);
}

std::string Hex2(uint8_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {kDigits[value >> 4], kDigits[value & 0xF]};
}

bool ReadU24Le(wire::ByteReader& reader, uint32_t* out) {
  std::span<const uint8_t> bytes;
  if (!reader.ReadBytes(3, &bytes)) return false;
  *out = 0;
  for (size_t i = 3; i > 0; --i) *out = (*out << 8) | bytes[i - 1];
  return true;
}

Result<MeasurementBlock> ParseBlock(wire::ByteReader& record, size_t ordinal) {
  std::string where = "measurement block " + std::to_string(ordinal);
  MeasurementBlock block;
  uint8_t spec = 0;
  uint16_t size = 0;
  if (!record.ReadU8(&block.index) || !record.ReadU8(&spec) || !record.ReadU16Le(&size)) {
    return Truncated(where + " header");
  }
  if (block.index == 0 || block.index == 0xFF) {
    return Malformed(where + ": index " + std::to_string(block.index) + " is reserved");
  }
  if (spec != kDmtfMeasurementSpec) {
    return Malformed(where + ": measurement specification 0x" + Hex2(spec) +
                     " is not DMTF (0x01)");
  }
  wire::ByteReader measurement;
  if (!record.ReadChild(size, &measurement)) return Truncated(where);
  uint16_t value_size = 0;
  if (!measurement.ReadU8(&block.value_type) || !measurement.ReadU16Le(&value_size)) {
    return Truncated(where + " DMTF header");
  }
  if (size_t{value_size} + kDmtfHeaderLength != size) {
    return Malformed(where + ": value size " + std::to_string(value_size) +
                     " does not match the block size " + std::to_string(size));
  }
  std::span<const uint8_t> value;
  if (!measurement.ReadBytes(value_size, &value)) return Truncated(where + " value");
  block.value = ToBytes(value);
  return block;
}

bool IsHexText(ByteView bytes) {
  bool any = false;
  for (uint8_t c : bytes) {
    if (std::isxdigit(c) != 0) {
      any = true;
    } else if (std::isspace(c) == 0) {
      return false;
    }
  }
  return any;
}

}  // namespace

std::string OpaqueFieldName(uint16_t type) {
  switch (static_cast<OpaqueField>(type)) {
    case OpaqueField::kCertIssuerName: return "cert_issuer_name";
    case OpaqueField::kCertAuthorityKeyIdentifier: return "cert_authority_key_identifier";
    case OpaqueField::kDriverVersion: return "driver_version";
    case OpaqueField::kGpuInfo: return "gpu_info";
    case OpaqueField::kSku: return "sku";
    case OpaqueField::kVbiosVersion: return "vbios_version";
    case OpaqueField::kManufacturerId: return "manufacturer_id";
    case OpaqueField::kTamperDetection: return "tamper_detection";
    case OpaqueField::kSmc: return "smc";
    case OpaqueField::kVpr: return "vpr";
    case OpaqueField::kNvdec0Status: return "nvdec0_status";
    case OpaqueField::kMeasurementCount: return "measurement_count";
    case OpaqueField::kCprInfo: return "cpr_info";
    case OpaqueField::kBoardId: return "board_id";
    case OpaqueField::kChipSku: return "chip_sku";
    case OpaqueField::kChipSkuMod: return "chip_sku_mod";
    case OpaqueField::kProject: return "project";
    case OpaqueField::kProjectSku: return "project_sku";
    case OpaqueField::kProjectSkuMod: return "project_sku_mod";
    case OpaqueField::kFwid: return "fwid";
    case OpaqueField::kProtectedPcieStatus: return "protected_pcie_status";
    case OpaqueField::kSwitchPdi: return "switch_pdi";
    case OpaqueField::kFloorsweptPorts: return "floorswept_ports";
    case OpaqueField::kPositionId: return "position_id";
    case OpaqueField::kLockSwitchStatus: return "lock_switch_status";
    case OpaqueField::kGpuLinkConn: return "gpu_link_conn";
    case OpaqueField::kSysEnableStatus: return "sys_enable_status";
    case OpaqueField::kOpaqueDataVersion: return "opaque_data_version";
    case OpaqueField::kChipInfo: return "chip_info";
    case OpaqueField::kFeatureFlag: return "feature_flag";
  }
  return "type_" + std::to_string(type);
}

std::string_view CcFeatureName(CcFeature feature) {
  switch (feature) {
    case CcFeature::kMultiGpuPassthrough: return "mpt";
    case CcFeature::kSingleGpuPassthrough: return "spt";
    case CcFeature::kProtectedPcie: return "ppcie";
  }
  return "unknown";
}

Result<OpaqueData> OpaqueData::Parse(ByteView bytes) {
  OpaqueData data;
  wire::ByteReader reader(bytes);
  while (!reader.empty()) {
    uint16_t type = 0;
    uint16_t length = 0;
    if (!reader.ReadU16Le(&type) || !reader.ReadU16Le(&length)) {
      return Truncated("opaque data field header");
    }
    std::span<const uint8_t> value;
    if (!reader.ReadBytes(length, &value)) {
      return Truncated("opaque data field " + OpaqueFieldName(type));
    }
    if (!data.fields_.emplace(type, ToBytes(value)).second) {
      return Malformed("opaque data field " + OpaqueFieldName(type) + " appears twice");
    }
  }
  return data;
}

std::optional<ByteView> OpaqueData::Get(OpaqueField field) const {
  auto it = fields_.find(static_cast<uint16_t>(field));
  if (it == fields_.end()) return std::nullopt;
  return ByteView(it->second);
}

Result<std::string> OpaqueData::String(OpaqueField field) const {
  std::string name = OpaqueFieldName(static_cast<uint16_t>(field));
  std::optional<ByteView> value = Get(field);
  if (!value) return Malformed("opaque data has no " + name);
  // NUL-terminated (and NUL-padded) ASCII.
  ByteView text = *value;
  while (!text.empty() && text.back() == 0) text = text.first(text.size() - 1);
  for (uint8_t c : text) {
    if (c < 0x20 || c > 0x7E) return Malformed("opaque data " + name + " is not printable ASCII");
  }
  return std::string(AsChars(text));
}

Result<std::string> OpaqueData::DriverVersion() const { return String(OpaqueField::kDriverVersion); }
Result<std::string> OpaqueData::Project() const { return String(OpaqueField::kProject); }
Result<std::string> OpaqueData::ProjectSku() const { return String(OpaqueField::kProjectSku); }
Result<std::string> OpaqueData::ChipSku() const { return String(OpaqueField::kChipSku); }

Result<std::string> OpaqueData::VbiosVersion() const {
  std::optional<ByteView> value = Get(OpaqueField::kVbiosVersion);
  if (!value) return Malformed("opaque data has no vbios_version");
  if (value->size() != 8) {
    return Malformed("opaque data vbios_version has " + std::to_string(value->size()) +
                     " bytes, expected 8");
  }
  // A little-endian u64 whose bytes b1..b5 (1-based) NVIDIA renders as b4.b3.b2.b1.b5.
  const ByteView v = *value;
  return Hex2(v[3]) + "." + Hex2(v[2]) + "." + Hex2(v[1]) + "." + Hex2(v[0]) + "." + Hex2(v[4]);
}

Result<uint8_t> OpaqueData::Nvdec0Status() const {
  std::optional<ByteView> value = Get(OpaqueField::kNvdec0Status);
  if (!value) return Malformed("opaque data has no nvdec0_status");
  if (value->size() != 1) return Malformed("opaque data nvdec0_status is not one byte");
  return (*value)[0];
}

Result<std::optional<CcFeature>> OpaqueData::Feature() const {
  uint64_t version = 0;
  if (std::optional<ByteView> v = Get(OpaqueField::kOpaqueDataVersion)) {
    if (v->size() > 8) return Malformed("opaque data opaque_data_version is longer than 8 bytes");
    for (size_t i = v->size(); i > 0; --i) version = (version << 8) | (*v)[i - 1];
  }
  std::optional<ByteView> flag = Get(OpaqueField::kFeatureFlag);
  if (version < 1) {
    // NVIDIA defines FEATURE_FLAG from opaque data version 1 on; before that it is absent.
    if (flag) return Malformed("opaque data has a feature_flag but opaque_data_version 0");
    return std::optional<CcFeature>();
  }
  if (!flag) return Malformed("opaque data version " + std::to_string(version) + " has no feature_flag");
  if (flag->size() > 8) return Malformed("opaque data feature_flag is longer than 8 bytes");
  uint64_t value = 0;
  for (size_t i = flag->size(); i > 0; --i) value = (value << 8) | (*flag)[i - 1];
  if (value > static_cast<uint64_t>(CcFeature::kProtectedPcie)) {
    return Malformed("opaque data feature_flag " + std::to_string(value) + " is not mpt, spt or ppcie");
  }
  return std::optional<CcFeature>(static_cast<CcFeature>(value));
}

const MeasurementBlock* SpdmEvidence::Block(uint8_t index) const {
  for (const MeasurementBlock& block : blocks) {
    if (block.index == index) return &block;
  }
  return nullptr;
}

Result<SpdmEvidence> ParseSpdmEvidence(ByteView report) {
  if (report.size() > kMaxReportLength) {
    return Error(ErrorCode::kOutOfRange, "nvgpu: report: " + std::to_string(report.size()) +
                                             " bytes exceed the limit of " +
                                             std::to_string(kMaxReportLength));
  }
  SpdmEvidence ev;
  wire::ByteReader reader(report);

  // GET_MEASUREMENTS request.
  uint8_t code = 0;
  if (!reader.ReadU8(&ev.spdm_version) || !reader.ReadU8(&code) ||
      !reader.ReadU8(&ev.request_attributes) || !reader.ReadU8(&ev.measurement_index) ||
      !reader.CopyBytes(ev.request_nonce) || !reader.ReadU8(&ev.slot_id)) {
    return Truncated("GET_MEASUREMENTS request");
  }
  if (ev.spdm_version != kSpdmVersion11) {
    return Error(ErrorCode::kUnsupported, "nvgpu: report: request SPDM version 0x" +
                                              Hex2(ev.spdm_version) + " is not 1.1 (0x11)");
  }
  if (code != kGetMeasurements) {
    return Malformed("request code 0x" + Hex2(code) + " is not GET_MEASUREMENTS (0xe0)");
  }
  if ((ev.request_attributes & 0x01) == 0) {
    return Malformed("request attributes 0x" + Hex2(ev.request_attributes) +
                     " do not ask for a signature");
  }

  // MEASUREMENTS response.
  uint8_t response_version = 0;
  uint8_t block_count = 0;
  if (!reader.ReadU8(&response_version) || !reader.ReadU8(&code) ||
      !reader.ReadU8(&ev.response_param1) || !reader.ReadU8(&ev.response_param2) ||
      !reader.ReadU8(&block_count) || !ReadU24Le(reader, &ev.record_length)) {
    return Truncated("MEASUREMENTS response header");
  }
  if (response_version != ev.spdm_version) {
    return Malformed("response SPDM version 0x" + Hex2(response_version) +
                     " differs from the request's");
  }
  if (code != kMeasurements) {
    return Malformed("response code 0x" + Hex2(code) + " is not MEASUREMENTS (0x60)");
  }
  wire::ByteReader record;
  if (!reader.ReadChild(ev.record_length, &record)) return Truncated("measurement record");
  std::set<uint8_t> seen;
  for (size_t i = 0; i < block_count; ++i) {
    OPENPCC_ASSIGN_OR_RETURN(MeasurementBlock block, ParseBlock(record, i));
    if (!seen.insert(block.index).second) {
      return Malformed("measurement index " + std::to_string(block.index) + " appears twice");
    }
    ev.blocks.push_back(std::move(block));
  }
  if (!record.empty()) {
    return Malformed("measurement record has " + std::to_string(record.remaining()) +
                     " bytes after its " + std::to_string(block_count) + " blocks");
  }
  uint16_t opaque_length = 0;
  std::span<const uint8_t> opaque;
  if (!reader.CopyBytes(ev.response_nonce)) return Truncated("response nonce");
  if (!reader.ReadU16Le(&opaque_length)) return Truncated("opaque data length");
  if (!reader.ReadBytes(opaque_length, &opaque)) return Truncated("opaque data");
  ev.opaque_bytes = ToBytes(opaque);
  OPENPCC_ASSIGN_OR_RETURN(ev.opaque, OpaqueData::Parse(opaque));

  const size_t signed_length = report.size() - reader.remaining();
  if (!reader.CopyBytes(ev.signature)) return Truncated("signature");
  ev.trailing_bytes = reader.remaining();
  if (ev.trailing_bytes > kMaxTrailingBytes) {
    return Malformed(std::to_string(ev.trailing_bytes) + " bytes after the signature (at most " +
                     std::to_string(kMaxTrailingBytes) + " tolerated)");
  }
  wire::ByteReader whole(report);
  std::span<const uint8_t> signed_bytes;
  if (!whole.ReadBytes(signed_length, &signed_bytes)) return Truncated("signed region");
  ev.signed_bytes = ToBytes(signed_bytes);
  return ev;
}

Result<Bytes> DecodeReport(ByteView hex_or_raw) {
  // A raw report starts with the SPDM version byte 0x11, which is not a hex digit, so the two
  // forms cannot be confused.
  if (!IsHexText(hex_or_raw)) return ToBytes(hex_or_raw);
  if (hex_or_raw.size() > 2 * kMaxReportLength + 4096) {
    return Error(ErrorCode::kOutOfRange, "nvgpu: report: hex text exceeds the report limit");
  }
  std::string digits;
  digits.reserve(hex_or_raw.size());
  for (uint8_t c : hex_or_raw) {
    if (std::isspace(c) == 0) digits.push_back(static_cast<char>(c));
  }
  Result<Bytes> bytes = HexDecode(digits);
  if (!bytes.ok()) return Malformed("hex text has an odd number of digits");
  return bytes;
}

}  // namespace openpcc::attest::nvgpu
