#include "openpcc/attest/snp/verify.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include <boost/json.hpp>

#include "openpcc/attest/snp/vek.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/crypto/signature.h"

namespace openpcc::attest::snp {
namespace {

Error Rejected(std::string message) {
  return Error(ErrorCode::kAuthenticationFailed, "sev-snp: " + std::move(message));
}

Error Refused(std::string message) {
  return Error(ErrorCode::kFailedPrecondition, "sev-snp: policy: " + std::move(message));
}

std::string Hex64(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

bool AllZero(ByteView bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

bool IsP384Key(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1) return false;
  char group[64] = {};
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1) return false;
  return std::string_view(group, length) == "secp384r1";
}

const SnpRoot* FindRoot(std::span<const SnpRoot> roots, SnpFamily family) {
  for (const SnpRoot& root : roots) {
    if (root.family == family) return &root;
  }
  return nullptr;
}

Status CheckSpl(std::string_view name, const std::optional<uint8_t>& spl,
                std::string_view component, uint8_t reported) {
  if (!spl) {
    return Rejected("VEK certificate has no " + std::string(name) + " extension");
  }
  if (*spl != reported) {
    return Rejected("VEK " + std::string(name) + " " + std::to_string(*spl) +
                    " does not match REPORTED_TCB " + std::string(component) + " " +
                    std::to_string(reported));
  }
  return OkStatus();
}

// Step 4: the certificate speaks for this chip (VCEK) at this TCB.
Status CheckVekBinding(const SnpReport& report, const VekExtensions& ext, const SnpTcb& reported) {
  if (report.signing_key() == SnpSigningKey::kVcek) {
    if (!ext.hwid) return Rejected("VCEK certificate has no hwID extension");
    // Turin VCEKs carry an 8-byte hwID; the report's 64-byte CHIP_ID is that id, zero-padded.
    ByteView chip = report.chip_id;
    bool match = ext.hwid->size() <= chip.size() &&
                 crypto::ConstantTimeEqual(chip.first(ext.hwid->size()), *ext.hwid) &&
                 AllZero(chip.subspan(ext.hwid->size()));
    if (!match) {
      return Rejected(std::string("VCEK hwID does not match the report's CHIP_ID") +
                      (report.mask_chip_id ? " (the report masks CHIP_ID)"
                                           : " (a VCEK of another chip)"));
    }
  }
  OPENPCC_RETURN_IF_ERROR(CheckSpl("blSPL", ext.bl_spl, "bl", reported.bootloader));
  OPENPCC_RETURN_IF_ERROR(CheckSpl("teeSPL", ext.tee_spl, "tee", reported.tee));
  OPENPCC_RETURN_IF_ERROR(CheckSpl("snpSPL", ext.snp_spl, "snp", reported.snp));
  OPENPCC_RETURN_IF_ERROR(CheckSpl("ucodeSPL", ext.ucode_spl, "ucode", reported.microcode));
  // Turin's TCB has an FMC component (DecodeTcb sets it for Turin only): its VEK must certify it,
  // or the report's FMC SPL would go unchecked. Earlier families have none to compare.
  if (reported.fmc) {
    OPENPCC_RETURN_IF_ERROR(CheckSpl("fmcSPL", ext.fmc_spl, "fmc", *reported.fmc));
  }
  return OkStatus();
}

// Steps 1–5.
Result<SnpClaims> Authenticate(const SnpReport& report, const crypto::Certificate& vek,
                               std::span<const crypto::Certificate> intermediates,
                               std::chrono::sys_seconds at, const std::vector<crypto::Crl>& crls,
                               std::span<const SnpRoot> roots) {
  // 1. Algorithm and signing key.
  if (report.signature_algo != kSignatureAlgoEcdsaP384Sha384) {
    return Error(ErrorCode::kUnsupported, "sev-snp: report: SIGNATURE_ALGO " +
                                              std::to_string(report.signature_algo) +
                                              " is not ECDSA P-384 with SHA-384 (1)");
  }
  if (report.signing_key() == SnpSigningKey::kNone) {
    return Rejected("report is not signed (SIGNING_KEY = none)");
  }
  const bool vlek = report.signing_key() == SnpSigningKey::kVlek;
  const std::string key_name(SnpSigningKeyName(report.signing_key()));

  // 2. Family: from the VEK, cross-checked with the report's CPUID.
  OPENPCC_ASSIGN_OR_RETURN(VekExtensions ext, ParseVekExtensions(vek));
  std::optional<SnpFamily> family = SnpFamilyFromProductName(ext.product_name);
  if (!family) {
    return Error(ErrorCode::kUnsupported, "sev-snp: " + key_name + " productName '" +
                                              ext.product_name + "' is not Milan, Genoa or Turin");
  }
  const std::string family_name(SnpFamilyName(*family));
  if (report.cpuid) {
    std::optional<SnpFamily> cpuid_family = report.CpuidFamily();
    if (!cpuid_family) {
      return Error(ErrorCode::kUnsupported,
                   "sev-snp: report CPUID family " + Hex64(report.cpuid->family_id) + " model " +
                       Hex64(report.cpuid->model_id) + " is not a known SEV-SNP product");
    }
    if (*cpuid_family != *family) {
      return Rejected("report CPUID is " + std::string(SnpFamilyName(*cpuid_family)) + " but the " +
                      key_name + " is for " + family_name);
    }
  }
  const SnpRoot* root = FindRoot(roots, *family);
  if (root == nullptr) {
    return Error(ErrorCode::kUnsupported, "sev-snp: no pinned root for " + family_name);
  }

  // 3. Chain to the pinned ARK, and the right intermediate for the key type.
  crypto::ChainPolicy chain_policy{at, crls};
  std::vector<crypto::Certificate> anchor{root->ark};
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain("sev-snp: " + key_name + " chain to ARK-" + family_name,
                                              vek, intermediates, anchor, chain_policy));
  const std::string expected_issuer = (vlek ? "SEV-VLEK-" : "SEV-") + family_name;
  if (vek.IssuerCommonName() != expected_issuer) {
    return Rejected(key_name + " is issued by '" + vek.IssuerCommonName() + "', expected '" +
                    expected_issuer + "'");
  }

