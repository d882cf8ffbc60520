#include "openpcc/attest/tdx/verify.h"

#include <algorithm>
#include <cstdlib>

#include <boost/json.hpp>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/signature.h"

namespace openpcc::attest::tdx {
namespace {

constexpr std::string_view kIntelSgxRootPem = R"(-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
)";

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  return HexEncode(bytes);
}

Result<crypto::Crl> ParseCrl(std::string_view what, ByteView bytes) {
  Result<crypto::Crl> crl = crypto::Crl::ParseOne(bytes);
  if (!crl.ok()) return Error(ErrorCode::kMalformed, std::string(what) + ": " + crl.error().message());
  return crl;
}

}  // namespace

std::span<const crypto::Certificate> IntelSgxRoots() {
  static const std::vector<crypto::Certificate> roots = [] {
    Result<std::vector<crypto::Certificate>> parsed =
        crypto::Certificate::ParseAll(AsBytes(kIntelSgxRootPem));
    if (!parsed.ok()) std::abort();  // a constant of this file
    return std::move(parsed).value();
  }();
  return roots;
}

namespace {

// Steps 2–5, with the PCK CRL and its issuer chain (empty: not given) already parsed.
Result<PckExtensions> VerifyQuoteSignaturesParsed(const Quote& quote, std::chrono::sys_seconds at,
                                                  std::span<const crypto::Certificate> roots,
                                                  const std::vector<crypto::Crl>& crls,
                                                  const crypto::Crl* pck_crl,
                                                  std::span<const crypto::Certificate> pck_crl_chain) {
  // 2. PCK chain to the pinned root, with CRLs.
  Result<std::vector<crypto::Certificate>> pck_chain =
      crypto::Certificate::ParseAll(quote.pck_chain_pem);
  if (!pck_chain.ok()) {
    return Error(ErrorCode::kMalformed, "tdx: PCK certificate chain in the quote: " +
                                            pck_chain.error().message());
  }
  const crypto::Certificate& pck = pck_chain->front();
  std::vector<crypto::Crl> pck_crls = crls;
  if (pck_crl != nullptr) {
    if (pck_crl->Issuer() != pck.Issuer()) {
      return Error(ErrorCode::kFailedPrecondition, "tdx: PCK CRL is issued by \"" +
                                                       pck_crl->Issuer() +
                                                       "\", not by the PCK's issuer \"" +
                                                       pck.Issuer() + "\"");
    }
    if (!pck_crl_chain.empty()) {
      crypto::ChainPolicy policy{at, crls};
      OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain("tdx: PCK CRL issuer chain", pck_crl_chain.front(),
                                                  pck_crl_chain.subspan(1), roots, policy));
      if (pck_crl_chain.front().Subject() != pck_crl->Issuer()) {
        return Error(ErrorCode::kFailedPrecondition,
                     "tdx: PCK CRL issuer chain starts with \"" + pck_crl_chain.front().Subject() +
                         "\", not the CRL's issuer");
      }
    }
    pck_crls.push_back(*pck_crl);
  }
  {
    crypto::ChainPolicy policy{at, pck_crls};
    OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain("tdx: PCK certificate", pck,
                                                std::span(*pck_chain).subspan(1), roots, policy));
  }
  OPENPCC_ASSIGN_OR_RETURN(PckExtensions pck_ext, PckExtensionsOf(pck));

  // 3. The QE report, signed by the PCK key.
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyEcdsaRaw(
      "tdx: QE report signature with the PCK leaf key", pck.PublicKey(), crypto::HashId::kSha256,
      quote.qe_report_raw, ByteView(quote.qe_report_signature).first(32),
      ByteView(quote.qe_report_signature).last(32)));

  // 4. The QE report binds the attestation key.
  Bytes binding = crypto::Sha256(Concat(quote.attestation_key, quote.qe_auth_data));
  binding.resize(64, 0);
  if (!std::equal(binding.begin(), binding.end(), quote.qe_report.report_data.begin())) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: QE report REPORTDATA is not SHA-256(attestation key || QE auth data) || "
                 "zeros: the attestation key is not the QE's");
  }

  // 5. The quote, signed by the attestation key.
  OPENPCC_ASSIGN_OR_RETURN(
      crypto::EvpPkeyPtr attestation_key,
      crypto::EcPublicKeyFromCoordinates(crypto::EcCurve::kP256,
                                         ByteView(quote.attestation_key).first(32),
                                         ByteView(quote.attestation_key).last(32)));
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyEcdsaRaw(
      "tdx: quote signature with the attestation key", attestation_key.get(),
      crypto::HashId::kSha256, quote.signed_region, ByteView(quote.signature).first(32),
      ByteView(quote.signature).last(32)));

  return pck_ext;
}

}  // namespace

