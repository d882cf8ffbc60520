#include "openpcc/attest/tpm/hcl.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/signature.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::tpm {
namespace {

constexpr size_t kHeaderSize = 0x20;
constexpr size_t kHwReportSize = 0x4A0;
constexpr size_t kSnpReportSize = 0x4A0;
constexpr size_t kTdReportSize = 1024;
constexpr size_t kSnpReportDataOffset = 0x50;
constexpr size_t kTdReportDataOffset = 0x80;  // in REPORTMACSTRUCT
constexpr size_t kReportDataSize = 64;
constexpr uint32_t kMaxClaims = 64 * 1024;

Error Malformed(std::string message) { return Error(ErrorCode::kMalformed, "tpm: HCL report: " + message); }

Result<Bytes> Base64UrlDecode(std::string_view text, std::string_view what) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  Bytes out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) {
      return Malformed(std::string(what) + " is not base64url");
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(buffer >> bits));
    }
  }
  if (bits >= 6) return Malformed(std::string(what) + " has a dangling base64url character");
  return out;
}

Result<crypto::HashId> ClaimsHash(uint32_t hash_type) {
  switch (hash_type) {
    case 1: return crypto::HashId::kSha256;
    case 2: return crypto::HashId::kSha384;
    case 3: return crypto::HashId::kSha512;
    default:
      return Error(ErrorCode::kUnsupported,
                   "tpm: HCL report: runtime claims hash type " + std::to_string(hash_type) +
                       " is not 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512)");
  }
}

Result<boost::json::object> ParseClaims(const HclReport& report) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(AsChars(report.runtime_claims), ec);
  if (ec || !value.is_object()) return Malformed("runtime claims are not a JSON object");
  return std::move(value.as_object());
}

}  // namespace

Result<HclReport> ParseHclReport(ByteView bytes) {
  wire::ByteReader reader(bytes);
  std::span<const uint8_t> magic;
  if (!reader.ReadBytes(4, &magic)) return Malformed("truncated header");
  if (AsChars(magic) != "HCLA") return Malformed("header does not start with \"HCLA\"");
  if (!reader.Skip(kHeaderSize - 4)) return Malformed("truncated header");
  wire::ByteReader hw;
  if (!reader.ReadChild(kHwReportSize, &hw)) return Malformed("truncated hardware report");
  HclReport report;
  uint32_t data_size = 0, version = 0, claim_size = 0;
  if (!reader.ReadU32Le(&data_size) || !reader.ReadU32Le(&version) ||
      !reader.ReadU32Le(&report.report_type) || !reader.ReadU32Le(&report.hash_type) ||
      !reader.ReadU32Le(&claim_size)) {
    return Malformed("truncated runtime data header");
  }
  if (claim_size > kMaxClaims || data_size != claim_size + 20) {
    return Malformed("runtime data size " + std::to_string(data_size) +
                     " does not equal the 20-byte header plus claim size " +
                     std::to_string(claim_size));
  }
  std::span<const uint8_t> claims;
  if (!reader.ReadBytes(claim_size, &claims)) return Malformed("runtime claims are truncated");
  report.runtime_claims = ToBytes(claims);
  // The report is a fixed-size NV buffer: only zero padding may follow the claims.
  for (uint8_t b : reader.rest()) {
    if (b != 0) return Malformed("non-zero bytes after the runtime claims");
  }
  size_t hw_size = 0, data_offset = 0;
  if (report.report_type == kHclReportTypeSnp) {
    hw_size = kSnpReportSize;
    data_offset = kSnpReportDataOffset;
  } else if (report.report_type == kHclReportTypeTdx) {
    hw_size = kTdReportSize;
    data_offset = kTdReportDataOffset;
  } else {
    return Error(ErrorCode::kUnsupported, "tpm: HCL report: report type " +
                                              std::to_string(report.report_type) +
                                              " is not 2 (SEV-SNP) or 4 (TDX)");
  }
  std::span<const uint8_t> hw_report, report_data;
  wire::ByteReader hw_copy = hw;
  if (!hw.ReadBytes(hw_size, &hw_report) || !hw_copy.Skip(data_offset) ||
      !hw_copy.ReadBytes(kReportDataSize, &report_data)) {
    return Malformed("hardware report is truncated");
  }
  report.hw_report = ToBytes(hw_report);
  report.report_data = ToBytes(report_data);
  return report;
}

Status VerifyHclClaimsBinding(const HclReport& report) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::HashId hash, ClaimsHash(report.hash_type));
  Bytes digest = crypto::Digest(hash, report.runtime_claims);
  if (!std::equal(digest.begin(), digest.end(), report.report_data.begin())) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: HCL report: the hardware report's REPORT_DATA is not the hash of the "
                 "runtime claims");
  }
  return OkStatus();
}

Result<AttestationKey> HclAttestationKey(const HclReport& report) {
  OPENPCC_RETURN_IF_ERROR(VerifyHclClaimsBinding(report));
  OPENPCC_ASSIGN_OR_RETURN(boost::json::object claims, ParseClaims(report));
  const boost::json::value* keys = claims.if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return Malformed("runtime claims have no \"keys\" array");
  for (const boost::json::value& key : keys->as_array()) {
    if (!key.is_object()) continue;
    const boost::json::object& jwk = key.as_object();
    const boost::json::value* kid = jwk.if_contains("kid");
    if (kid == nullptr || !kid->is_string() || kid->as_string() != "HCLAkPub") continue;
    const boost::json::value* kty = jwk.if_contains("kty");
    const boost::json::value* n = jwk.if_contains("n");
    const boost::json::value* e = jwk.if_contains("e");
    if (kty == nullptr || !kty->is_string() || kty->as_string() != "RSA" || n == nullptr ||
        !n->is_string() || e == nullptr || !e->is_string()) {
      return Malformed("HCLAkPub is not an RSA JWK with n and e");
    }
    OPENPCC_ASSIGN_OR_RETURN(Bytes modulus, Base64UrlDecode(n->as_string(), "HCLAkPub n"));
    OPENPCC_ASSIGN_OR_RETURN(Bytes exponent, Base64UrlDecode(e->as_string(), "HCLAkPub e"));
    OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr pkey,
                             crypto::RsaPublicKeyFromModulus(modulus, exponent));
    return AttestationKey::FromKey(std::move(pkey), "azure-hcl-report");
  }
  return Malformed("runtime claims have no HCLAkPub key");
}

Result<boost::json::object> HclClaimsJson(const HclReport& report) {
  OPENPCC_ASSIGN_OR_RETURN(boost::json::object claims, ParseClaims(report));
  boost::json::object out;
  out["report_type"] = report.report_type == kHclReportTypeSnp ? "sev-snp" : "tdx";
  if (const boost::json::value* vm = claims.if_contains("vm-configuration")) {
    out["vm_configuration"] = *vm;
  }
  if (const boost::json::value* user = claims.if_contains("user-data")) out["user_data"] = *user;
  out["claims_sha256"] = HexEncode(crypto::Sha256(report.runtime_claims));
  return out;
}

}  // namespace openpcc::attest::tpm
