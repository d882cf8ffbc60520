// TPM 2.0 evidence on the shared vectors: GCE vTPM quotes (three banks, with and without a nonce)
// with their AK certificate to Google's root, Azure vTPM quotes with the AK from the HCL report,
// the generic trustee quote with an SPKI AK, and the GCE / Azure AK certificates to their roots.
// Values are those of EXPECTED.json; every tampered copy is refused for its own reason.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/attest/tpm/evidence.h"
#include "openpcc/attest/tpm/hcl.h"
#include "openpcc/attest/tpm/structures.h"
#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/wire/byte_writer.h"
#include "support/vectors.h"

namespace openpcc::attest::tpm {
namespace {

using crypto::Certificate;

std::chrono::sys_seconds At(const char* text) { return crypto::ParseUtcTime(text).value(); }

Bytes Vec(std::string_view path) { return ToBytes(testing::ReadVectorFile(path)); }

std::vector<Certificate> Certs(std::initializer_list<std::string_view> paths) {
  std::vector<Certificate> out;
  for (std::string_view path : paths) {
    std::vector<Certificate> certs = Certificate::ParseAll(Vec(path)).value();
    for (Certificate& c : certs) out.push_back(std::move(c));
  }
  return out;
}

void ExpectError(const Status& status, ErrorCode code, std::string_view needle) {
  ASSERT_FALSE(status.ok()) << "expected failure containing: " << needle;
  EXPECT_EQ(status.error().code(), code) << status.error().message();
  EXPECT_NE(status.error().message().find(needle), std::string::npos) << status.error().message();
}
template <typename T>
void ExpectError(const Result<T>& result, ErrorCode code, std::string_view needle) {
  ASSERT_FALSE(result.ok()) << "expected failure containing: " << needle;
  EXPECT_EQ(result.error().code(), code) << result.error().message();
  EXPECT_NE(result.error().message().find(needle), std::string::npos) << result.error().message();
}

struct GceCase {
  std::string dir;   // extracted/<name>
  std::string bank;  // sha1, sha256, sha384
  std::string nonce_hex;
  std::string pcr_digest;
  std::string pcr0;
  uint64_t clock;
};

// EXPECTED.json "tpm" entries 0-5.
const std::vector<GceCase>& GceCases() {
  static const std::vector<GceCase> cases = {
      {"gce-cos-85-no-nonce", "sha1", "", "fda327d4ba5d5978fe3a23db1a47964050e872639ef5d6a99c123cca39e56d8b",
       "c032c3b51dbb6f96b047421512fd4b4dfde496f3", 8219152461},
      {"gce-cos-85-no-nonce", "sha256", "", "048937cbaaf28af85a5b0c0997e725097a0d94e05fcda104a82ee3fb6b2e1808",
       "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf", 8219152533},
      {"gce-cos-85-no-nonce", "sha384", "", "6c250f48d304517716f4a5a9127bf8762a80b63df783cb724630b180a3a66bea",
       "46ce251b0b5b3da7917c5eb7a72e6e88f8f830445b149937921b095c1fd628db691963861c1153aba9c7097ff1c747f9",
       8219152605},
      {"gce-cos-85-nonce9009", "sha1", "9009", "fda327d4ba5d5978fe3a23db1a47964050e872639ef5d6a99c123cca39e56d8b",
       "c032c3b51dbb6f96b047421512fd4b4dfde496f3", 8219159479},
      {"gce-cos-85-nonce9009", "sha256", "9009", "048937cbaaf28af85a5b0c0997e725097a0d94e05fcda104a82ee3fb6b2e1808",
       "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf", 8219159552},
      {"gce-cos-85-nonce9009", "sha384", "9009", "6c250f48d304517716f4a5a9127bf8762a80b63df783cb724630b180a3a66bea",
       "46ce251b0b5b3da7917c5eb7a72e6e88f8f830445b149937921b095c1fd628db691963861c1153aba9c7097ff1c747f9",
       8219159625},
  };
  return cases;
}

struct GceFiles {
  Bytes attest, signature;
  PcrValues pcrs;
  AttestationKey ak;
  Certificate ak_cert;
};

GceFiles LoadGce(const GceCase& c) {
  std::string base = "go-tpm-tools/extracted/" + c.dir + "/";
  std::string quote = base + "quote_" + c.bank;
  return GceFiles{Vec(quote + ".tpms_attest.bin"), Vec(quote + ".tpmt_signature.bin"),
                  ParsePcrValues(testing::ReadVectorFile(quote + ".pcrs.txt")).value(),
                  AttestationKey::Parse(Vec(base + "ak_pub.tpmt_public.bin")).value(),
                  Certificate::ParseOne(Vec(base + "ak_cert.der")).value()};
}

// Google's old vTPM EK/AK root with its intermediates, at a time inside the AK certificate's
// validity (2021-08-31 .. 2051).
AkCertificatePolicy GcePolicy(const Certificate& ak_cert) {
  return AkCertificatePolicy{ak_cert,
                             Certs({"go-tpm-tools/ca-certs/tpm_ek_intermediate_2.crt",
                                    "go-tpm-tools/ca-certs/tpm_ek_intermediate_3.crt"}),
                             Certs({"go-tpm-tools/ca-certs/tpm_ek_root_1.cer"}),
                             At("2022-06-01T00:00:00Z")};
}

uint16_t BankId(const std::string& bank) {
  return bank == "sha1" ? alg::kSha1 : bank == "sha256" ? alg::kSha256 : alg::kSha384;
}

TEST(TpmStructuresTest, ParsesGceAkPublic) {
  Public pub = ParsePublic(Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/ak_pub.tpmt_public.bin")).value();
  EXPECT_EQ(pub.type, alg::kRsa);
  EXPECT_EQ(pub.name_alg, alg::kSha256);
  EXPECT_EQ(pub.attributes, 0x00050072u);  // fixedTPM fixedParent sensitiveDataOrigin userWithAuth restricted sign
  EXPECT_EQ(pub.scheme, alg::kRsassa);
  EXPECT_EQ(pub.scheme_hash, alg::kSha256);
  EXPECT_EQ(pub.rsa_key_bits, 2048);
  EXPECT_EQ(pub.rsa_modulus.size(), 256u);
  Bytes name = ComputeName(pub).value();
  ASSERT_EQ(name.size(), 34u);
  EXPECT_EQ(name[0], 0x00);
  EXPECT_EQ(name[1], 0x0b);
  // TPM2B_PUBLIC (size-prefixed) parses to the same key.
  wire::ByteWriter sized;
  ASSERT_TRUE(sized.WriteU16Prefixed(pub.encoded));
  EXPECT_EQ(ParsePublicOrSized(sized.view()).value().encoded, pub.encoded);
}

TEST(TpmStructuresTest, ParsesGceQuoteAttest) {
  Attest attest =
      ParseAttest(Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/quote_sha1.tpms_attest.bin")).value();
  EXPECT_EQ(attest.type, kStAttestQuote);
  EXPECT_EQ(HexEncode(attest.extra_data), "9009");
  EXPECT_EQ(attest.clock_info.clock, 8219159479u);
  EXPECT_EQ(attest.firmware_version, 0x2016051100162800u);
  EXPECT_EQ(attest.qualified_signer.size(), 34u);
  ASSERT_TRUE(attest.quote.has_value());
  ASSERT_EQ(attest.quote->selections.size(), 1u);
  EXPECT_EQ(attest.quote->selections[0].hash, alg::kSha1);
  EXPECT_EQ(attest.quote->selections[0].pcrs.size(), 24u);
  EXPECT_EQ(HexEncode(attest.quote->pcr_digest),
            "fda327d4ba5d5978fe3a23db1a47964050e872639ef5d6a99c123cca39e56d8b");
  EXPECT_FALSE(attest.creation.has_value());
}

TEST(TpmStructuresTest, ParsesSignature) {
  Signature sig = ParseSignature(
      Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/quote_sha256.tpmt_signature.bin")).value();
  EXPECT_EQ(sig.sig_alg, alg::kRsassa);
  EXPECT_EQ(sig.hash_alg, alg::kSha256);
  EXPECT_EQ(sig.rsa_signature.size(), 256u);
}

TEST(TpmStructuresTest, RejectsTruncationTrailingBytesAndBadMagic) {
  Bytes attest = Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/quote_sha1.tpms_attest.bin");
  for (size_t cut = 0; cut < attest.size(); ++cut) {
    EXPECT_FALSE(ParseAttest(ByteView(attest).first(cut)).ok()) << cut;
  }
  Bytes trailing = attest;
  trailing.push_back(0);
  ExpectError(ParseAttest(trailing), ErrorCode::kMalformed, "TPMS_ATTEST has 1 trailing bytes");
  Bytes magic = attest;
  magic[0] ^= 1;
  ExpectError(ParseAttest(magic), ErrorCode::kMalformed, "TPM_GENERATED_VALUE");
  Bytes type = attest;
  type[5] = 0x17;  // CERTIFY
  ExpectError(ParseAttest(type), ErrorCode::kUnsupported, "TPMS_ATTEST type 0x8017");
  Bytes pub = Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/ak_pub.tpmt_public.bin");
  for (size_t cut = 0; cut < pub.size(); ++cut) {
    EXPECT_FALSE(ParsePublic(ByteView(pub).first(cut)).ok()) << cut;
  }
  ExpectError(ParseSignature(Bytes{0x00, 0x14, 0x00}), ErrorCode::kTruncated, "TPMT_SIGNATURE hash");
  ExpectError(ParseSignature(Bytes{0x00, 0x05}), ErrorCode::kUnsupported, "hmac");
}

TEST(TpmStructuresTest, PcrListFormat) {
  PcrValues values =
      ParsePcrValues("# comment\n0 " + std::string(64, 'a') + "\nsha384:3 " + std::string(96, 'b') +
                     "\n\n7 " + std::string(40, 'c') + "\n")
          .value();
  EXPECT_EQ(values.at(alg::kSha256).at(0).size(), 32u);
  EXPECT_EQ(values.at(alg::kSha384).at(3).size(), 48u);
  EXPECT_EQ(values.at(alg::kSha1).at(7).size(), 20u);
  ExpectError(ParsePcrValues("0 " + std::string(64, 'a') + "\n0 " + std::string(64, 'b')),
              ErrorCode::kMalformed, "given twice");
  ExpectError(ParsePcrValues("0 abcd"), ErrorCode::kMalformed, "not 20, 32, 48 or 64 bytes");
  ExpectError(ParsePcrValues("sha1:0 " + std::string(64, 'a')), ErrorCode::kMalformed,
              "does not match bank sha1");
  ExpectError(ParsePcrValues("x " + std::string(64, 'a')), ErrorCode::kMalformed, "not a number");
}

// Every GCE quote verifies with the AK, its certificate to Google's root, the nonce and the PCRs,
// and the claims carry EXPECTED.json's values.
TEST(TpmVerifyTest, VerifiesEveryGceQuote) {
  for (const GceCase& c : GceCases()) {
    SCOPED_TRACE(c.dir + " " + c.bank);
    GceFiles files = LoadGce(c);
    QuotePolicy policy;
    policy.expected_nonce = HexDecode(c.nonce_hex).value();
    policy.ak_certificate = GcePolicy(files.ak_cert);
    Result<QuoteClaims> claims = VerifyQuote(files.attest, files.signature, files.pcrs, files.ak, policy);
    ASSERT_TRUE(claims.ok()) << claims.error().message();
    EXPECT_EQ(HexEncode(claims->attest.quote->pcr_digest), c.pcr_digest);
    // The digest is SHA-256 (the AK's scheme hash) over the bank's values, whatever the bank.
    Bytes concatenated;
    for (uint32_t i = 0; i < 24; ++i) Append(concatenated, files.pcrs.at(BankId(c.bank)).at(i));
    EXPECT_EQ(HexEncode(crypto::Sha256(concatenated)), c.pcr_digest);
    EXPECT_EQ(HexEncode(claims->pcrs.at(BankId(c.bank)).at(0)), c.pcr0);
    EXPECT_EQ(claims->attest.clock_info.clock, c.clock);
    EXPECT_TRUE(claims->nonce_checked);
    boost::json::object json = claims->ToJson();
    EXPECT_EQ(json.at("pcrs").at(c.bank).at("0").as_string(), c.pcr0);
    EXPECT_EQ(json.at("extra_data").as_string(), c.nonce_hex);
    EXPECT_EQ(json.at("firmware_version").as_string(), "0x2016051100162800");
    EXPECT_EQ(json.at("clock").at("clock_ms").as_uint64(), c.clock);
    EXPECT_EQ(json.at("signature").at("scheme").as_string(), "rsassa");
    EXPECT_EQ(json.at("ak").at("public").at("attributes").at("restricted").as_bool(), true);
    EXPECT_NE(json.at("ak_certificate").at("issuer").as_string().find("tpm_ek_v1_cloud_host"),
              std::string::npos);
  }
}

class TpmGceTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = std::make_unique<GceFiles>(LoadGce(GceCases()[4]));  // nonce 9009, sha256 bank
    policy_.expected_nonce = Bytes{0x90, 0x09};
    policy_.ak_certificate = GcePolicy(files_->ak_cert);
  }
  Result<QuoteClaims> Verify() {
    return VerifyQuote(files_->attest, files_->signature, files_->pcrs, files_->ak, policy_);
  }
  std::unique_ptr<GceFiles> files_;
  QuotePolicy policy_;
};

TEST_F(TpmGceTamperTest, Untampered) { ASSERT_TRUE(Verify().ok()); }

TEST_F(TpmGceTamperTest, FlippedByteInAttestBreaksTheSignature) {
  files_->attest[0x30] ^= 0x01;  // inside clockInfo
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: quote signature");
}

TEST_F(TpmGceTamperTest, FlippedByteInSignature) {
  files_->signature[100] ^= 0x80;
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: quote signature");
}

TEST_F(TpmGceTamperTest, WrongNonce) {
  policy_.expected_nonce = Bytes{0x90, 0x0a};
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: qualifying data");
}

TEST_F(TpmGceTamperTest, ChangedPcrValueBreaksTheDigest) {
  files_->pcrs[alg::kSha256][7][0] ^= 1;
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: PCR digest");
}

TEST_F(TpmGceTamperTest, MissingPcrValue) {
  files_->pcrs[alg::kSha256].erase(23);
  ExpectError(Verify(), ErrorCode::kInvalidArgument, "quoted PCR sha256:23 has no value");
}

TEST_F(TpmGceTamperTest, AkCertificateToAnUnconfiguredRoot) {
  policy_.ak_certificate->roots = Certs({"openpcc/roots/azure_tpm_root_2023.pem"});
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: AK certificate");
}

TEST_F(TpmGceTamperTest, AkCertificateForAnotherKey) {
  // A genuine GCE AK certificate (2025) that chains to Google's new EK/AK root, but for another AK.
  policy_.ak_certificate = AkCertificatePolicy{
      Certificate::ParseOne(Vec("openpcc/extracted/test_gce_ak_cert.pem")).value(),
      Certs({"openpcc/extracted/test_gce_ak_intermediate_cert.pem"}),
      Certs({"openpcc/roots/gce_ek_ak_root.pem"}), At("2025-12-01T00:00:00Z")};
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "its public key is not the AK");
}

TEST_F(TpmGceTamperTest, AkCertificateOutsideItsValidity) {
  policy_.ak_certificate->at = At("2021-01-01T00:00:00Z");
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: AK certificate");
}

TEST_F(TpmGceTamperTest, QuoteByAnotherAk) {
  // The trustee AK (SPKI) did not sign this quote.
  boost::json::value evidence = boost::json::parse(testing::ReadVectorFile("trustee/tpm_evidence.json"));
  std::string spki_b64(evidence.at("ak_public").as_string());
  std::string pem = "-----BEGIN PUBLIC KEY-----\n" + spki_b64 + "\n-----END PUBLIC KEY-----\n";
  files_->ak = AttestationKey::FromSpki(AsBytes(pem)).value();
  policy_.ak_certificate.reset();
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "tpm: quote signature");
}

TEST_F(TpmGceTamperTest, AkThatIsNotARestrictedSigningKey) {
  Public pub = ParsePublic(Vec("go-tpm-tools/extracted/gce-cos-85-nonce9009/ak_pub.tpmt_public.bin")).value();
  pub.attributes &= ~attr::kRestricted;
  ExpectError(AttestationKey::FromTpmPublic(pub), ErrorCode::kAuthenticationFailed,
              "not a restricted, fixedTPM signing key");
}

TEST_F(TpmGceTamperTest, SignatureSchemeOtherThanTheAks) {
  files_->signature[0] = 0x00;
  files_->signature[1] = 0x16;  // rsapss
  ExpectError(Verify(), ErrorCode::kAuthenticationFailed, "is not the AK's rsassa-sha256");
}

AttestationKey KeyOf(const Certificate& cert) {
  return AttestationKey::FromKey(
      crypto::EvpPkeyPtr(EVP_PKEY_dup(const_cast<EVP_PKEY*>(cert.PublicKey()))), "certificate");
}

// The newer GCE AK certificate and both Azure AK certificates chain to their pinned roots.
TEST(TpmVerifyTest, AkCertificatesChainToCloudRoots) {
  Certificate gce = Certificate::ParseOne(Vec("openpcc/extracted/test_gce_ak_cert.pem")).value();
  AttestationKey gce_ak = KeyOf(gce);
  EXPECT_TRUE(VerifyAkCertificate(
                  gce_ak, {gce, Certs({"openpcc/extracted/test_gce_ak_intermediate_cert.pem"}),
                           Certs({"openpcc/roots/gce_ek_ak_root.pem"}), At("2025-12-01T00:00:00Z")})
                  .ok());
  for (const char* path : {"openpcc/extracted/test_azure_ak_certificate_01.pem",
                           "openpcc/extracted/test_azure_ak_certificate_03.pem"}) {
    SCOPED_TRACE(path);
    Certificate cert = Certificate::ParseOne(Vec(path)).value();
    AttestationKey ak = KeyOf(cert);
    AkCertificatePolicy policy{cert,
                               Certs({"openpcc/roots/azure_tpm_intermediate_01.pem",
                                      "openpcc/roots/azure_tpm_intermediate_03.pem"}),
                               Certs({"openpcc/roots/azure_tpm_root_2023.pem"}),
                               At("2025-12-01T00:00:00Z")};
    Status ok = VerifyAkCertificate(ak, policy);
    EXPECT_TRUE(ok.ok()) << ok.error().message();
    policy.roots = Certs({"openpcc/roots/gce_ek_ak_root.pem"});
    ExpectError(VerifyAkCertificate(ak, policy), ErrorCode::kAuthenticationFailed, "tpm: AK certificate");
  }
}

Bytes RsassaSha256Signature(ByteView raw) {
  wire::ByteWriter writer;
  writer.WriteU16(alg::kRsassa);
  writer.WriteU16(alg::kSha256);
  EXPECT_TRUE(writer.WriteU16Prefixed(raw));
  return writer.Take();
}

struct AzureQuote {
  Bytes attest, signature;
  PcrValues pcrs;
};

AzureQuote LoadAzureQuote(std::string_view json_path) {
  boost::json::value q = boost::json::parse(testing::ReadVectorFile(json_path));
  AzureQuote out;
  out.attest = HexDecode(std::string(q.at("message").as_string())).value();
  out.signature = RsassaSha256Signature(HexDecode(std::string(q.at("signature").as_string())).value());
  uint32_t index = 0;
  for (const boost::json::value& v : q.at("pcrs").as_array()) {
    out.pcrs[alg::kSha256][index++] = HexDecode(std::string(v.as_string())).value();
  }
  return out;
}

struct AzureCase {
  const char* hcl;
  const char* quote;
  uint32_t report_type;
  const char* pcr0;
  const char* vm_unique_id;
};

// Azure vTPM quotes signed by the AK from the HCL report's runtime claims (EXPECTED.json 6-7).
TEST(TpmHclTest, VerifiesAzureQuotesWithTheHclAk) {
  const AzureCase cases[] = {
      {"trustee/az-snp-vtpm/hcl-report.bin", "trustee/az-snp-vtpm/tpm-quote-v1.json", 2,
       "f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be",
       "911B0EF8-9DBA-48B0-B275-4E4DF2D39252"},
      {"trustee/az-tdx-vtpm/hcl-report.bin", "trustee/az-tdx-vtpm/tpm-quote-v1.json", 4,
       "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273",
       "6332533D-5649-4D02-8AA7-8F64B7C3EE21"},
  };
  for (const AzureCase& c : cases) {
    SCOPED_TRACE(c.hcl);
    HclReport report = ParseHclReport(Vec(c.hcl)).value();
    EXPECT_EQ(report.report_type, c.report_type);
    ASSERT_TRUE(VerifyHclClaimsBinding(report).ok());
    AttestationKey ak = HclAttestationKey(report).value();
    boost::json::object hcl_claims = HclClaimsJson(report).value();
    EXPECT_EQ(hcl_claims.at("vm_configuration").at("vmUniqueId").as_string(), c.vm_unique_id);
    AzureQuote quote = LoadAzureQuote(c.quote);
    QuotePolicy policy;
    policy.expected_nonce = ToBytes("challenge");
    Result<QuoteClaims> claims = VerifyQuote(quote.attest, quote.signature, quote.pcrs, ak, policy);
    ASSERT_TRUE(claims.ok()) << claims.error().message();
    EXPECT_EQ(HexEncode(claims->pcrs.at(alg::kSha256).at(0)), c.pcr0);
    EXPECT_EQ(claims->ToJson().at("ak").at("source").as_string(), "azure-hcl-report");

    QuotePolicy wrong = policy;
    wrong.expected_nonce = ToBytes("challengf");
    ExpectError(VerifyQuote(quote.attest, quote.signature, quote.pcrs, ak, wrong),
                ErrorCode::kAuthenticationFailed, "tpm: qualifying data");
  }
}

TEST(TpmHclTest, ParsesOpenpccAzureReportsAndRefusesEditedClaims) {
  for (const char* path : {"openpcc/extracted/test_azure_sevsnp_report.bin",
                           "openpcc/extracted/test_azure_tdx_report.bin"}) {
    SCOPED_TRACE(path);
    Bytes bytes = Vec(path);
    HclReport report = ParseHclReport(bytes).value();
    ASSERT_TRUE(HclAttestationKey(report).ok());
    // One byte of the runtime claims changed: the hardware report no longer binds them.
    Bytes edited = bytes;
    edited[0x4D4 + 10] ^= 0x01;
    HclReport edited_report = ParseHclReport(edited).value();
    ExpectError(HclAttestationKey(edited_report), ErrorCode::kAuthenticationFailed,
                "REPORT_DATA is not the hash of the runtime claims");
    Bytes bad_magic = bytes;
    bad_magic[0] = 'X';
    ExpectError(ParseHclReport(bad_magic), ErrorCode::kMalformed, "HCLA");
    Bytes padded = bytes;
    padded.back() = 1;
    ExpectError(ParseHclReport(padded), ErrorCode::kMalformed, "non-zero bytes after");
  }
  // The Azure quote does not verify with another VM's HCL AK.
  AttestationKey other =
      HclAttestationKey(ParseHclReport(Vec("openpcc/extracted/test_azure_sevsnp_report.bin")).value()).value();
  AzureQuote quote = LoadAzureQuote("trustee/az-snp-vtpm/tpm-quote-v1.json");
  ExpectError(VerifyQuote(quote.attest, quote.signature, quote.pcrs, other, {}),
              ErrorCode::kAuthenticationFailed, "tpm: quote signature");
}

// trustee's generic TPM evidence: AK as SPKI, 48-byte nonce zero padded to 64 (EXPECTED.json 8).
TEST(TpmVerifyTest, VerifiesTrusteeQuoteWithSpkiAk) {
  boost::json::value evidence = boost::json::parse(testing::ReadVectorFile("trustee/tpm_evidence.json"));
  std::string pem = "-----BEGIN PUBLIC KEY-----\n" +
                    std::string(evidence.at("ak_public").as_string()) + "\n-----END PUBLIC KEY-----\n";
  AttestationKey ak = AttestationKey::Parse(AsBytes(pem)).value();
  auto b64 = [](std::string_view text) {
    Bytes out((text.size() / 4) * 3 + 3);
    int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    EXPECT_GT(n, 0);
    out.resize(static_cast<size_t>(n));
    size_t pad = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++pad;
    out.resize(out.size() - pad);
    return out;
  };
  const boost::json::object& q = evidence.at("tpm_quote").as_object();
  Bytes attest = b64(q.at("message").as_string());
  Bytes signature = b64(q.at("signature").as_string());
  PcrValues pcrs;
  uint32_t index = 0;
  for (const boost::json::value& v : q.at("pcrs").as_array()) {
    pcrs[alg::kSha256][index++] = HexDecode(std::string(v.as_string())).value();
  }
  QuotePolicy policy;
  policy.expected_nonce = HexDecode(
      "a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120"
      "00000000000000000000000000000000").value();
  Result<QuoteClaims> claims = VerifyQuote(attest, signature, pcrs, ak, policy);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->ToJson().at("ak").at("source").as_string(), "spki");
}