Result<PckExtensions> VerifyQuoteSignatures(const Quote& quote, std::chrono::sys_seconds at,
                                            std::span<const crypto::Certificate> roots,
                                            const std::vector<crypto::Crl>& crls,
                                            std::optional<ByteView> pck_crl,
                                            std::optional<ByteView> pck_crl_chain) {
  std::optional<crypto::Crl> crl;
  std::vector<crypto::Certificate> crl_chain;
  if (pck_crl) {
    OPENPCC_ASSIGN_OR_RETURN(crl, ParseCrl("tdx: PCK CRL", *pck_crl));
    if (pck_crl_chain) {
      OPENPCC_ASSIGN_OR_RETURN(crl_chain, ParseIssuerChain(*pck_crl_chain));
    }
  }
  return VerifyQuoteSignaturesParsed(quote, at, roots, crls, crl ? &*crl : nullptr, crl_chain);
}

Result<ParsedTdxCollateral> ParseTdxCollateral(const TdxCollateral& collateral) {
  ParsedTdxCollateral out;
  if (collateral.root_crl) {
    OPENPCC_ASSIGN_OR_RETURN(crypto::Crl root_crl, ParseCrl("tdx: root CRL", *collateral.root_crl));
    out.root_crls.push_back(std::move(root_crl));
  }
  if (collateral.pck_crl) {
    OPENPCC_ASSIGN_OR_RETURN(out.pck_crl, ParseCrl("tdx: PCK CRL", *collateral.pck_crl));
    if (collateral.pck_crl_chain) {
      OPENPCC_ASSIGN_OR_RETURN(out.pck_crl_chain, ParseIssuerChain(*collateral.pck_crl_chain));
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(out.tcb_info_json,
                           ExtractSignedJson(AsChars(collateral.tcb_info), "tcbInfo"));
  OPENPCC_ASSIGN_OR_RETURN(out.tcb_info, ParseTcbInfo(out.tcb_info_json.value));
  OPENPCC_ASSIGN_OR_RETURN(out.tcb_info_chain, ParseIssuerChain(collateral.tcb_info_chain));
  OPENPCC_ASSIGN_OR_RETURN(out.qe_identity_json,
                           ExtractSignedJson(AsChars(collateral.qe_identity), "enclaveIdentity"));
  OPENPCC_ASSIGN_OR_RETURN(out.qe_identity, ParseQeIdentity(out.qe_identity_json.value));
  OPENPCC_ASSIGN_OR_RETURN(out.qe_identity_chain, ParseIssuerChain(collateral.qe_identity_chain));
  return out;
}

Status CheckTcbInfoMatchesPck(const TcbInfo& tcb_info, const PckExtensions& pck_ext) {
  if (tcb_info.fmspc != pck_ext.fmspc) {
    return Error(ErrorCode::kFailedPrecondition,
                 "tdx: TCB info is for FMSPC " + Hex(tcb_info.fmspc) +
                     ", the PCK certificate's FMSPC is " + Hex(pck_ext.fmspc));
  }
  if (tcb_info.pce_id != pck_ext.pce_id) {
    return Error(ErrorCode::kFailedPrecondition,
                 "tdx: TCB info is for PCE-ID " + Hex(tcb_info.pce_id) +
                     ", the PCK certificate's PCE-ID is " + Hex(pck_ext.pce_id));
  }
  return OkStatus();
}

Result<TdxClaims> VerifyTdxQuote(ByteView quote_bytes, const TdxCollateral& collateral,
                                 std::chrono::sys_seconds at,
                                 std::span<const crypto::Certificate> roots) {
  // 1. Structure: the quote, then the collateral.
  OPENPCC_ASSIGN_OR_RETURN(Quote quote, ParseQuote(quote_bytes));
  OPENPCC_ASSIGN_OR_RETURN(ParsedTdxCollateral parsed, ParseTdxCollateral(collateral));
  return VerifyTdxQuote(quote, parsed, at, roots);
}

Result<TdxClaims> VerifyTdxQuote(const Quote& quote, const ParsedTdxCollateral& collateral,
                                 std::chrono::sys_seconds at,
                                 std::span<const crypto::Certificate> roots) {
  const std::vector<crypto::Crl>& crls = collateral.root_crls;
  // 2–5. PCK chain (with the CRLs), QE report, attestation key binding, quote signature.
  OPENPCC_ASSIGN_OR_RETURN(
      PckExtensions pck_ext,
      VerifyQuoteSignaturesParsed(quote, at, roots, crls,
                                  collateral.pck_crl ? &*collateral.pck_crl : nullptr,
                                  collateral.pck_crl_chain));

  // 6. TCB info: for this platform, signed by Intel, current.
  const TcbInfo& tcb_info = collateral.tcb_info;
  OPENPCC_RETURN_IF_ERROR(CheckTcbInfoMatchesPck(tcb_info, pck_ext));
  OPENPCC_RETURN_IF_ERROR(VerifyCollateralSignature("tdx: TCB info", collateral.tcb_info_json,
                                                    collateral.tcb_info_chain, roots, crls, at));
  OPENPCC_RETURN_IF_ERROR(
      CheckCollateralWindow("tdx: TCB info", tcb_info.issue_date, tcb_info.next_update, at));

  // 7. QE identity: signed by Intel, current, and describing this QE.
  const QeIdentity& qe_identity = collateral.qe_identity;
  OPENPCC_RETURN_IF_ERROR(VerifyCollateralSignature("tdx: QE identity", collateral.qe_identity_json,
                                                    collateral.qe_identity_chain, roots, crls, at));
  OPENPCC_RETURN_IF_ERROR(CheckCollateralWindow("tdx: QE identity", qe_identity.issue_date,
                                                qe_identity.next_update, at));
  OPENPCC_ASSIGN_OR_RETURN(TcbStatus qe_status, EvaluateQeIdentity(qe_identity, quote.qe_report));

  // 8. TCB status.
  OPENPCC_ASSIGN_OR_RETURN(TcbEvaluation tcb,
                           EvaluateTdxTcb(tcb_info, pck_ext, quote.body, qe_status));

  TdxClaims claims;
  claims.quote_version = quote.header.version;
  claims.body_type = quote.body_type;
  claims.report = quote.body;
  claims.fmspc = pck_ext.fmspc;
  claims.pce_id = pck_ext.pce_id;
  claims.pce_svn = pck_ext.pce_svn;
  claims.qe_isv_svn = quote.qe_report.isv_svn;
  claims.tcb_evaluation_data_number = tcb_info.tcb_evaluation_data_number;
  claims.tcb = std::move(tcb);
  return claims;
}

Status CheckTdxPolicy(const TdxClaims& claims, const TdxPolicy& policy) {
  const TdReport& r = claims.report;
  if (std::find(policy.accepted_statuses.begin(), policy.accepted_statuses.end(),
                claims.tcb.status) == policy.accepted_statuses.end()) {
    std::string accepted;
    for (TcbStatus s : policy.accepted_statuses) {
      accepted += accepted.empty() ? "" : ", ";
      accepted += TcbStatusName(s);
    }
    return Error(ErrorCode::kFailedPrecondition,
                 "tdx: policy: TCB status " + std::string(TcbStatusName(claims.tcb.status)) +
                     " is not accepted (accepted: " + accepted + ")");
  }
  if (r.td_attributes & kTdAttributeDebug) {
    return Error(ErrorCode::kFailedPrecondition, "tdx: policy: TD attribute DEBUG is set");
  }
  if (policy.require_sept_ve_disable && !(r.td_attributes & kTdAttributeSeptVeDisable)) {
    return Error(ErrorCode::kFailedPrecondition,
                 "tdx: policy: TD attribute SEPT_VE_DISABLE is not set");
  }
  auto expect = [](const char* name, const auto& expected, const auto& actual) -> Status {
    if (expected && *expected != actual) {
      return Error(ErrorCode::kFailedPrecondition, std::string("tdx: policy: ") + name + " " +
                                                       HexEncode(actual) + " (expected " +
                                                       HexEncode(*expected) + ")");
    }
    return OkStatus();
  };
  OPENPCC_RETURN_IF_ERROR(expect("MRCONFIGID", policy.mr_config_id, r.mr_config_id));
  OPENPCC_RETURN_IF_ERROR(expect("MROWNER", policy.mr_owner, r.mr_owner));
  OPENPCC_RETURN_IF_ERROR(expect("MROWNERCONFIG", policy.mr_owner_config, r.mr_owner_config));
  OPENPCC_RETURN_IF_ERROR(expect("REPORTDATA", policy.report_data, r.report_data));
  return OkStatus();
}

Result<TdxClaims> VerifyTdxEvidence(ByteView quote, const TdxCollateral& collateral,
                                    const TdxPolicy& policy, std::chrono::sys_seconds at,
                                    std::span<const crypto::Certificate> roots) {
  OPENPCC_ASSIGN_OR_RETURN(TdxClaims claims, VerifyTdxQuote(quote, collateral, at, roots));
  OPENPCC_RETURN_IF_ERROR(CheckTdxPolicy(claims, policy));
  return claims;
}

boost::json::object TdxClaims::ToJson() const {
  boost::json::object o;
  o["platform"] = "tdx";
  o["quote_version"] = quote_version;
  if (body_type) o["body_type"] = *body_type;
  o["tee_tcb_svn"] = Hex(report.tee_tcb_svn);
  o["mr_seam"] = Hex(report.mr_seam);
  o["mr_signer_seam"] = Hex(report.mr_signer_seam);
  o["seam_attributes"] = Hex(report.seam_attributes_raw);
  o["td_attributes"] = Hex(report.td_attributes_raw);
  o["xfam"] = Hex(report.xfam_raw);
  o["mr_td"] = Hex(report.mr_td);
  o["mr_config_id"] = Hex(report.mr_config_id);
  o["mr_owner"] = Hex(report.mr_owner);
  o["mr_owner_config"] = Hex(report.mr_owner_config);
  boost::json::array rtmrs;
  for (const Mr48& rtmr : report.rtmr) rtmrs.emplace_back(Hex(rtmr));
  o["rtmr"] = std::move(rtmrs);
  o["report_data"] = Hex(report.report_data);
  if (report.tee_tcb_svn2) o["tee_tcb_svn2"] = Hex(*report.tee_tcb_svn2);
  if (report.mr_service_td) o["mr_service_td"] = Hex(*report.mr_service_td);
  o["debug"] = (report.td_attributes & kTdAttributeDebug) != 0;
  o["sept_ve_disable"] = (report.td_attributes & kTdAttributeSeptVeDisable) != 0;
  o["fmspc"] = Hex(fmspc);
  o["pce_id"] = Hex(pce_id);
  o["pce_svn"] = pce_svn;
  o["qe_isv_svn"] = qe_isv_svn;
  o["tcb_evaluation_data_number"] = tcb_evaluation_data_number;
  o["tcb_status"] = TcbStatusName(tcb.status);
  if (tcb.platform_status) o["platform_tcb_status"] = TcbStatusName(*tcb.platform_status);
  if (tcb.platform_tcb_date) o["tcb_date"] = *tcb.platform_tcb_date;
  if (tcb.tdx_module_id) o["tdx_module_id"] = *tcb.tdx_module_id;
  if (tcb.tdx_module_status) o["tdx_module_tcb_status"] = TcbStatusName(*tcb.tdx_module_status);
  o["qe_tcb_status"] = TcbStatusName(tcb.qe_status);
  boost::json::array advisories;
  for (const std::string& id : tcb.advisory_ids) advisories.emplace_back(id);
  o["advisory_ids"] = std::move(advisories);
  return o;
}

}  // namespace openpcc::attest::tdx
