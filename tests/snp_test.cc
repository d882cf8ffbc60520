// SEV-SNP: every report in ../shared/vectors verifies to AMD's pinned roots with the values in
// EXPECTED.json; tampered copies are each rejected for their own reason; reports of every version
// and family are constructed here and signed by a test ARK/ASK/VCEK chain made with OpenSSL.
// All times are fixed: no test reads the wall clock.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "openpcc/attest/snp/hcl.h"
#include "openpcc/attest/snp/report.h"
#include "openpcc/attest/snp/roots.h"
#include "openpcc/attest/snp/vek.h"
#include "openpcc/attest/snp/verify.h"
#include "openpcc/crypto/hash.h"
#include "support/test_crl.h"
#include "support/vectors.h"

namespace openpcc::attest::snp {
namespace {

using crypto::Certificate;
using testing::Hex;
using testing::ReadVectorFile;

// Every vector's certificates (and the Milan/Genoa CRLs) are valid at this time.
std::chrono::sys_seconds At(const char* text) { return crypto::ParseUtcTime(text).value(); }
const std::chrono::sys_seconds kVectorTime = At("2025-07-01T00:00:00Z");

Bytes File(std::string_view path) { return ToBytes(ReadVectorFile(path)); }

// Accepts whatever the real vectors carry, so each test can tighten one check.
SnpPolicy Permissive() {
  SnpPolicy policy;
  policy.allow_debug = true;
  policy.vmpl = std::nullopt;
  policy.host_data = ExpectedBytes::Any();
  policy.id_key_digest = ExpectedBytes::Any();
  return policy;
}

struct Vector {
  std::string label, report, vek, chain;
  boost::json::object fields;
};

std::vector<Vector> SnpVectors() {
  boost::json::value all = boost::json::parse(ReadVectorFile("EXPECTED.json"));
  std::vector<Vector> out;
  for (const boost::json::value& entry : all.at("sev_snp").as_array()) {
    const boost::json::object& e = entry.as_object();
    std::string report(e.at("report").as_string());
    // "hcl-report.bin @offset 0x20": the HCL envelope, which VerifySnpEvidence takes whole.
    report = report.substr(0, report.find(" @"));
    out.push_back({std::string(e.at("label").as_string()), report,
                   std::string(e.at("vek").as_string()), std::string(e.at("chain").as_string()),
                   e.at("report_fields").as_object()});
  }
  return out;
}

Result<SnpClaims> VerifyFiles(std::string_view report, std::string_view vek, std::string_view chain,
                              const SnpPolicy& policy, std::chrono::sys_seconds at = kVectorTime,
                              std::optional<Bytes> crl = std::nullopt) {
  std::optional<ByteView> crl_view;
  if (crl) crl_view = ByteView(*crl);
  return VerifySnpEvidence(File(report), File(vek), File(chain), crl_view, policy, at);
}

void ExpectTcb(const SnpTcb& tcb, const boost::json::value& expected, const std::string& label) {
  const boost::json::object& e = expected.as_object();
  EXPECT_EQ(tcb.bootloader, e.at("bl").as_int64()) << label;
  EXPECT_EQ(tcb.tee, e.at("tee").as_int64()) << label;
  EXPECT_EQ(tcb.snp, e.at("snp").as_int64()) << label;
  EXPECT_EQ(tcb.microcode, e.at("ucode").as_int64()) << label;
  EXPECT_EQ(std::stoull(std::string(e.at("raw").as_string()), nullptr, 16), tcb.raw) << label;
}

std::string Message(const Result<SnpClaims>& result) {
  return result.ok() ? "(verified)" : result.error().message();
}

// ---- the real vectors ----------------------------------------------------------------------

TEST(SnpVectorsTest, EveryVectorVerifiesWithExpectedClaims) {
  std::vector<Vector> vectors = SnpVectors();
  ASSERT_EQ(vectors.size(), 7u);
  for (const Vector& v : vectors) {
    Result<SnpClaims> claims = VerifyFiles(v.report, v.vek, v.chain, Permissive());
    ASSERT_TRUE(claims.ok()) << v.label << ": " << claims.error().message();
    const boost::json::object& f = v.fields;
    EXPECT_EQ(claims->report.version, f.at("version").as_int64()) << v.label;
    EXPECT_EQ(SnpSigningKeyName(claims->signing_key()), f.at("signing_key").as_string()) << v.label;
    EXPECT_EQ(claims->report.vmpl, f.at("vmpl").as_int64()) << v.label;
    EXPECT_EQ(HexEncode(claims->measurement()), f.at("measurement").as_string()) << v.label;
    EXPECT_EQ(HexEncode(claims->report_data()), f.at("report_data").as_string()) << v.label;
    EXPECT_EQ(HexEncode(claims->host_data()), f.at("host_data").as_string()) << v.label;
    EXPECT_EQ(HexEncode(claims->chip_id()), f.at("chip_id").as_string()) << v.label;
    EXPECT_EQ(HexEncode(claims->report.id_key_digest), f.at("id_key_digest").as_string()) << v.label;
    EXPECT_EQ(HexEncode(claims->report.report_id), f.at("report_id").as_string()) << v.label;
    EXPECT_EQ(std::stoull(std::string(f.at("policy").as_string()), nullptr, 16),
              claims->report.policy.raw) << v.label;
    EXPECT_EQ(std::stoull(std::string(f.at("platform_info").as_string()), nullptr, 16),
              claims->report.platform_info.raw) << v.label;
    ExpectTcb(claims->reported_tcb, f.at("reported_tcb"), v.label);
    ExpectTcb(claims->current_tcb, f.at("current_tcb"), v.label);
    ExpectTcb(claims->launch_tcb, f.at("launch_tcb"), v.label);
    const SnpFirmwareVersion& fw = claims->report.current_version;
    EXPECT_EQ(std::to_string(fw.major) + "." + std::to_string(fw.minor) + " build " +
                  std::to_string(fw.build),
              f.at("current_fw").as_string()) << v.label;
    if (f.at("cpuid").is_null()) {
      EXPECT_FALSE(claims->report.cpuid.has_value()) << v.label;
    } else {
      ASSERT_TRUE(claims->report.cpuid.has_value()) << v.label;
      const boost::json::array& cpuid = f.at("cpuid").as_array();
      EXPECT_EQ(claims->report.cpuid->family_id, std::stoul(std::string(cpuid[0].as_string()), nullptr, 16));
      EXPECT_EQ(claims->report.cpuid->model_id, std::stoul(std::string(cpuid[1].as_string()), nullptr, 16));
      EXPECT_EQ(claims->report.cpuid->stepping, std::stoul(std::string(cpuid[2].as_string()), nullptr, 16));
    }
    EXPECT_EQ(claims->hcl.has_value(), v.report.find("hcl") != std::string::npos ||
                                           v.report.find("azure") != std::string::npos)
        << v.label;
  }
}

TEST(SnpVectorsTest, FamiliesAndSigningKeys) {
  Result<SnpClaims> milan = VerifyFiles("go-sev-guest/attestation.bin", "go-sev-guest/vcek.testcer",
                                        "go-sev-guest/milan.testcer", Permissive());
  ASSERT_TRUE(milan.ok()) << Message(milan);
  EXPECT_EQ(milan->family, SnpFamily::kMilan);
  EXPECT_EQ(milan->product_name, "Milan-B0");
  Result<SnpClaims> genoa =
      VerifyFiles("trustee/snp/derived/e2e-genoa-report.bin", "trustee/snp/derived/e2e-genoa-vcek.der",
                  "trustee/snp/genoa_ask_ark_asvk.pem", Permissive());
  ASSERT_TRUE(genoa.ok()) << Message(genoa);
  EXPECT_EQ(genoa->family, SnpFamily::kGenoa);
  Result<SnpClaims> vlek = VerifyFiles("trustee/snp/test-vlek-report.bin", "trustee/snp/test-vlek.der",
                                       "trustee/snp/milan_ask_ark_asvk.pem", Permissive());
  ASSERT_TRUE(vlek.ok()) << Message(vlek);
  EXPECT_EQ(vlek->signing_key(), SnpSigningKey::kVlek);
  EXPECT_EQ(vlek->product_name, "Milan");
}

TEST(SnpVectorsTest, AcceptsHexReports) {
  // virtee's report is hex text; the same bytes raw verify too.
  Bytes raw = DecodeReportBytes(File("virtee-sev/report_milan.hex")).value();
  ASSERT_EQ(raw.size(), kReportSize);
  Result<SnpClaims> claims =
      VerifySnpEvidence(raw, File("virtee-sev/vcek_milan.der"), File("virtee-sev/cert_chain_milan"),
                        std::nullopt, Permissive(), kVectorTime);
  ASSERT_TRUE(claims.ok()) << Message(claims);
  EXPECT_EQ(DecodeReportBytes(ToBytes(" 0a0B\n")).value(), (Bytes{0x0a, 0x0b}));
  EXPECT_FALSE(DecodeReportBytes(ToBytes("abc")).ok());
}

TEST(SnpVectorsTest, ParsesTheGceVersion4Report) {
  // GCE's v4 report ships without its VCEK (fetched from KDS online): parse only.
  SnpReport report = ParseSnpReport(File("openpcc/extracted/test_gce_sevsnp_report.bin")).value();
  EXPECT_EQ(report.version, 4u);
  ASSERT_TRUE(report.cpuid.has_value());
  EXPECT_EQ(report.CpuidFamily(), SnpFamily::kMilan);
  EXPECT_EQ(report.current_version.major, 1);
  EXPECT_EQ(report.current_version.minor, 55);
  EXPECT_EQ(report.current_version.build, 31);
  EXPECT_FALSE(report.launch_mit_vector.has_value());
  SnpTcb launch = DecodeTcb(report.launch_tcb, SnpFamily::kMilan);
  EXPECT_EQ(launch.bootloader, 4);
  EXPECT_EQ(launch.snp, 25);
  EXPECT_EQ(launch.microcode, 0xdb);
}

TEST(SnpVectorsTest, DefaultPolicyRefusesWhatTheVectorsCarry) {
  // go-sev-guest's guest was launched with POLICY.DEBUG (0xb0000).
  Result<SnpClaims> debug = VerifyFiles("go-sev-guest/attestation.bin", "go-sev-guest/vcek.testcer",
                                        "go-sev-guest/milan.testcer", SnpPolicy{});
  ASSERT_FALSE(debug.ok());
  EXPECT_EQ(debug.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(debug.error().message(), "sev-snp: policy: DEBUG is set");
  // trustee's report has an ID block (ID_KEY_DIGEST set), which the default requires to be zero.
  Result<SnpClaims> id_key = VerifyFiles("trustee/snp/test-report.bin", "trustee/snp/test-vcek.der",
                                         "trustee/snp/milan_ask_ark_asvk.pem", SnpPolicy{});
  EXPECT_EQ(Message(id_key), "sev-snp: policy: ID_KEY_DIGEST is not zero");
  SnpPolicy with_id = SnpPolicy{};
  with_id.id_key_digest = ExpectedBytes::Equal(
      Hex("0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3"));
  EXPECT_TRUE(VerifyFiles("trustee/snp/test-report.bin", "trustee/snp/test-vcek.der",
                          "trustee/snp/milan_ask_ark_asvk.pem", with_id)
                  .ok());
  // The VLEK report was taken at VMPL 1.
  Result<SnpClaims> vmpl = VerifyFiles("trustee/snp/test-vlek-report.bin", "trustee/snp/test-vlek.der",
                                       "trustee/snp/milan_ask_ark_asvk.pem", SnpPolicy{});
  EXPECT_EQ(Message(vmpl), "sev-snp: policy: VMPL 1 is not the expected 0");
}

// ---- tampered copies of real evidence ------------------------------------------------------

struct GoSevGuest {
  Bytes report = File("go-sev-guest/attestation.bin");
  Bytes vcek = File("go-sev-guest/vcek.testcer");
  Bytes chain = File("go-sev-guest/milan.testcer");

  Result<SnpClaims> Verify(const SnpPolicy& policy = Permissive()) const {
    return VerifySnpEvidence(report, vcek, chain, std::nullopt, policy, kVectorTime);
  }
};

TEST(SnpTamperTest, RejectsFlippedByteInSignedRegion) {
  GoSevGuest e;
  e.report[0x90] ^= 1;  // MEASUREMENT
  Result<SnpClaims> result = e.Verify();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(result.error().message(),
            "sev-snp: report signature with the VCEK: signature does not verify");
}

TEST(SnpTamperTest, RejectsFlippedByteInReportedTcb) {
  GoSevGuest e;
  e.report[0x180] ^= 1;  // REPORTED_TCB boot loader: 2 → 3, no longer what the VCEK certifies
  EXPECT_EQ(Message(e.Verify()), "sev-snp: VEK blSPL 2 does not match REPORTED_TCB bl 3");
}

TEST(SnpTamperTest, RejectsFlippedByteInSignature) {
  GoSevGuest r;
  r.report[0x2A0] ^= 1;  // R, least significant byte
  EXPECT_EQ(Message(r.Verify()), "sev-snp: report signature with the VCEK: signature does not verify");
  GoSevGuest s;
  s.report[0x2A0 + 72 + 10] ^= 0x40;  // S
  EXPECT_EQ(Message(s.Verify()), "sev-snp: report signature with the VCEK: signature does not verify");
  GoSevGuest wide;
  wide.report[0x2A0 + 60] = 1;  // beyond the 48 bytes of a P-384 integer
  EXPECT_EQ(Message(wide.Verify()), "sev-snp: report: signature R exceeds 384 bits");
}

TEST(SnpTamperTest, RefusesVcekOfAnotherChip) {
  GoSevGuest e;
  e.vcek = File("virtee-sev/vcek_milan.der");  // a genuine Milan VCEK, of another chip
  Result<SnpClaims> result = e.Verify();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(result.error().message(),
            "sev-snp: VCEK hwID does not match the report's CHIP_ID (a VCEK of another chip)");
}

TEST(SnpTamperTest, RefusesChainOfAnotherFamily) {
  GoSevGuest e;
  e.chain = File("go-sev-guest/trust/ask_ark_genoa.pem");
  Result<SnpClaims> result = e.Verify();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_NE(Message(result).find("sev-snp: VCEK chain to ARK-Milan: certificate chain: unable to get "
                                 "local issuer certificate"),
            std::string::npos)
      << Message(result);
}

TEST(SnpTamperTest, RefusesReportWhoseCpuidNamesAnotherFamily) {
  // A Genoa report presented with a (genuine) Milan VCEK and chain.
  Result<SnpClaims> result =
      VerifyFiles("trustee/snp/derived/e2e-genoa-report.bin", "go-sev-guest/vcek.testcer",
                  "go-sev-guest/milan.testcer", Permissive());
  EXPECT_EQ(Message(result), "sev-snp: report CPUID is Genoa but the VCEK is for Milan");
}

TEST(SnpTamperTest, RefusesVlekReportWithVcekOrAskChain) {
  // SIGNING_KEY says VLEK, but the certificate is a VCEK (issued by the ASK, not the ASVK).
  Result<SnpClaims> vcek_as_vlek =
      VerifyFiles("trustee/snp/test-vlek-report.bin", "go-sev-guest/vcek.testcer",
                  "trustee/snp/milan_ask_ark_asvk.pem", Permissive());
  EXPECT_EQ(Message(vcek_as_vlek), "sev-snp: VLEK is issued by 'SEV-Milan', expected 'SEV-VLEK-Milan'");
  // The VLEK with a chain lacking the ASVK.
  Result<SnpClaims> no_asvk = VerifyFiles("trustee/snp/test-vlek-report.bin",
                                          "trustee/snp/test-vlek.der", "go-sev-guest/milan.testcer",
                                          Permissive());
  EXPECT_NE(Message(no_asvk).find("sev-snp: VLEK chain to ARK-Milan: certificate chain: unable to get "
                                  "local issuer certificate"),
            std::string::npos)
      << Message(no_asvk);
}

TEST(SnpTamperTest, RefusesMalformedVcekExtensions) {
  // trustee's deliberately broken VCEKs: their hwID is 00 01 02 ..., not this chip's id (and the
  // modified certificates no longer carry AMD's signature).
  for (const char* vcek : {"trustee/snp/test-vcek-invalid-legacy.der", "trustee/snp/test-vcek-invalid-new.der"}) {
    Result<SnpClaims> result = VerifyFiles("trustee/snp/test-report.bin", vcek,
                                           "trustee/snp/milan_ask_ark_asvk.pem", Permissive());
    ASSERT_FALSE(result.ok()) << vcek;
    EXPECT_EQ(result.error().code(), ErrorCode::kAuthenticationFailed) << Message(result);
    EXPECT_NE(Message(result).find("sev-snp: VCEK chain to ARK-Milan: certificate chain: certificate "
                                   "signature failure at depth 0"),
              std::string::npos)
        << Message(result);
    // Both hwID encodings KDS has used parse: raw bytes (legacy) and an OCTET STRING (new).
    VekExtensions ext = ParseVekExtensions(Certificate::ParseOne(File(vcek)).value()).value();
    Bytes counting(64);
    for (size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(ext.hwid, counting) << vcek;
  }
}

TEST(SnpTamperTest, ChecksCrlsAndValidityAtTheGivenTime) {
  Bytes milan_crl = File("openpcc/extracted/test_amd_milan_crl.pem");
  GoSevGuest e;
  EXPECT_TRUE(VerifySnpEvidence(e.report, e.vcek, e.chain, ByteView(milan_crl), Permissive(), kVectorTime).ok());
  // Past the CRL's nextUpdate (2026-05-12); the certificates themselves are still valid.
  Result<SnpClaims> stale = VerifySnpEvidence(e.report, e.vcek, e.chain, ByteView(milan_crl),
                                              Permissive(), At("2026-06-01T00:00:00Z"));
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(Message(stale).find("sev-snp: VCEK chain to ARK-Milan: certificate chain: CRL has expired"),
            std::string::npos)
      << Message(stale);
  Result<SnpClaims> early = VerifySnpEvidence(e.report, e.vcek, e.chain, std::nullopt, Permissive(),
                                              At("2021-01-01T00:00:00Z"));
  EXPECT_NE(Message(early).find("certificate is not yet valid"), std::string::npos) << Message(early);
  // The Genoa CRL works for the Genoa chain.
  Bytes genoa_crl = File("openpcc/extracted/test_amd_genoa_crl.pem");
  EXPECT_TRUE(VerifySnpEvidence(File("trustee/snp/derived/e2e-genoa-report.bin"),
                                File("trustee/snp/derived/e2e-genoa-vcek.der"),
                                File("trustee/snp/genoa_ask_ark_asvk.pem"), ByteView(genoa_crl),
                                Permissive(), kVectorTime)
                  .ok());
  EXPECT_EQ(VerifySnpEvidence(e.report, e.vcek, e.chain, ByteView(e.vcek), Permissive(), kVectorTime)
                .error()
                .message(),
            "sev-snp: crl: not an X.509 CRL in DER or PEM");
}

TEST(SnpTamperTest, PolicyChecksNameTheirCheck) {
  GoSevGuest e;
  SnpPolicy tcb = Permissive();
  tcb.minimum_tcb = SnpTcb{.raw = 0, .bootloader = 2, .tee = 0, .snp = 9, .microcode = 68, .fmc = {}};
  EXPECT_EQ(Message(e.Verify(tcb)), "sev-snp: policy: REPORTED_TCB snp 5 is below the minimum 9");
  tcb.minimum_tcb = SnpTcb{.raw = 0, .bootloader = 2, .tee = 0, .snp = 5, .microcode = 68, .fmc = {}};
  EXPECT_TRUE(e.Verify(tcb).ok());

  SnpPolicy vmpl = Permissive();
  vmpl.vmpl = 2;
  EXPECT_EQ(Message(e.Verify(vmpl)), "sev-snp: policy: VMPL 0 is not the expected 2");

  SnpPolicy host = Permissive();
  host.host_data = ExpectedBytes::Equal(Bytes(32, 0xAA));
  EXPECT_EQ(Message(e.Verify(host)), "sev-snp: policy: HOST_DATA is not the expected value");
  host.host_data = ExpectedBytes::Equal(Bytes(32, 0));
  EXPECT_TRUE(e.Verify(host).ok());

  SnpPolicy data = Permissive();
  Bytes expected(64, 0);
  expected[0] = 1;
  data.report_data = ExpectedBytes::Equal(expected);
  EXPECT_EQ(Message(e.Verify(data)), "sev-snp: policy: REPORT_DATA is not the expected value");
  data.report_data = ExpectedBytes::Equal(Hex("0102030405" + std::string(118, '0')));
  EXPECT_TRUE(e.Verify(data).ok());

  SnpPolicy smt = Permissive();
  smt.allow_smt = false;  // policy 0xb0000 allows SMT
  EXPECT_EQ(Message(e.Verify(smt)), "sev-snp: policy: the guest policy allows SMT");
}

// ---- Azure HCL reports ---------------------------------------------------------------------

TEST(SnpHclTest, ParsesAndBindsRuntimeClaims) {
  for (const char* path : {"openpcc/extracted/test_azure_sevsnp_report.bin", "trustee/az-snp-vtpm/hcl-report.bin"}) {
    Bytes bytes = File(path);
    ASSERT_TRUE(LooksLikeHclReport(bytes));
    HclReport hcl = ParseHclReport(bytes).value();
    EXPECT_EQ(hcl.report_type, kHclReportTypeSnp) << path;
    EXPECT_EQ(hcl.hash_type, 1u) << path;
    EXPECT_EQ(hcl.hardware_report.size(), kReportSize);
    boost::json::value claims = boost::json::parse(AsChars(hcl.runtime_claims));
    EXPECT_EQ(claims.at("keys").as_array()[0].at("kid").as_string(), "HCLAkPub") << path;
    SnpReport report = ParseSnpReport(hcl.hardware_report).value();
    EXPECT_TRUE(CheckHclClaimsBinding(hcl, report).ok()) << path;
    EXPECT_EQ(HexEncode(ByteView(report.report_data).first(32)), HexEncode(crypto::Sha256(hcl.runtime_claims)));
  }
  // The openpcc testdata archive carries the same bytes as base64.
  std::string archive = ReadVectorFile("openpcc/testdata/azure_sevsnp_report.txt");
  EXPECT_NE(archive.find("BEGIN REPORT"), std::string::npos);
}

TEST(SnpHclTest, AzureGenoaVerifiesWithHclClaimsInJson) {
  SnpPolicy policy = Permissive();
  Result<SnpClaims> claims =
      VerifyFiles("openpcc/extracted/test_azure_sevsnp_report.bin", "openpcc/extracted/test_vcek.pem",
                  "openpcc/extracted/test_amd_sev_genoa_root_certs.pem", policy, kVectorTime,
                  File("openpcc/extracted/test_amd_genoa_crl.pem"));
  ASSERT_TRUE(claims.ok()) << Message(claims);
  EXPECT_EQ(claims->family, SnpFamily::kGenoa);
  boost::json::object json = claims->ToJson();
  EXPECT_EQ(json.at("type").as_string(), "sev-snp");
  EXPECT_EQ(json.at("family").as_string(), "Genoa");
  EXPECT_EQ(json.at("reported_tcb").at("ucode").to_number<int64_t>(), 84);
  EXPECT_EQ(json.at("chip_id").as_string(),
            "c70912d8d216bd3f403e97bda2d476924b962752119263a3c8dba9fc40badfc99038d2352aae22520a9003b4262e1cc3136d035b42e4b022b4196f95981a45c6");
  EXPECT_EQ(json.at("hcl").at("hash_type").as_string(), "sha256");
  EXPECT_EQ(json.at("hcl").at("runtime_claims").at("keys").as_array()[0].at("kid").as_string(), "HCLAkPub");
}

TEST(SnpHclTest, RejectsTamperedClaimsAndBrokenEnvelopes) {
  Bytes bytes = File("trustee/az-snp-vtpm/hcl-report.bin");
  Bytes vcek = File("trustee/az-snp-vtpm/vcek.pem");
  Bytes tampered = bytes;
  tampered[0x4D4 + 10] ^= 1;  // inside the claims JSON
  Result<SnpClaims> result =
      VerifySnpEvidence(tampered, vcek, {}, std::nullopt, Permissive(), kVectorTime);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(result.error().message(),
            "sev-snp: hcl report: REPORT_DATA does not begin with the hash of the runtime claims");
  EXPECT_TRUE(VerifySnpEvidence(bytes, vcek, {}, std::nullopt, Permissive(), kVectorTime).ok());

  Bytes truncated(bytes.begin(), bytes.begin() + 0x500);
  EXPECT_EQ(ParseHclReport(truncated).error().message(),
            "sev-snp: hcl report: report_size 2346 exceeds the 1280 bytes given");
  Bytes bad_size = bytes;
  bad_size[0x4C0] ^= 1;  // runtime data size
  EXPECT_NE(ParseHclReport(bad_size).error().message().find("is not the 20-byte header"), std::string::npos);
  Bytes bad_hash = bytes;
  bad_hash[0x4CC] = 9;
  EXPECT_EQ(ParseHclReport(bad_hash).error().code(), ErrorCode::kUnsupported);
  Bytes tdx = bytes;
  tdx[0x4C8] = 4;
  EXPECT_EQ(VerifySnpEvidence(tdx, vcek, {}, std::nullopt, Permissive(), kVectorTime).error().message(),
            "sev-snp: hcl report: report_type 4 is not SEV-SNP (2)");
  EXPECT_EQ(ParseHclReport(ToBytes("HCLB")).error().message(),
            "sev-snp: hcl report: does not start with \"HCLA\"");
}

// ---- the pinned roots ----------------------------------------------------------------------

TEST(SnpRootsTest, PinnedArksAreAmdsSelfSignedRoots) {
  const std::vector<SnpRoot>& roots = PinnedAmdRoots();
  ASSERT_EQ(roots.size(), 3u);
  const std::pair<SnpFamily, const char*> expected[] = {
      {SnpFamily::kMilan, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
      {SnpFamily::kGenoa, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
      {SnpFamily::kTurin, "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"}};
  for (size_t i = 0; i < roots.size(); ++i) {
    EXPECT_EQ(roots[i].family, expected[i].first);
    EXPECT_EQ(HexEncode(crypto::Sha256(roots[i].ark.Der())), expected[i].second);
    EXPECT_EQ(roots[i].ark.SubjectCommonName(), "ARK-" + std::string(SnpFamilyName(roots[i].family)));
    EXPECT_EQ(roots[i].ark.Subject(), roots[i].ark.Issuer());
    // Self-signed: the root verifies as a chain of one to itself.
    std::vector<Certificate> self{roots[i].ark};
    EXPECT_TRUE(crypto::VerifyChain("ark", roots[i].ark, {}, self, {kVectorTime, {}}).ok());
    // And it is the ARK in the vectors' go-sev-guest trust bundles.
    std::string bundle = i == 2 ? "go-sev-guest/trust/ask_ark_turin_vcek.pem"
                                : "go-sev-guest/trust/ask_ark_" +
                                      std::string(i == 0 ? "milan" : "genoa") + ".pem";
    std::vector<Certificate> certs = Certificate::ParseAll(File(bundle)).value();
    EXPECT_EQ(certs.at(1).Der(), roots[i].ark.Der()) << bundle;
  }
  // The Turin chain of the vectors verifies to the pinned Turin root (no Turin report exists).
  Certificate turin_vcek = Certificate::ParseOne(File("virtee-sev/vcek_turin.der")).value();
  std::vector<Certificate> turin_chain = Certificate::ParseAll(File("virtee-sev/cert_chain_turin")).value();
  std::vector<Certificate> turin_root{roots[2].ark};
  EXPECT_TRUE(crypto::VerifyChain("turin", turin_vcek, turin_chain, turin_root, {kVectorTime, {}}).ok());
  VekExtensions ext = ParseVekExtensions(turin_vcek).value();
  EXPECT_EQ(ext.product_name, "Turin");
  EXPECT_EQ(ext.fmc_spl, 0);
  EXPECT_EQ(ext.ucode_spl, 9);
  ASSERT_TRUE(ext.hwid.has_value());
  EXPECT_EQ(ext.hwid->size(), 8u);
}

// ---- constructed reports, signed by a chain made here --------------------------------------

using EvpPkeyPtr = crypto::EvpPkeyPtr;
using X509Ptr = crypto::X509Ptr;

EvpPkeyPtr NewP384Key() { return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")); }

void AddRawExtension(X509* cert, const char* oid, ByteView der_value) {
  ASN1_OBJECT* object = OBJ_txt2obj(oid, 1);
  ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(data, der_value.data(), static_cast<int>(der_value.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, object, 0, data);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(data);
  ASN1_OBJECT_free(object);
}

Bytes DerInteger(uint8_t value) {
  return value >= 0x80 ? Bytes{0x02, 0x02, 0x00, value} : Bytes{0x02, 0x01, value};
}

X509_NAME* TestName(const char* cn) {
  X509_NAME* n = X509_NAME_new();
  X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("OpenPCC test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1,
                             -1, 0);
  return n;
}

Certificate MakeCert(const char* subject_cn, const char* issuer_cn, EVP_PKEY* subject_key,
                     EVP_PKEY* issuer_key, bool ca,
                     const std::vector<std::pair<const char*, Bytes>>& extensions = {},
                     long serial = 1) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  auto name = [](const char* cn) { return TestName(cn); };
  X509_NAME* subject = name(subject_cn);
  X509_NAME* issuer = name(issuer_cn);
  X509_set_subject_name(cert.get(), subject);
  X509_set_issuer_name(cert.get(), issuer);
  X509_NAME_free(subject);
  X509_NAME_free(issuer);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), At("2024-01-01T00:00:00Z").time_since_epoch().count());
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), At("2030-01-01T00:00:00Z").time_since_epoch().count());
  X509_set_pubkey(cert.get(), subject_key);
  if (ca) {
    X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert.get(), bc, -1);
    X509_EXTENSION_free(bc);
  }
  for (const auto& [oid, value] : extensions) AddRawExtension(cert.get(), oid, value);
  EXPECT_GT(X509_sign(cert.get(), issuer_key, EVP_sha384()), 0);
  unsigned char* der = nullptr;
  int length = i2d_X509(cert.get(), &der);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return Certificate::ParseDer(out).value();
}

// A CRL issued by `issuer_cn` with `issuer_key`, valid 2024–2030 (VerifyBuilt's time is 2025-01-01),
// revoking the given serial numbers; DER.
Bytes MakeCrl(const char* issuer_cn, EVP_PKEY* issuer_key, const std::vector<long>& revoked) {
  X509_NAME* issuer = TestName(issuer_cn);
  Bytes der = testing::MakeTestCrl(issuer, issuer_key, revoked, At("2024-06-01T00:00:00Z"),
                                   At("2030-01-01T00:00:00Z"), EVP_sha384());
  X509_NAME_free(issuer);
  return der;
}

// `cert` as PEM, the form a --chain file may carry.
Bytes Pem(const Certificate& cert) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return Bytes(data, data + length);
}

// The test ASK's serial number (the ARK and VCEK have 1), so that a CRL can name it alone.
constexpr long kAskSerial = 2;

// A test ARK → ASK → VCEK for one family, and a report builder signing with the VCEK.
struct TestChain {
  SnpFamily family;
  EvpPkeyPtr ark_key = NewP384Key();
  EvpPkeyPtr ask_key = NewP384Key();
  EvpPkeyPtr vcek_key = NewP384Key();
  Bytes chip_id;
  SnpTcb tcb;
  Certificate ark, ask, vcek;