// PolicyPCR's digest, recomputed by hand from Part 3 §23.7.
TEST(TpmStructuresTest, PolicyPcrDigestMatchesTheSpecFormula) {
  std::vector<PcrSelection> selection = {{alg::kSha256, {0, 7}}};
  Bytes values(64, 0);
  Bytes digest = PolicyPcrDigest(crypto::HashId::kSha256, selection, values).value();
  Bytes expected_input(32, 0);
  Append(expected_input, Bytes{0x00, 0x00, 0x01, 0x7f});
  Append(expected_input, Bytes{0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0x81, 0x00, 0x00});
  Append(expected_input, crypto::Sha256(values));
  EXPECT_EQ(digest, crypto::Sha256(expected_input));
}

// The `openpcc evidence verify --type tpm` entry point, on files as an operator holds them.
TEST(TpmEvidenceTest, VerifiesGceFilesWithCertificateAndRoots) {
  std::string base = "go-tpm-tools/extracted/gce-cos-85-nonce9009/";
  TpmEvidenceInput input;
  input.quote = Vec(base + "quote_sha384.tpms_attest.bin");
  input.signature = Vec(base + "quote_sha384.tpmt_signature.bin");
  input.pcrs = testing::ReadVectorFile(base + "quote_sha384.pcrs.txt");
  input.ak = Vec(base + "ak_pub.tpmt_public.bin");
  input.nonce = Bytes{0x90, 0x09};
  input.ak_certificate = Vec(base + "ak_cert.der");
  input.intermediates = {Vec("go-tpm-tools/ca-certs/tpm_ek_intermediate_2.crt")};
  input.roots = {Vec("go-tpm-tools/ca-certs/tpm_ek_root_1.cer")};
  input.at = At("2022-06-01T00:00:00Z");
  Result<boost::json::object> claims = VerifyTpmEvidence(input);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->at("pcrs").at("sha384").at("0").as_string(),
            "46ce251b0b5b3da7917c5eb7a72e6e88f8f830445b149937921b095c1fd628db691963861c1153aba9c7097ff1c747f9");
  input.roots = {Vec("openpcc/roots/gce_ek_ak_root.pem")};
  ExpectError(VerifyTpmEvidence(input), ErrorCode::kAuthenticationFailed, "tpm: AK certificate");
  input.roots.clear();
  ExpectError(VerifyTpmEvidence(input), ErrorCode::kInvalidArgument, "needs --roots");
}

