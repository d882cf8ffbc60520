#include "openpcc/attest/sim/verify.h"

#include <cstdio>

#include <openssl/x509v3.h>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/signature.h"

namespace openpcc::attest::sim {
namespace {

Error Refused(ErrorCode code, std::string_view message) {
  return Error(code, "sim: " + std::string(message));
}

std::string Hex64(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

bool IsP384(const EVP_PKEY* key) {
  char group[32] = {};
  size_t length = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &length) == 1 &&
         std::string_view(group, length) == "secp384r1";
}

}  // namespace

boost::json::object SimClaims::ToJson() const {
  return boost::json::object{
      {"type", "sim"},
      {"simulated", true},
      {"version", report.version},
      {"measurement", HexEncode(report.measurement)},
      {"report_data", HexEncode(report.report_data)},
      {"chip_id", HexEncode(report.chip_id)},
      {"report_id", HexEncode(report.report_id)},
      {"policy", {{"raw", Hex64(report.policy.raw)},
                  {"debug", report.policy.debug},
                  {"migrate_ma", report.policy.migrate_ma},
                  {"smt", report.policy.smt}}},
      {"vmpl", report.vmpl},
      {"root_subject", root_subject},
      {"vek_subject", vek_subject}};
}

Result<SimClaims> VerifySimEvidence(ByteView report_bytes, ByteView vek_bytes,
                                    std::span<const crypto::Certificate> sim_roots,
                                    std::chrono::sys_seconds at) {
  if (sim_roots.empty()) {
    return Refused(ErrorCode::kFailedPrecondition,
                   "no sim root is configured, so simulated evidence is refused");
  }
  Result<Bytes> raw = snp::DecodeReportBytes(report_bytes);
  if (!raw.ok()) return Refused(raw.error().code(), "report: " + raw.error().message());
  Result<snp::SnpReport> parsed = snp::ParseSnpReport(raw.value());
  if (!parsed.ok()) return Refused(parsed.error().code(), "report: " + parsed.error().message());
  SimClaims claims;
  claims.report = std::move(parsed.value());
  const snp::SnpReport& r = claims.report;
  if (r.signature_algo != snp::kSignatureAlgoEcdsaP384Sha384) {
    return Refused(ErrorCode::kUnsupported, "report: SIGNATURE_ALGO " + std::to_string(r.signature_algo) +
                                                " is not ECDSA P-384 with SHA-384 (1)");
  }
  if (r.signing_key() != snp::SnpSigningKey::kVcek) {
    return Refused(ErrorCode::kUnsupported, "report: SIGNING_KEY is not the sim VEK (0)");
  }

  Result<crypto::Certificate> vek = crypto::Certificate::ParseOne(vek_bytes);
  if (!vek.ok()) return Refused(ErrorCode::kMalformed, "VEK: " + vek.error().message());
  if (!IsP384(vek->PublicKey())) return Refused(ErrorCode::kUnsupported, "VEK: not a P-384 key");
  std::vector<crypto::Certificate> roots(sim_roots.begin(), sim_roots.end());
  crypto::ChainPolicy chain_policy;
  chain_policy.at = at;
  Status chain = crypto::VerifyChain("sim VEK", vek.value(), {}, roots, chain_policy);
  if (!chain.ok()) {
    return Refused(ErrorCode::kAuthenticationFailed,
                   "VEK is not certified by a configured sim root: " + chain.error().message());
  }
  for (const crypto::Certificate& root : sim_roots) {
    if (X509_check_issued(root.get(), vek->get()) == X509_V_OK) {
      claims.root_subject = root.Subject();
      break;
    }
  }
  claims.vek_subject = vek->Subject();

  Status signature = crypto::VerifyEcdsaRaw("report signature", vek->PublicKey(), crypto::HashId::kSha384,
                                            r.signed_bytes, r.signature_r, r.signature_s);
  if (!signature.ok()) return Refused(ErrorCode::kAuthenticationFailed, signature.error().message());

  if (r.policy.debug) return Refused(ErrorCode::kFailedPrecondition, "policy: DEBUG is set");
  if (r.policy.migrate_ma) return Refused(ErrorCode::kFailedPrecondition, "policy: MIGRATE_MA is set");
  if (r.vmpl != 0) {
    return Refused(ErrorCode::kFailedPrecondition,
                   "policy: VMPL " + std::to_string(r.vmpl) + " is not the expected 0");
  }
  return claims;
}

}  // namespace openpcc::attest::sim