  explicit TestChain(SnpFamily f, SnpTcb reported = {}, bool vlek = false)
      : family(f),
        chip_id(f == SnpFamily::kTurin ? Bytes{1, 2, 3, 4, 5, 6, 7, 8} : Bytes(64, 0x5c)),
        tcb(reported),
        ark(MakeCert(("ARK-" + Name()).c_str(), ("ARK-" + Name()).c_str(), ark_key.get(), ark_key.get(), true)),
        ask(MakeCert(((vlek ? "SEV-VLEK-" : "SEV-") + Name()).c_str(), ("ARK-" + Name()).c_str(),
                     ask_key.get(), ark_key.get(), true, {}, kAskSerial)),
        vcek(MakeCert(vlek ? "SEV-VLEK" : "SEV-VCEK", ((vlek ? "SEV-VLEK-" : "SEV-") + Name()).c_str(),
                      vcek_key.get(), ask_key.get(), false, Extensions(vlek))) {}

  std::string Name() const { return std::string(SnpFamilyName(family)); }

  std::vector<std::pair<const char*, Bytes>> Extensions(bool vlek) const {
    Bytes product{0x16, static_cast<uint8_t>(Name().size())};
    Append(product, AsBytes(Name()));
    std::vector<std::pair<const char*, Bytes>> ext = {
        {kOidProductName, product},
        {kOidBlSpl, DerInteger(tcb.bootloader)},
        {kOidTeeSpl, DerInteger(tcb.tee)},
        {kOidSnpSpl, DerInteger(tcb.snp)},
        {kOidUcodeSpl, DerInteger(tcb.microcode)}};
    if (tcb.fmc) ext.push_back({kOidFmcSpl, DerInteger(*tcb.fmc)});
    if (!vlek) ext.push_back({kOidHwid, chip_id});
    return ext;
  }

