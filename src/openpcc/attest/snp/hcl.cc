#include "openpcc/attest/snp/hcl.h"

#include <algorithm>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::snp {
namespace {

using wire::ByteReader;

constexpr uint8_t kMagic[4] = {'H', 'C', 'L', 'A'};
constexpr size_t kHeaderSize = 0x20;
constexpr size_t kHardwareReportArea = 0x4A0;
constexpr size_t kRuntimeHeaderSize = 20;

Error Truncated(std::string_view field) {
  return Error(ErrorCode::kTruncated, "sev-snp: hcl report: " + std::string(field));
}

Error Malformed(std::string message) {
  return Error(ErrorCode::kMalformed, "sev-snp: hcl report: " + std::move(message));
}

}  // namespace

bool LooksLikeHclReport(ByteView bytes) {
  return bytes.size() >= sizeof(kMagic) && std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin());
}

Result<HclReport> ParseHclReport(ByteView bytes) {
  if (!LooksLikeHclReport(bytes)) return Malformed("does not start with \"HCLA\"");
  ByteReader reader(bytes);
  HclReport hcl;
  if (!reader.Skip(sizeof(kMagic))) return Truncated("signature");
  if (!reader.ReadU32Le(&hcl.version)) return Truncated("version");
  if (hcl.version != 1 && hcl.version != 2) {
    return Error(ErrorCode::kUnsupported,
                 "sev-snp: hcl report: header version " + std::to_string(hcl.version) + " is not 1 or 2");
  }
  if (!reader.ReadU32Le(&hcl.report_size)) return Truncated("report_size");
  if (!reader.ReadU32Le(&hcl.request_type)) return Truncated("request_type");
  if (!reader.ReadU32Le(&hcl.status)) return Truncated("status");
  if (!reader.Skip(kHeaderSize - 5 * sizeof(uint32_t))) return Truncated("reserved header bytes");
  if (hcl.report_size > bytes.size()) {
    return Malformed("report_size " + std::to_string(hcl.report_size) + " exceeds the " +
                     std::to_string(bytes.size()) + " bytes given");
  }
  ByteView hardware;
  if (!reader.ReadBytes(kHardwareReportArea, &hardware)) return Truncated("hardware report");
  hcl.hardware_report = ToBytes(hardware);

  uint32_t data_size = 0, variable_size = 0;
  if (!reader.ReadU32Le(&data_size)) return Truncated("runtime data size");
  if (!reader.ReadU32Le(&hcl.runtime_data_version)) return Truncated("runtime data version");
  if (!reader.ReadU32Le(&hcl.report_type)) return Truncated("report_type");
  if (!reader.ReadU32Le(&hcl.hash_type)) return Truncated("hash_type");
  if (!reader.ReadU32Le(&variable_size)) return Truncated("variable_data_size");
  if (hcl.hash_type < 1 || hcl.hash_type > 3) {
    return Error(ErrorCode::kUnsupported, "sev-snp: hcl report: hash_type " +
                                              std::to_string(hcl.hash_type) +
                                              " is not 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512)");
  }
  if (uint64_t{data_size} != kRuntimeHeaderSize + uint64_t{variable_size}) {
    return Malformed("runtime data size " + std::to_string(data_size) +
                     " is not the 20-byte header plus variable_data_size " +
                     std::to_string(variable_size));
  }
  if (uint64_t{hcl.report_size} != kHeaderSize + kHardwareReportArea + uint64_t{data_size}) {
    return Malformed("report_size " + std::to_string(hcl.report_size) +
                     " does not end where the runtime data ends");
  }
  ByteView claims;
  if (!reader.ReadBytes(variable_size, &claims)) return Truncated("runtime claims");
  hcl.runtime_claims = ToBytes(claims);
  // Bytes after report_size: fixed-size NV index padding (see hcl.h); deliberately not read.
  return hcl;
}

Status CheckHclClaimsBinding(const HclReport& hcl, const SnpReport& report) {
  crypto::HashId id = hcl.hash_type == 1   ? crypto::HashId::kSha256
                      : hcl.hash_type == 2 ? crypto::HashId::kSha384
                                           : crypto::HashId::kSha512;
  Bytes digest = crypto::Digest(id, hcl.runtime_claims);
  ByteView prefix = ByteView(report.report_data).first(digest.size());
  if (!crypto::ConstantTimeEqual(prefix, digest)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "sev-snp: hcl report: REPORT_DATA does not begin with the hash of the runtime claims");
  }
  return OkStatus();
}

}  // namespace openpcc::attest::snp