  // 4. The key and its binding to this chip and TCB.
  if (!IsP384Key(vek.PublicKey())) return Rejected(key_name + " public key is not ECDSA P-384");
  SnpTcb reported = DecodeTcb(report.reported_tcb, *family);
  OPENPCC_RETURN_IF_ERROR(CheckVekBinding(report, ext, reported));

  // 5. The report signature.
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyEcdsaRaw("sev-snp: report signature with the " + key_name,
                                                 vek.PublicKey(), crypto::HashId::kSha384,
                                                 report.signed_bytes, report.signature_r,
                                                 report.signature_s));

  SnpClaims claims;
  claims.report = report;
  claims.family = *family;
  claims.product_name = ext.product_name;
  claims.reported_tcb = reported;
  claims.current_tcb = DecodeTcb(report.current_tcb, *family);
  claims.committed_tcb = DecodeTcb(report.committed_tcb, *family);
  claims.launch_tcb = DecodeTcb(report.launch_tcb, *family);
  claims.vek_subject = vek.Subject();
  return claims;
}

Status CheckExpected(std::string_view field, ByteView actual, const ExpectedBytes& expected) {
  switch (expected.kind) {
    case ExpectedBytes::Kind::kAny:
      return OkStatus();
    case ExpectedBytes::Kind::kZero:
      if (!AllZero(actual)) return Refused(std::string(field) + " is not zero");
      return OkStatus();
    case ExpectedBytes::Kind::kEqual:
      if (!crypto::ConstantTimeEqual(actual, expected.value)) {
        return Refused(std::string(field) + " is not the expected value");
      }
      return OkStatus();
  }
  return Refused(std::string(field) + ": unknown expectation");
}

Status CheckComponent(std::string_view name, uint8_t actual, uint8_t minimum) {
  if (actual < minimum) {
    return Refused("REPORTED_TCB " + std::string(name) + " " + std::to_string(actual) +
                   " is below the minimum " + std::to_string(minimum));
  }
  return OkStatus();
}

boost::json::object TcbJson(const SnpTcb& tcb) {
  boost::json::object out;
  out["raw"] = Hex64(tcb.raw);
  if (tcb.fmc) out["fmc"] = *tcb.fmc;
  out["bl"] = tcb.bootloader;
  out["tee"] = tcb.tee;
  out["snp"] = tcb.snp;
  out["ucode"] = tcb.microcode;
  return out;
}

boost::json::object VersionJson(const SnpFirmwareVersion& version) {
  return {{"major", version.major}, {"minor", version.minor}, {"build", version.build}};
}

Result<std::vector<crypto::Certificate>> ParseCertificates(ByteView bytes, std::string_view what) {
  Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(bytes);
  if (!certs.ok()) {
    return Error(certs.error().code(), "sev-snp: " + std::string(what) + ": " + certs.error().message());
  }
  return certs;
}

}  // namespace