  std::vector<SnpRoot> Roots() const { return {{family, ark}}; }
};

void PutLe(Bytes& report, size_t offset, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) report[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

struct ReportSpec {
  uint32_t version = 2;
  uint64_t policy = 0x30000;
  uint32_t vmpl = 0;
  uint32_t signature_algo = 1;
  uint32_t signing_key = 0;
  std::optional<SnpCpuid> cpuid;
  uint64_t launch_mit = 0, current_mit = 0;
  uint64_t platform_info = 0;
};

Bytes BuildReport(const TestChain& chain, const ReportSpec& spec, EVP_PKEY* signer = nullptr) {
  Bytes r(kReportSize, 0);
  PutLe(r, 0x00, spec.version, 4);
  PutLe(r, 0x04, 7, 4);  // GUEST_SVN
  PutLe(r, 0x08, spec.policy, 8);
  PutLe(r, 0x30, spec.vmpl, 4);
  PutLe(r, 0x34, spec.signature_algo, 4);
  uint64_t tcb = EncodeTcb(chain.tcb, chain.family);
  PutLe(r, 0x38, tcb, 8);
  PutLe(r, 0x40, spec.platform_info, 8);
  PutLe(r, 0x48, spec.signing_key << 2, 4);
  for (size_t i = 0; i < 64; ++i) r[0x50 + i] = static_cast<uint8_t>(i);      // REPORT_DATA
  for (size_t i = 0; i < 48; ++i) r[0x90 + i] = static_cast<uint8_t>(0xA0 + i);  // MEASUREMENT
  PutLe(r, 0x180, tcb, 8);
  if (spec.cpuid) {
    r[0x188] = spec.cpuid->family_id;
    r[0x189] = spec.cpuid->model_id;
    r[0x18A] = spec.cpuid->stepping;
  }
  std::copy(chain.chip_id.begin(), chain.chip_id.end(), r.begin() + 0x1A0);
  PutLe(r, 0x1E0, tcb, 8);
  r[0x1E8] = 4;  // CURRENT build 4, minor 57, major 1
  r[0x1E9] = 57;
  r[0x1EA] = 1;
  PutLe(r, 0x1F0, tcb, 8);
  if (spec.version >= 5) {
    PutLe(r, 0x1F8, spec.launch_mit, 8);
    PutLe(r, 0x200, spec.current_mit, 8);
  }
  EVP_PKEY* key = signer != nullptr ? signer : chain.vcek_key.get();
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key), 1);
  size_t length = 0;
  EVP_DigestSign(ctx.get(), nullptr, &length, r.data(), kSignedLength);
  Bytes der(length);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), der.data(), &length, r.data(), kSignedLength), 1);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
  BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r.data() + 0x2A0, 72);
  BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), r.data() + 0x2A0 + 72, 72);
  ECDSA_SIG_free(sig);
  return r;
}