TEST(TpmEvidenceTest, VerifiesAzureRawQuoteWithHclReport) {
  TpmEvidenceInput input;
  boost::json::value q = boost::json::parse(testing::ReadVectorFile("trustee/az-snp-vtpm/tpm-quote-v1.json"));
  input.quote = HexDecode(std::string(q.at("message").as_string())).value();
  // A raw RSASSA-SHA256 signature, as Azure returns it (not a TPMT_SIGNATURE).
  input.signature = HexDecode(std::string(q.at("signature").as_string())).value();
  uint32_t index = 0;
  for (const boost::json::value& v : q.at("pcrs").as_array()) {
    input.pcrs += std::to_string(index++) + " " + std::string(v.as_string()) + "\n";
  }
  input.hcl_report = Vec("trustee/az-snp-vtpm/hcl-report.bin");
  input.nonce = ToBytes("challenge");
  Result<boost::json::object> claims = VerifyTpmEvidence(input);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->at("hcl").at("report_type").as_string(), "sev-snp");
  EXPECT_EQ(claims->at("pcrs").at("sha256").at("0").as_string(),
            "f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be");
  input.ak = Bytes{1};
  ExpectError(VerifyTpmEvidence(input), ErrorCode::kInvalidArgument, "either as a key");
}

}  // namespace
}  // namespace openpcc::attest::tpm
