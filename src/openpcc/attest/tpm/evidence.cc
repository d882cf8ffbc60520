#include "openpcc/attest/tpm/evidence.h"

#include <openssl/evp.h>

#include "openpcc/attest/tpm/hcl.h"
#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::attest::tpm {
namespace {

Status AppendCertificates(const std::vector<Bytes>& files, std::vector<crypto::Certificate>& out) {
  for (const Bytes& file : files) {
    OPENPCC_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> certs,
                             crypto::Certificate::ParseAll(file));
    for (crypto::Certificate& cert : certs) out.push_back(std::move(cert));
  }
  return OkStatus();
}

// A raw RSA signature of exactly the modulus size becomes an RSASSA-SHA256 TPMT_SIGNATURE.
Bytes NormalizeSignature(const Bytes& signature, const AttestationKey& ak) {
  if (ParseSignature(signature).ok() || EVP_PKEY_get_base_id(ak.key()) != EVP_PKEY_RSA ||
      signature.size() != static_cast<size_t>(EVP_PKEY_get_size(ak.key()))) {
    return signature;
  }
  wire::ByteWriter writer;
  writer.WriteU16(alg::kRsassa);
  writer.WriteU16(alg::kSha256);
  if (!writer.WriteU16Prefixed(signature)) return signature;
  return writer.Take();
}

}  // namespace

Result<boost::json::object> VerifyTpmEvidence(const TpmEvidenceInput& input) {
  if (input.ak.has_value() == input.hcl_report.has_value()) {
    return Error(ErrorCode::kInvalidArgument,
                 "tpm: give the AK either as a key (--ak) or by its Azure HCL report (--hcl-report)");
  }
  std::optional<HclReport> hcl;
  std::optional<AttestationKey> ak;
  if (input.hcl_report) {
    OPENPCC_ASSIGN_OR_RETURN(hcl, ParseHclReport(*input.hcl_report));
    OPENPCC_ASSIGN_OR_RETURN(ak, HclAttestationKey(*hcl));
  } else {
    OPENPCC_ASSIGN_OR_RETURN(ak, AttestationKey::Parse(*input.ak));
  }
  QuotePolicy policy;
  policy.expected_nonce = input.nonce;
  if (input.ak_certificate) {
    if (input.roots.empty()) {
      return Error(ErrorCode::kInvalidArgument, "tpm: an AK certificate needs --roots to check it against");
    }
    OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate cert,
                             crypto::Certificate::ParseOne(*input.ak_certificate));
    AkCertificatePolicy cert_policy{std::move(cert), {}, {}, input.at};
    OPENPCC_RETURN_IF_ERROR(AppendCertificates(input.intermediates, cert_policy.intermediates));
    OPENPCC_RETURN_IF_ERROR(AppendCertificates(input.roots, cert_policy.roots));
    policy.ak_certificate = std::move(cert_policy);
  }
  OPENPCC_ASSIGN_OR_RETURN(PcrValues pcrs, ParsePcrValues(input.pcrs));
  OPENPCC_ASSIGN_OR_RETURN(QuoteClaims claims,
                           VerifyQuote(input.quote, NormalizeSignature(input.signature, *ak), pcrs,
                                       *ak, policy));
  boost::json::object out = claims.ToJson();
  if (hcl) {
    OPENPCC_ASSIGN_OR_RETURN(boost::json::object hcl_claims, HclClaimsJson(*hcl));
    hcl_claims["note"] =
        "the AK is bound by the hardware report inside the HCL report; verify that report with "
        "--type sev-snp or --type tdx";
    out["hcl"] = std::move(hcl_claims);
  }
  return out;
}

}  // namespace openpcc::attest::tpm