Result<SnpClaims> VerifyBuilt(const TestChain& chain, ByteView bytes, SnpPolicy policy = {},
                              std::vector<crypto::Crl> crls = {}) {
  OPENPCC_ASSIGN_OR_RETURN(SnpReport report, ParseSnpReport(bytes));
  SnpVerifyOptions options;
  options.at = At("2025-01-01T00:00:00Z");
  options.crls = std::move(crls);
  options.policy = std::move(policy);
  options.roots_for_testing = chain.Roots();
  std::vector<Certificate> intermediates{chain.ask, chain.ark};
  return VerifySnpReport(report, chain.vcek, intermediates, options);
}

const SnpTcb kMilanTcb{.raw = 0, .bootloader = 4, .tee = 0, .snp = 24, .microcode = 217, .fmc = {}};
const SnpTcb kTurinTcb{.raw = 0, .bootloader = 1, .tee = 2, .snp = 3, .microcode = 9, .fmc = 5};
const SnpCpuid kMilanCpuid{0x19, 0x01, 0x01};
const SnpCpuid kTurinCpuid{0x1A, 0x02, 0x00};

TEST(SnpConstructedTest, VerifiesEveryVersionOnMilan) {
  TestChain chain(SnpFamily::kMilan, kMilanTcb);
  for (uint32_t version : {2u, 3u, 4u, 5u}) {
    ReportSpec spec;
    spec.version = version;
    if (version >= 3) spec.cpuid = kMilanCpuid;
    spec.launch_mit = 0x11;
    spec.current_mit = 0x33;
    Bytes bytes = BuildReport(chain, spec);
    Result<SnpClaims> claims = VerifyBuilt(chain, bytes);
    ASSERT_TRUE(claims.ok()) << "v" << version << ": " << Message(claims);
    EXPECT_EQ(claims->report.version, version);
    EXPECT_EQ(claims->report.guest_svn, 7u);
    EXPECT_EQ(claims->reported_tcb.snp, 24);
    EXPECT_EQ(claims->reported_tcb.microcode, 217);
    EXPECT_EQ(claims->report.cpuid.has_value(), version >= 3);
    EXPECT_EQ(claims->report.launch_mit_vector, version >= 5 ? std::optional<uint64_t>(0x11) : std::nullopt);
    EXPECT_EQ(claims->report.current_mit_vector, version >= 5 ? std::optional<uint64_t>(0x33) : std::nullopt);
    boost::json::object json = claims->ToJson();
    EXPECT_EQ(json.at("version").to_number<int64_t>(), version);
    EXPECT_EQ(std::string(json.at("measurement").as_string()).substr(0, 4), "a0a1");
    EXPECT_EQ(json.contains("launch_mit_vector"), version >= 5);
    EXPECT_EQ(json.at("current_firmware").at("minor").to_number<int64_t>(), 57);
  }
}