Status CheckSnpPolicy(const SnpClaims& claims, const SnpPolicy& policy) {
  const SnpReport& report = claims.report;
  if (report.policy.debug && !policy.allow_debug) return Refused("DEBUG is set");
  if (report.policy.migrate_ma && !policy.allow_migrate_ma) return Refused("MIGRATE_MA is set");
  if (!policy.allow_smt) {
    if (report.policy.smt) return Refused("the guest policy allows SMT");
    if (report.platform_info.smt_enabled) return Refused("SMT is enabled on the platform");
  }
  if (policy.vmpl && report.vmpl != *policy.vmpl) {
    return Refused("VMPL " + std::to_string(report.vmpl) + " is not the expected " +
                   std::to_string(*policy.vmpl));
  }
  if (policy.minimum_tcb) {
    const SnpTcb& tcb = claims.reported_tcb;
    const SnpTcb& min = *policy.minimum_tcb;
    if (tcb.fmc && min.fmc) OPENPCC_RETURN_IF_ERROR(CheckComponent("fmc", *tcb.fmc, *min.fmc));
    OPENPCC_RETURN_IF_ERROR(CheckComponent("bl", tcb.bootloader, min.bootloader));
    OPENPCC_RETURN_IF_ERROR(CheckComponent("tee", tcb.tee, min.tee));
    OPENPCC_RETURN_IF_ERROR(CheckComponent("snp", tcb.snp, min.snp));
    OPENPCC_RETURN_IF_ERROR(CheckComponent("ucode", tcb.microcode, min.microcode));
  }
  OPENPCC_RETURN_IF_ERROR(CheckExpected("HOST_DATA", report.host_data, policy.host_data));
  OPENPCC_RETURN_IF_ERROR(CheckExpected("ID_KEY_DIGEST", report.id_key_digest, policy.id_key_digest));
  OPENPCC_RETURN_IF_ERROR(CheckExpected("REPORT_DATA", report.report_data, policy.report_data));
  return OkStatus();
}

Result<SnpClaims> VerifySnpReport(const SnpReport& report, const crypto::Certificate& vek,
                                  std::span<const crypto::Certificate> intermediates,
                                  const SnpVerifyOptions& options) {
  std::span<const SnpRoot> roots = options.roots_for_testing.empty()
                                       ? std::span<const SnpRoot>(PinnedAmdRoots())
                                       : std::span<const SnpRoot>(options.roots_for_testing);
  OPENPCC_ASSIGN_OR_RETURN(SnpClaims claims,
                           Authenticate(report, vek, intermediates, options.at, options.crls, roots));
  OPENPCC_RETURN_IF_ERROR(CheckSnpPolicy(claims, options.policy));
  return claims;
}

Result<SnpClaims> VerifySnpEvidence(ByteView report_bytes, ByteView vek_bytes, ByteView chain_bytes,
                                    std::optional<ByteView> crl, const SnpPolicy& policy,
                                    std::chrono::sys_seconds at,
                                    std::span<const SnpRoot> roots_for_testing) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes decoded, DecodeReportBytes(report_bytes));
  std::optional<HclReport> hcl;
  ByteView hardware_report = decoded;
  if (LooksLikeHclReport(decoded)) {
    OPENPCC_ASSIGN_OR_RETURN(hcl, ParseHclReport(decoded));
    if (hcl->report_type != kHclReportTypeSnp) {
      return Error(ErrorCode::kUnsupported, "sev-snp: hcl report: report_type " +
                                                std::to_string(hcl->report_type) +
                                                " is not SEV-SNP (2)");
    }
    hardware_report = hcl->hardware_report;
  }
  OPENPCC_ASSIGN_OR_RETURN(SnpReport report, ParseSnpReport(hardware_report));

  OPENPCC_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> certs,
                           ParseCertificates(vek_bytes, "VEK certificate"));
  if (!chain_bytes.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> chain,
                             ParseCertificates(chain_bytes, "certificate chain"));
    for (crypto::Certificate& cert : chain) certs.push_back(std::move(cert));
  }
  std::vector<crypto::Crl> crls;
  if (crl) {
    Result<crypto::Crl> parsed = crypto::Crl::ParseOne(*crl);
    if (!parsed.ok()) return Error(parsed.error().code(), "sev-snp: " + parsed.error().message());
    crls.push_back(std::move(parsed).value());
  }

  std::span<const SnpRoot> roots =
      roots_for_testing.empty() ? std::span<const SnpRoot>(PinnedAmdRoots()) : roots_for_testing;
  std::span<const crypto::Certificate> intermediates = std::span(certs).subspan(1);
  OPENPCC_ASSIGN_OR_RETURN(SnpClaims claims,
                           Authenticate(report, certs.front(), intermediates, at, crls, roots));
  if (hcl) {
    OPENPCC_RETURN_IF_ERROR(CheckHclClaimsBinding(*hcl, claims.report));
    claims.hcl = std::move(hcl);
  }
  OPENPCC_RETURN_IF_ERROR(CheckSnpPolicy(claims, policy));
  return claims;
}

