// attest/nvgpu/spdm.h — NVIDIA GPU attestation reports: SPDM 1.1 GET_MEASUREMENTS evidence.
//
// An NVIDIA GPU (Hopper, Blackwell) in confidential-computing mode answers a GET_MEASUREMENTS
// request with a MEASUREMENTS response signed by its device identity key. The "attestation report"
// is the request (37 bytes) followed by the response:
//
//   request:  version(0x11) code(0xE0) attributes index nonce[32] slot_id
//   response: version code(0x60) param1 param2 block_count record_length(u24 LE)
//             blocks (DMTF: index spec size(u16 LE) | value_type value_size(u16 LE) value)
//             nonce[32] opaque_length(u16 LE) opaque (NVIDIA TLVs: type u16 LE, length u16 LE,
//             value) signature[96] (ECDSA P-384, r||s big-endian)
//
// The signature covers SHA-384(request || response without the signature). Parsing here checks
// structure only (lengths, versions, codes, block format, duplicate indices and TLV types) and
// does no crypto; attest/nvgpu/verifier.h checks the signature and everything the bytes claim.
// Nothing here is trusted until the verifier has checked the signature.
//
// Bytes after the signature are tolerated (up to kMaxTrailingBytes) and reported: they are not
// signed, so they cannot change a verified claim, and real evidence carries them (a CoCo CI run
// appended one byte).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::nvgpu {

inline constexpr size_t kSpdmNonceLength = 32;
inline constexpr size_t kSpdmRequestLength = 37;
inline constexpr size_t kSpdmSignatureLength = 96;  // P-384 r || s
inline constexpr size_t kMaxTrailingBytes = 64;
// Largest evidence accepted, hex or raw: a MEASUREMENTS response with 255 blocks of SHA-512 and a
// full opaque field is far below this.
inline constexpr size_t kMaxReportLength = 256 * 1024;

// NVIDIA's opaque-data field ids (as NVIDIA's verifiers number them).
enum class OpaqueField : uint16_t {
  kCertIssuerName = 1,
  kCertAuthorityKeyIdentifier = 2,
  kDriverVersion = 3,
  kGpuInfo = 4,
  kSku = 5,
  kVbiosVersion = 6,
  kManufacturerId = 7,
  kTamperDetection = 8,
  kSmc = 9,
  kVpr = 10,
  kNvdec0Status = 11,
  kMeasurementCount = 12,
  kCprInfo = 13,
  kBoardId = 14,
  kChipSku = 15,
  kChipSkuMod = 16,
  kProject = 17,
  kProjectSku = 18,
  kProjectSkuMod = 19,
  kFwid = 20,
  kProtectedPcieStatus = 21,
  kSwitchPdi = 22,
  kFloorsweptPorts = 23,
  kPositionId = 24,
  kLockSwitchStatus = 25,
  kGpuLinkConn = 32,
  kSysEnableStatus = 33,
  kOpaqueDataVersion = 34,
  kChipInfo = 35,
  kFeatureFlag = 36,
};
// "driver_version" etc. for known ids, "type_<n>" otherwise.
std::string OpaqueFieldName(uint16_t type);

// NVDEC0 status bytes: the engine's measurement (index 35 in RIM numbering) is meaningful only
// when it is enabled.
inline constexpr uint8_t kNvdecEnabled = 0xAA;
inline constexpr uint8_t kNvdecDisabled = 0x55;

// The GPU's confidential-computing feature mode (opaque FEATURE_FLAG, opaque data version >= 1).
enum class CcFeature : uint8_t { kMultiGpuPassthrough = 0, kSingleGpuPassthrough = 1, kProtectedPcie = 2 };
std::string_view CcFeatureName(CcFeature feature);  // "mpt", "spt", "ppcie"

struct MeasurementBlock {
  uint8_t index = 0;       // SPDM index, 1-based
  uint8_t value_type = 0;  // DMTFSpecMeasurementValueType (bit 7: raw bit stream)
  Bytes value;
};

class OpaqueData {
 public:
  // NVIDIA TLVs; a truncated TLV or a repeated type is malformed.
  static Result<OpaqueData> Parse(ByteView bytes);

  const std::map<uint16_t, Bytes>& fields() const { return fields_; }
  std::optional<ByteView> Get(OpaqueField field) const;

  // Typed views; each fails naming the field when it is absent or not in NVIDIA's encoding.
  Result<std::string> DriverVersion() const;  // "550.90.07"
  Result<std::string> VbiosVersion() const;   // "96.00.9f.00.01" (lower case)
  Result<std::string> Project() const;        // "1010"
  Result<std::string> ProjectSku() const;     // "0200"
  Result<std::string> ChipSku() const;        // "882"
  Result<uint8_t> Nvdec0Status() const;
  // Nullopt when the report has no FEATURE_FLAG (opaque data version 0 or absent).
  Result<std::optional<CcFeature>> Feature() const;
  std::optional<ByteView> Fwid() const { return Get(OpaqueField::kFwid); }

 private:
  Result<std::string> String(OpaqueField field) const;
  std::map<uint16_t, Bytes> fields_;
};

struct SpdmEvidence {
  // Request.
  uint8_t spdm_version = 0;
  uint8_t request_attributes = 0;  // param1; bit 0: signature requested
  uint8_t measurement_index = 0;   // param2; 0xFF: all blocks
  std::array<uint8_t, kSpdmNonceLength> request_nonce{};
  uint8_t slot_id = 0;
  // Response.
  uint8_t response_param1 = 0;
  uint8_t response_param2 = 0;
  uint32_t record_length = 0;
  std::vector<MeasurementBlock> blocks;  // in report order
  std::array<uint8_t, kSpdmNonceLength> response_nonce{};
  Bytes opaque_bytes;
  OpaqueData opaque;
  std::array<uint8_t, kSpdmSignatureLength> signature{};
  // request || response up to (not including) the signature: what the device signed.
  Bytes signed_bytes;
  size_t trailing_bytes = 0;

  const MeasurementBlock* Block(uint8_t index) const;
};

// Raw report bytes.
Result<SpdmEvidence> ParseSpdmEvidence(ByteView report);

// The report as NVIDIA's tools write it (hex text, whitespace allowed anywhere) or raw bytes:
// text made only of hex digits and whitespace is decoded, anything else is taken as raw.
Result<Bytes> DecodeReport(ByteView hex_or_raw);

}  // namespace openpcc::attest::nvgpu