TEST(SnpConstructedTest, DecodesTurinTcbLayout) {
  TestChain chain(SnpFamily::kTurin, kTurinTcb);
  ReportSpec spec;
  spec.version = 3;
  spec.cpuid = kTurinCpuid;
  Bytes bytes = BuildReport(chain, spec);
  // Turin: FMC, BL, TEE, SNP in bytes 0..3, microcode in byte 7.
  EXPECT_EQ(bytes[0x180], 5);
  EXPECT_EQ(bytes[0x181], 1);
  EXPECT_EQ(bytes[0x183], 3);
  EXPECT_EQ(bytes[0x187], 9);
  Result<SnpClaims> claims = VerifyBuilt(chain, bytes);
  ASSERT_TRUE(claims.ok()) << Message(claims);
  EXPECT_EQ(claims->family, SnpFamily::kTurin);
  EXPECT_EQ(claims->reported_tcb, (SnpTcb{.raw = claims->reported_tcb.raw, .bootloader = 1, .tee = 2,
                                          .snp = 3, .microcode = 9, .fmc = 5}));
  EXPECT_EQ(claims->ToJson().at("reported_tcb").at("fmc").to_number<int64_t>(), 5);
  SnpPolicy fmc = SnpPolicy{};
  fmc.minimum_tcb = SnpTcb{.raw = 0, .bootloader = 0, .tee = 0, .snp = 0, .microcode = 0, .fmc = 6};
  EXPECT_EQ(Message(VerifyBuilt(chain, bytes, fmc)), "sev-snp: policy: REPORTED_TCB fmc 5 is below the minimum 6");
  // The same bytes read with the Milan layout would give other values.
  EXPECT_NE(DecodeTcb(claims->reported_tcb.raw, SnpFamily::kMilan).snp, 3);
}