boost::json::object SnpClaims::ToJson() const {
  const SnpReport& r = report;
  boost::json::object out;
  out["type"] = "sev-snp";
  out["version"] = r.version;
  out["family"] = SnpFamilyName(family);
  out["product_name"] = product_name;
  out["signing_key"] = SnpSigningKeyName(r.signing_key());
  out["vek_subject"] = vek_subject;
  out["vmpl"] = r.vmpl;
  out["guest_svn"] = r.guest_svn;
  out["policy"] = {
      {"raw", Hex64(r.policy.raw)},
      {"abi_major", r.policy.abi_major},
      {"abi_minor", r.policy.abi_minor},
      {"smt", r.policy.smt},
      {"migrate_ma", r.policy.migrate_ma},
      {"debug", r.policy.debug},
      {"single_socket", r.policy.single_socket},
      {"cxl_allow", r.policy.cxl_allow},
      {"mem_aes_256_xts", r.policy.mem_aes_256_xts},
      {"rapl_dis", r.policy.rapl_dis},
      {"ciphertext_hiding", r.policy.ciphertext_hiding},
      {"page_swap_disable", r.policy.page_swap_disable},
  };
  out["platform_info"] = {
      {"raw", Hex64(r.platform_info.raw)},
      {"smt_enabled", r.platform_info.smt_enabled},
      {"tsme_enabled", r.platform_info.tsme_enabled},
      {"ecc_enabled", r.platform_info.ecc_enabled},
      {"rapl_disabled", r.platform_info.rapl_disabled},
      {"ciphertext_hiding_enabled", r.platform_info.ciphertext_hiding_enabled},
      {"alias_check_complete", r.platform_info.alias_check_complete},
  };
  out["author_key_en"] = r.author_key_en;
  out["mask_chip_id"] = r.mask_chip_id;
  out["measurement"] = HexEncode(r.measurement);
  out["report_data"] = HexEncode(r.report_data);
  out["host_data"] = HexEncode(r.host_data);
  out["id_key_digest"] = HexEncode(r.id_key_digest);
  out["author_key_digest"] = HexEncode(r.author_key_digest);
  out["family_id"] = HexEncode(r.family_id);
  out["image_id"] = HexEncode(r.image_id);
  out["report_id"] = HexEncode(r.report_id);
  out["report_id_ma"] = HexEncode(r.report_id_ma);
  out["chip_id"] = HexEncode(r.chip_id);
  out["reported_tcb"] = TcbJson(reported_tcb);
  out["current_tcb"] = TcbJson(current_tcb);
  out["committed_tcb"] = TcbJson(committed_tcb);
  out["launch_tcb"] = TcbJson(launch_tcb);
  out["current_firmware"] = VersionJson(r.current_version);
  out["committed_firmware"] = VersionJson(r.committed_version);
  if (r.cpuid) {
    out["cpuid"] = {{"family", Hex64(r.cpuid->family_id)},
                    {"model", Hex64(r.cpuid->model_id)},
                    {"stepping", Hex64(r.cpuid->stepping)}};
  }
  if (r.launch_mit_vector) out["launch_mit_vector"] = Hex64(*r.launch_mit_vector);
  if (r.current_mit_vector) out["current_mit_vector"] = Hex64(*r.current_mit_vector);
  if (hcl) {
    boost::json::object h;
    h["version"] = hcl->version;
    h["hash_type"] = hcl->hash_type == 1 ? "sha256" : hcl->hash_type == 2 ? "sha384" : "sha512";
    boost::system::error_code ec;
    boost::json::value runtime = boost::json::parse(AsChars(hcl->runtime_claims), ec);
    // The claims are bound by hash whatever they contain; show them parsed when they are JSON.
    if (ec) {
      h["runtime_claims_hex"] = HexEncode(hcl->runtime_claims);
    } else {
      h["runtime_claims"] = std::move(runtime);
    }
    out["hcl"] = std::move(h);
  }
  return out;
}

}  // namespace openpcc::attest::snp