TEST(SnpConstructedTest, TurinFmcMustMatchVcek) {
  TestChain chain(SnpFamily::kTurin, kTurinTcb);
  ReportSpec spec;
  spec.version = 3;
  spec.cpuid = kTurinCpuid;
  Bytes bytes = BuildReport(chain, spec);
  TestChain other_fmc(SnpFamily::kTurin, SnpTcb{.raw = 0, .bootloader = 1, .tee = 2, .snp = 3, .microcode = 9, .fmc = 4});
  // Report says fmc 4 (other chain's TCB), VCEK certifies fmc 5: re-sign with the first VCEK.
  Bytes mixed = BuildReport(other_fmc, spec, chain.vcek_key.get());
  EXPECT_EQ(Message(VerifyBuilt(chain, mixed)), "sev-snp: VEK fmcSPL 5 does not match REPORTED_TCB fmc 4");
}

TEST(SnpConstructedTest, TurinVcekWithoutFmcSplIsRefused) {
  // A Turin report always carries an FMC SPL; a Turin VCEK that does not certify one must not
  // vouch for it (the report's fmc would otherwise go unchecked).
  SnpTcb no_fmc = kTurinTcb;
  no_fmc.fmc.reset();
  TestChain chain(SnpFamily::kTurin, no_fmc);
  ReportSpec spec;
  spec.version = 3;
  spec.cpuid = kTurinCpuid;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, spec))),
            "sev-snp: VEK certificate has no fmcSPL extension");
}

TEST(SnpConstructedTest, RevokedCertificatesAreRefused) {
  TestChain chain(SnpFamily::kMilan, kMilanTcb);
  Bytes report = BuildReport(chain, ReportSpec{});
  auto crl = [](const Bytes& der) { return crypto::Crl::ParseOne(der).value(); };
  // AMD's CRL is signed by the ARK and lists revoked ASKs: one that names another serial passes.
  Bytes other = MakeCrl("ARK-Milan", chain.ark_key.get(), {kAskSerial + 40});
  ASSERT_TRUE(VerifyBuilt(chain, report, {}, {crl(other)}).ok()) << Message(VerifyBuilt(chain, report, {}, {crl(other)}));
  Bytes ask_revoked = MakeCrl("ARK-Milan", chain.ark_key.get(), {kAskSerial});
  EXPECT_EQ(Message(VerifyBuilt(chain, report, {}, {crl(ask_revoked)})),
            "sev-snp: VCEK chain to ARK-Milan: certificate chain: certificate revoked at depth 1 "
            "(CN=SEV-Milan,O=OpenPCC test) evaluated at 2025-01-01T00:00:00Z");
  // A VCEK revoked by its ASK's CRL.
  Bytes vcek_revoked = MakeCrl("SEV-Milan", chain.ask_key.get(), {1});
  EXPECT_EQ(Message(VerifyBuilt(chain, report, {}, {crl(vcek_revoked)})),
            "sev-snp: VCEK chain to ARK-Milan: certificate chain: certificate revoked at depth 0 "
            "(CN=SEV-VCEK,O=OpenPCC test) evaluated at 2025-01-01T00:00:00Z");
  // The same through the bytes entry point, with the CRL as the --crl file would carry it.
  Bytes chain_pem = Concat(Pem(chain.ask), Pem(chain.ark));
  std::vector<SnpRoot> roots = chain.Roots();
  Result<SnpClaims> from_bytes =
      VerifySnpEvidence(report, chain.vcek.Der(), chain_pem, ByteView(ask_revoked), SnpPolicy{},
                        At("2025-01-01T00:00:00Z"), roots);
  EXPECT_NE(Message(from_bytes).find("certificate revoked at depth 1"), std::string::npos)
      << Message(from_bytes);
  // A CRL signed by another key under the ARK's name is not the ARK's.
  EvpPkeyPtr stranger = NewP384Key();
  Bytes forged = MakeCrl("ARK-Milan", stranger.get(), {kAskSerial});
  EXPECT_NE(Message(VerifyBuilt(chain, report, {}, {crl(forged)})).find("CRL signature failure"),
            std::string::npos)
      << Message(VerifyBuilt(chain, report, {}, {crl(forged)}));
}

TEST(SnpConstructedTest, PolicyBitsAreRefusedByName) {
  TestChain chain(SnpFamily::kMilan, kMilanTcb);
  ReportSpec debug;
  debug.policy = 0x30000 | (1u << 19);
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, debug))), "sev-snp: policy: DEBUG is set");
  ReportSpec ma;
  ma.policy = 0x30000 | (1u << 18);
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, ma))), "sev-snp: policy: MIGRATE_MA is set");
  ReportSpec smt;
  smt.policy = 0x20000;  // SMT not allowed by the guest, but the platform has it on
  smt.platform_info = 1;
  SnpPolicy no_smt;
  no_smt.allow_smt = false;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, smt), no_smt)),
            "sev-snp: policy: SMT is enabled on the platform");
  smt.platform_info = 0;
  EXPECT_TRUE(VerifyBuilt(chain, BuildReport(chain, smt), no_smt).ok());
  ReportSpec vmpl;
  vmpl.vmpl = 3;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, vmpl))), "sev-snp: policy: VMPL 3 is not the expected 0");
  SnpPolicy tcb;
  tcb.minimum_tcb = SnpTcb{.raw = 0, .bootloader = 4, .tee = 1, .snp = 0, .microcode = 0, .fmc = {}};
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, ReportSpec{}), tcb)),
            "sev-snp: policy: REPORTED_TCB tee 0 is below the minimum 1");
  SnpClaims decoded = VerifyBuilt(chain, BuildReport(chain, debug), Permissive()).value();
  EXPECT_TRUE(decoded.report.policy.debug);
  EXPECT_TRUE(decoded.report.policy.smt);
  EXPECT_FALSE(decoded.report.policy.migrate_ma);
}

TEST(SnpConstructedTest, RejectsAlgorithmsKeysAndCpuids) {
  TestChain chain(SnpFamily::kMilan, kMilanTcb);
  ReportSpec algo;
  algo.signature_algo = 2;
  Result<SnpClaims> bad_algo = VerifyBuilt(chain, BuildReport(chain, algo));
  EXPECT_EQ(bad_algo.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(Message(bad_algo), "sev-snp: report: SIGNATURE_ALGO 2 is not ECDSA P-384 with SHA-384 (1)");
  ReportSpec none;
  none.signing_key = 7;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, none))),
            "sev-snp: report is not signed (SIGNING_KEY = none)");
  ReportSpec reserved;
  reserved.signing_key = 3;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, reserved))),
            "sev-snp: report: SIGNING_KEY 3 is reserved (expected 0 VCEK, 1 VLEK or 7 none)");
  ReportSpec unknown_cpu;
  unknown_cpu.version = 3;
  unknown_cpu.cpuid = SnpCpuid{0x17, 0x31, 0};
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, unknown_cpu))),
            "sev-snp: report CPUID family 0x17 model 0x31 is not a known SEV-SNP product");
  ReportSpec turin_cpu;
  turin_cpu.version = 5;
  turin_cpu.cpuid = kTurinCpuid;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, turin_cpu))),
            "sev-snp: report CPUID is Turin but the VCEK is for Milan");
  // Signed by a key that is not the VCEK's.
  EvpPkeyPtr stranger = NewP384Key();
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, ReportSpec{}, stranger.get()))),
            "sev-snp: report signature with the VCEK: signature does not verify");
  // Our test root is not AMD's: without roots_for_testing the chain does not verify.
  SnpReport report = ParseSnpReport(BuildReport(chain, ReportSpec{})).value();
  SnpVerifyOptions pinned;
  pinned.at = At("2025-01-01T00:00:00Z");
  std::vector<Certificate> intermediates{chain.ask, chain.ark};
  Result<SnpClaims> untrusted = VerifySnpReport(report, chain.vcek, intermediates, pinned);
  EXPECT_NE(Message(untrusted).find("sev-snp: VCEK chain to ARK-Milan: certificate chain:"), std::string::npos)
      << Message(untrusted);
}

TEST(SnpConstructedTest, VlekChainAndEvidenceEntryPoint) {
  TestChain chain(SnpFamily::kGenoa, kMilanTcb, /*vlek=*/true);
  ReportSpec spec;
  spec.version = 3;
  spec.signing_key = 1;
  spec.cpuid = SnpCpuid{0x19, 0x11, 0x01};
  Bytes bytes = BuildReport(chain, spec);
  ASSERT_TRUE(VerifyBuilt(chain, bytes).ok()) << Message(VerifyBuilt(chain, bytes));
  // Through VerifySnpEvidence, as hex, with the chain as PEM.
  Bytes chain_pem = Concat(Pem(chain.ask), Pem(chain.ark));
  std::vector<SnpRoot> roots = chain.Roots();
  Result<SnpClaims> claims = VerifySnpEvidence(ToBytes(HexEncode(bytes)), chain.vcek.Der(), chain_pem,
                                               std::nullopt, SnpPolicy{}, At("2025-01-01T00:00:00Z"), roots);
  ASSERT_TRUE(claims.ok()) << Message(claims);
  EXPECT_EQ(claims->signing_key(), SnpSigningKey::kVlek);
  EXPECT_EQ(claims->family, SnpFamily::kGenoa);
  // The same report claiming VCEK: the certificate's issuer is the ASVK, not an ASK.
  spec.signing_key = 0;
  EXPECT_EQ(Message(VerifyBuilt(chain, BuildReport(chain, spec))),
            "sev-snp: VCEK is issued by 'SEV-VLEK-Genoa', expected 'SEV-Genoa'");
}

TEST(SnpParseTest, RejectsWrongSizesAndVersions) {
  EXPECT_EQ(ParseSnpReport(Bytes(100, 0)).error().message(), "sev-snp: report: length 100 is not 1184");
  Bytes report = File("go-sev-guest/attestation.bin");
  for (uint32_t version : {0u, 1u, 6u, 0xffffffffu}) {
    Bytes copy = report;
    PutLe(copy, 0, version, 4);
    Result<SnpReport> parsed = ParseSnpReport(copy);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(parsed.error().message(), "sev-snp: report: VERSION " + std::to_string(version) + " is not in [2, 5]");
  }
  SnpReport parsed = ParseSnpReport(report).value();
  EXPECT_EQ(parsed.signed_bytes.size(), kSignedLength);
  EXPECT_EQ(DecodeGuestPolicy(0xb0000).debug, true);
  EXPECT_EQ(DecodeGuestPolicy(0xb0000).migrate_ma, false);
  EXPECT_EQ(DecodePlatformInfo(0x25).alias_check_complete, true);
  EXPECT_EQ(SnpFamilyFromCpuid(0x19, 0xA0), SnpFamily::kGenoa);
  EXPECT_EQ(SnpFamilyFromCpuid(0x19, 0x11), SnpFamily::kGenoa);
  EXPECT_EQ(SnpFamilyFromCpuid(0x1A, 0x11), SnpFamily::kTurin);
  EXPECT_EQ(SnpFamilyFromProductName("Milan-B0"), SnpFamily::kMilan);
  EXPECT_EQ(SnpFamilyFromProductName("Milano"), std::nullopt);
}

}  // namespace
}  // namespace openpcc::attest::snp
