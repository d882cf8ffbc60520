// Intel TDX (DCAP) verification over every TDX quote of the shared vectors, Intel's collateral
// from go-tdx-guest and trustee, and the COS-113 CCEL. Expected values come from EXPECTED.json;
// every tampered copy is rejected for the reason it asserts.
#include <gtest/gtest.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/json.hpp>

#include "openpcc/attest/tdx/ccel.h"
#include "openpcc/attest/tdx/collateral.h"
#include "openpcc/attest/tdx/pck.h"
#include "openpcc/attest/tdx/quote.h"
#include "openpcc/attest/tdx/tcb.h"
#include "openpcc/attest/tdx/verify.h"
#include "openpcc/crypto/hash.h"
#include "support/test_crl.h"
#include "support/vectors.h"

namespace openpcc::attest::tdx {
namespace {

namespace json = boost::json;
using crypto::Certificate;
using testing::ReadVectorFile;

std::chrono::sys_seconds At(const char* text) { return crypto::ParseUtcTime(text).value(); }

Bytes Vector(std::string_view path) { return ToBytes(ReadVectorFile(path)); }

const json::array& ExpectedTdx() {
  static const json::value expected = json::parse(ReadVectorFile("EXPECTED.json"));
  return expected.at("tdx").as_array();
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  return HexEncode(a);
}

#define EXPECT_ERROR_HAS(result, text)                                              \
  do {                                                                              \
    ASSERT_FALSE((result).ok()) << "expected failure: " << (text);                  \
    EXPECT_NE((result).error().message().find(text), std::string::npos)             \
        << (result).error().message();                                              \
  } while (false)

// The go-tdx-guest 2023 collateral set, valid together on 2023-07-01.
struct Collateral2023 {
  Bytes tcb_info = Vector("go-tdx-guest/sample_tcbInfo_response");
  Bytes tcb_chain = Vector("go-tdx-guest/tcbinfo_issuer_chain.pem");
  Bytes qe_identity = Vector("go-tdx-guest/sample_qeIdentity_response");
  Bytes qe_chain = Vector("go-tdx-guest/qeidentity_issuer_chain.pem");
  Bytes pck_crl = Vector("go-tdx-guest/pckcrl");
  Bytes pck_crl_chain = Vector("go-tdx-guest/pckcrl_issuer_chain.pem");
  Bytes root_crl = Vector("go-tdx-guest/rootcrl.der");

  TdxCollateral View(bool with_crls = true) const {
    TdxCollateral c{tcb_info, tcb_chain, qe_identity, qe_chain, {}, {}, {}};
    if (with_crls) {
      c.pck_crl = ByteView(pck_crl);
      c.pck_crl_chain = ByteView(pck_crl_chain);
      c.root_crl = ByteView(root_crl);
    }
    return c;
  }
};

const std::chrono::sys_seconds k2023 = At("2023-07-01T00:00:00Z");

// --- Parsing ------------------------------------------------------------------------------------

TEST(TdxQuoteTest, ParsesEveryVectorAsExpected) {
  for (const json::value& v : ExpectedTdx()) {
    const json::object& e = v.as_object();
    std::string path(e.at("quote").as_string());
    SCOPED_TRACE(path);
    Result<Quote> quote = ParseQuote(Vector(path));
    ASSERT_TRUE(quote.ok()) << quote.error().message();
    EXPECT_EQ(quote->header.version, e.at("version").as_int64());
    if (e.at("body_type").is_null()) {
      EXPECT_FALSE(quote->body_type.has_value());
    } else {
      EXPECT_EQ(*quote->body_type, e.at("body_type").as_int64());
    }
    EXPECT_EQ(static_cast<int64_t>(quote->trailing_bytes), e.at("trailing_bytes").as_int64());
    const json::object& body = e.at("body").as_object();
    const TdReport& r = quote->body;
    EXPECT_EQ(Hex(r.tee_tcb_svn), body.at("tee_tcb_svn").as_string());
    EXPECT_EQ(Hex(r.mr_seam), body.at("mrseam").as_string());
    EXPECT_EQ(Hex(r.mr_signer_seam), body.at("mrsignerseam").as_string());
    EXPECT_EQ(Hex(r.seam_attributes_raw), body.at("seam_attributes").as_string());
    EXPECT_EQ(Hex(r.td_attributes_raw), body.at("td_attributes").as_string());
    EXPECT_EQ(Hex(r.xfam_raw), body.at("xfam").as_string());
    EXPECT_EQ(Hex(r.mr_td), body.at("mrtd").as_string());
    EXPECT_EQ(Hex(r.mr_config_id), body.at("mrconfigid").as_string());
    EXPECT_EQ(Hex(r.mr_owner), body.at("mrowner").as_string());
    EXPECT_EQ(Hex(r.mr_owner_config), body.at("mrownerconfig").as_string());
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(Hex(r.rtmr[i]), body.at("rtmr" + std::to_string(i)).as_string());
    }
    EXPECT_EQ(Hex(r.report_data), body.at("report_data").as_string());
    if (body.contains("tee_tcb_svn2")) {
      ASSERT_TRUE(r.tee_tcb_svn2.has_value());
      EXPECT_EQ(Hex(*r.tee_tcb_svn2), body.at("tee_tcb_svn2").as_string());
      EXPECT_EQ(Hex(*r.mr_service_td), body.at("mrservicetd").as_string());
    } else {
      EXPECT_FALSE(r.tee_tcb_svn2.has_value());
    }
    const json::object& qe = e.at("qe_report").as_object();
    EXPECT_EQ(Hex(quote->qe_report.mr_signer), qe.at("mrsigner").as_string());
    EXPECT_EQ(quote->qe_report.isv_prod_id, qe.at("isvprodid").as_int64());
    EXPECT_EQ(quote->qe_report.isv_svn, qe.at("isvsvn").as_int64());

    // The PCK certificate's SGX extensions.
    std::vector<Certificate> chain = Certificate::ParseAll(quote->pck_chain_pem).value();
    ASSERT_EQ(chain.size(), 3u);
    Result<PckExtensions> ext = PckExtensionsOf(chain[0]);
    ASSERT_TRUE(ext.ok()) << ext.error().message();
    const json::object& pe = e.at("pck_ext").as_object();
    EXPECT_EQ(Hex(ext->fmspc), pe.at("fmspc").as_string());
    EXPECT_EQ(Hex(ext->pce_id), pe.at("pceid").as_string());
    EXPECT_EQ(ext->pce_svn, pe.at("pcesvn").as_int64());
    EXPECT_EQ(ext->sgx_type, pe.at("sgx_type").as_int64());
    const json::array& comps = pe.at("tcb_comp_svn_1_16").as_array();
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(ext->tcb_components[i], comps[i].as_int64());
  }
}

TEST(TdxQuoteTest, RejectsEveryTruncation) {
  Bytes quote = Vector("go-tdx-guest/quote_v5_sample.dat");
  for (size_t length = 0; length < quote.size(); ++length) {
    Result<Quote> parsed = ParseQuote(ByteView(quote).first(length));
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kTruncated) << length << parsed.error().message();
  }
}

TEST(TdxQuoteTest, RejectsWrongHeaderAndBodyDescriptor) {
  Bytes quote = Vector("go-tdx-guest/quote_v5_sample.dat");
  Bytes v3 = quote;
  v3[0] = 3;
  EXPECT_ERROR_HAS(ParseQuote(v3), "version 3 (expected 4 or 5)");
  Bytes key = quote;
  key[2] = 3;
  EXPECT_ERROR_HAS(ParseQuote(key), "attestation key type 3");
  Bytes sgx = quote;
  sgx[4] = 0;
  EXPECT_ERROR_HAS(ParseQuote(sgx), "TEE type 0 (expected 0x81");
  Bytes size = quote;
  size[50] ^= 1;  // v5 body size
  EXPECT_ERROR_HAS(ParseQuote(size), "v5 body size");
}

// A v5 quote may carry a TDX 1.0 body (type 2, 584 bytes): rewrite the v5 sample's TDX 1.5 body
// (648 bytes) as one, dropping the 1.5-only fields. Parsing only: the signature no longer holds.
TEST(TdxQuoteTest, ParsesV5QuoteWithTdx10Body) {
  Bytes v5 = Vector("go-tdx-guest/quote_v5_sample.dat");
  Quote original = ParseQuote(v5).value();
  ASSERT_EQ(original.body_type, 3);
  constexpr size_t kHeader = 48, kDescriptor = 6;
  Bytes rewritten(v5.begin(), v5.begin() + kHeader);
  rewritten.insert(rewritten.end(), {0x02, 0x00, 0x48, 0x02, 0x00, 0x00});  // type 2, size 584
  rewritten.insert(rewritten.end(), v5.begin() + kHeader + kDescriptor,
                   v5.begin() + kHeader + kDescriptor + 584);
  rewritten.insert(rewritten.end(), v5.begin() + kHeader + kDescriptor + 648, v5.end());
  Result<Quote> parsed = ParseQuote(rewritten);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->header.version, 5);
  EXPECT_EQ(parsed->body_type, 2);
  EXPECT_EQ(parsed->signed_region.size(), kHeader + kDescriptor + 584);
  EXPECT_EQ(Hex(parsed->body.mr_td), Hex(original.body.mr_td));
  EXPECT_EQ(Hex(parsed->body.mr_td).substr(0, 8), "7348651a");
  EXPECT_EQ(Hex(parsed->body.tee_tcb_svn), Hex(original.body.tee_tcb_svn));
  EXPECT_EQ(Hex(parsed->body.report_data), Hex(original.body.report_data));
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(Hex(parsed->body.rtmr[i]), Hex(original.body.rtmr[i]));
  EXPECT_EQ(parsed->body.td_attributes, original.body.td_attributes);
  EXPECT_FALSE(parsed->body.tee_tcb_svn2.has_value());
  EXPECT_FALSE(parsed->body.mr_service_td.has_value());
  EXPECT_EQ(parsed->signature, original.signature);
  EXPECT_EQ(parsed->pck_chain_pem, original.pck_chain_pem);
  // Type 2 with the TDX 1.5 size, and type 3 with the TDX 1.0 size, are refused.
  Bytes wrong = rewritten;
  wrong[50] = 0x88;  // 648
  EXPECT_ERROR_HAS(ParseQuote(wrong), "tdx: quote: v5 body size 648 does not match body type 2 (expected 584)");
  Bytes type3 = rewritten;
  type3[48] = 3;
  EXPECT_ERROR_HAS(ParseQuote(type3), "tdx: quote: v5 body size 584 does not match body type 3 (expected 648)");
}

TEST(TdxQuoteTest, ParsesPckExtensionsAndRejectsGarbage) {
  EXPECT_ERROR_HAS(ParsePckExtensions(ToBytes("\x30\x03\x02\x01\x01")), "SGX extensions");
  EXPECT_ERROR_HAS(ParsePckExtensions(ToBytes("garbage")), "not a DER SEQUENCE");
}

// --- Signatures and PCK chain on every quote ----------------------------------------------------

TEST(TdxVerifyTest, VerifiesSignaturesAndPckChainOfEveryQuote) {
  for (const json::value& v : ExpectedTdx()) {
    const json::object& e = v.as_object();
    std::string path(e.at("quote").as_string());
    SCOPED_TRACE(path);
    Quote quote = ParseQuote(Vector(path)).value();
    // A day after the PCK's notBefore: inside every certificate's validity.
    std::string from(e.at("pck_validity").as_string().subview().substr(0, 10));
    std::chrono::sys_seconds at = At(from.c_str()) + std::chrono::days(2);
    Result<PckExtensions> ext = VerifyQuoteSignatures(quote, at, IntelSgxRoots(), {});
    ASSERT_TRUE(ext.ok()) << ext.error().message();
    EXPECT_EQ(Hex(ext->fmspc), e.at("pck_ext").at("fmspc").as_string());
  }
  Bytes root_der = IntelSgxRoots()[0].Der();
  EXPECT_EQ(HexEncode(crypto::Sha256(root_der)),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
}

TEST(TdxVerifyTest, FullVerificationOfThe2023Set) {
  Collateral2023 c;
  // tdx_quote_4: UpToDate, but a DEBUG TD.
  Result<TdxClaims> claims = VerifyTdxQuote(Vector("trustee/tdx/tdx_quote_4.dat"), c.View(), k2023);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->tcb.status, TcbStatus::kUpToDate);
  EXPECT_EQ(claims->tcb.qe_status, TcbStatus::kUpToDate);
  EXPECT_EQ(*claims->tcb.platform_tcb_date, "2023-02-15T00:00:00Z");
  EXPECT_EQ(Hex(claims->fmspc), "50806f000000");
  EXPECT_ERROR_HAS(CheckTdxPolicy(*claims, TdxPolicy{}), "tdx: policy: TD attribute DEBUG is set");
  json::object out = claims->ToJson();
  EXPECT_EQ(out.at("tcb_status").as_string(), "UpToDate");
  EXPECT_EQ(out.at("mr_td").as_string(),
            "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031");
  EXPECT_EQ(out.at("rtmr").as_array().size(), 4u);
  EXPECT_TRUE(out.at("debug").as_bool());

  // SPR E4: every signature verifies, but no TCB level matches its platform.
  Result<TdxClaims> spr =
      VerifyTdxQuote(Vector("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), c.View(), k2023);
  ASSERT_TRUE(spr.ok()) << spr.error().message();
  EXPECT_EQ(spr->tcb.status, TcbStatus::kNoMatchingLevel);
  EXPECT_FALSE(spr->tcb.platform_status.has_value());
  EXPECT_EQ(spr->tcb.qe_status, TcbStatus::kUpToDate);
  EXPECT_ERROR_HAS(VerifyTdxEvidence(Vector("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), c.View(),
                                     TdxPolicy{}, k2023),
                   "TCB status NoMatchingLevel is not accepted");
  // Without CRLs the same verification holds.
  EXPECT_TRUE(VerifyTdxQuote(Vector("trustee/tdx/tdx_quote_4.dat"), c.View(false), k2023).ok());
}

// Collateral parsed once (as a client keeps it per platform) verifies each quote exactly as the
// bytes entry point does: every signature, chain, CRL and window check still runs per quote.
TEST(TdxVerifyTest, ParsedCollateralVerifiesLikeBytes) {
  Collateral2023 c;
  TdxCollateral view = c.View();
  ParsedTdxCollateral parsed = ParseTdxCollateral(view).value();
  EXPECT_TRUE(parsed.pck_crl.has_value());
  EXPECT_EQ(parsed.root_crls.size(), 1u);
  EXPECT_EQ(parsed.tcb_info.tcb_evaluation_data_number, 15);
  for (const char* path : {"trustee/tdx/tdx_quote_4.dat", "go-tdx-guest/tdx_prod_quote_SPR_E4.dat"}) {
    Quote quote = ParseQuote(Vector(path)).value();
    Result<TdxClaims> warm = VerifyTdxQuote(quote, parsed, k2023);
    Result<TdxClaims> cold = VerifyTdxQuote(Vector(path), view, k2023);
    ASSERT_TRUE(warm.ok() && cold.ok()) << path;
    EXPECT_EQ(json::serialize(warm->ToJson()), json::serialize(cold->ToJson())) << path;
  }
  Quote quote4 = ParseQuote(Vector("trustee/tdx/tdx_quote_4.dat")).value();
  // Validity is evaluated per call: a month later the PCK CRL has expired.
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote4, parsed, At("2023-08-01T00:00:00Z")),
                   "tdx: PCK certificate: certificate chain: CRL has expired at depth 0");
  // A changed byte of the signed JSON parses, and is caught by the signature check per quote.
  std::string body(AsChars(c.tcb_info));
  body[body.find("\"tcbEvaluationDataNumber\":15") + 26] = '6';
  Bytes tampered = ToBytes(body);
  TdxCollateral tampered_view = view;
  tampered_view.tcb_info = tampered;
  ParsedTdxCollateral tampered_parsed = ParseTdxCollateral(tampered_view).value();
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote4, tampered_parsed, k2023),
                   "tdx: TCB info: signature by Intel SGX TCB Signing");
  // Parsing names what it could not parse.
  TdxCollateral bad_crl = view;
  bad_crl.root_crl = ByteView(c.tcb_chain);
  EXPECT_ERROR_HAS(ParseTdxCollateral(bad_crl), "tdx: root CRL: ");
}

TEST(TdxVerifyTest, AcceptsUrlEncodedIssuerChains) {
  Collateral2023 c;
  std::string encoded;
  for (char ch : AsChars(c.tcb_chain)) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      encoded.push_back(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(ch));
      encoded += buf;
    }
  }
  std::vector<Certificate> chain = ParseIssuerChain(AsBytes(encoded)).value();
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_NE(chain[0].Subject().find("Intel SGX TCB Signing"), std::string::npos);
  Bytes encoded_bytes = ToBytes(encoded);
  TdxCollateral view = c.View();
  view.tcb_info_chain = encoded_bytes;
  EXPECT_TRUE(VerifyTdxQuote(Vector("trustee/tdx/tdx_quote_4.dat"), view, k2023).ok());
}

// --- Tampered copies ----------------------------------------------------------------------------

class TdxTamperTest : public ::testing::Test {
 protected:
  Bytes quote_ = Vector("trustee/tdx/tdx_quote_4.dat");
  Collateral2023 c_;
  Quote parsed_ = ParseQuote(quote_).value();
  size_t sig_offset_ = parsed_.signed_region.size() + 4;  // after the signature data length
  size_t qe_report_offset_ = sig_offset_ + 64 + 64 + 2 + 4;
  size_t auth_offset_ = qe_report_offset_ + 384 + 64 + 2;
};

TEST_F(TdxTamperTest, FlippedByteInSignedRegion) {
  Bytes q = quote_;
  q[48 + 136 + 5] ^= 1;  // MRTD
  EXPECT_ERROR_HAS(VerifyTdxQuote(q, c_.View(), k2023), "tdx: quote signature with the attestation key");
}

TEST_F(TdxTamperTest, FlippedByteInQuoteSignature) {
  Bytes q = quote_;
  q[sig_offset_ + 40] ^= 1;
  EXPECT_ERROR_HAS(VerifyTdxQuote(q, c_.View(), k2023), "tdx: quote signature with the attestation key");
}

TEST_F(TdxTamperTest, FlippedByteInQeReport) {
  Bytes q = quote_;
  q[qe_report_offset_ + 50] ^= 1;  // reserved bytes: only the signature can notice
  EXPECT_ERROR_HAS(VerifyTdxQuote(q, c_.View(), k2023), "tdx: QE report signature with the PCK leaf key");
}

TEST_F(TdxTamperTest, FlippedByteInQeAuthData) {
  Bytes q = quote_;
  q[auth_offset_] ^= 1;
  EXPECT_ERROR_HAS(VerifyTdxQuote(q, c_.View(), k2023), "QE report REPORTDATA is not SHA-256");
}

TEST_F(TdxTamperTest, FlippedByteInAttestationKey) {
  Bytes q = quote_;
  q[sig_offset_ + 64 + 63] ^= 1;  // the key's y: breaks the binding before the quote signature
  Result<TdxClaims> r = VerifyTdxQuote(q, c_.View(), k2023);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("REPORTDATA"), std::string::npos) << r.error().message();
}

TEST_F(TdxTamperTest, FlippedByteInTcbInfoJson) {
  std::string body(AsChars(c_.tcb_info));
  size_t pos = body.find("\"tcbEvaluationDataNumber\":15");
  ASSERT_NE(pos, std::string::npos);
  body[pos + 26] = '6';
  c_.tcb_info = ToBytes(body);
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), k2023),
                   "tdx: TCB info: signature by Intel SGX TCB Signing");
}

TEST_F(TdxTamperTest, FlippedByteInQeIdentityJson) {
  std::string body(AsChars(c_.qe_identity));
  size_t pos = body.find("\"isvsvn\":4");
  ASSERT_NE(pos, std::string::npos);
  body[pos + 9] = '3';
  c_.qe_identity = ToBytes(body);
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), k2023),
                   "tdx: QE identity: signature by Intel SGX TCB Signing");
}

TEST_F(TdxTamperTest, ReserializedJsonIsNotWhatWasSigned) {
  // Same JSON value, different bytes (whitespace): the signature covers the raw bytes.
  std::string body(AsChars(c_.tcb_info));
  size_t pos = body.find("\"version\":3");
  body.insert(pos, " ");
  c_.tcb_info = ToBytes(body);
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), k2023),
                   "tdx: TCB info: signature by Intel SGX TCB Signing");
}

TEST_F(TdxTamperTest, CollateralOfAnotherPlatform) {
  c_.tcb_info = Vector("go-tdx-guest/sample_tcbinfo_response_v5");  // FMSPC 90c06f000000
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), k2023),
                   "tdx: TCB info is for FMSPC 90c06f000000, the PCK certificate's FMSPC is 50806f000000");
}

TEST_F(TdxTamperTest, CollateralPastNextUpdate) {
  // TCB info until 2023-07-18 (CRLs omitted: the PCK CRL's own nextUpdate is 2023-07-08).
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(false), At("2023-07-19T00:00:00Z")),
                   "tdx: TCB info: past nextUpdate 2023-07-18T08:42:58Z");
  // QE identity until 2023-07-08.
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(false), At("2023-07-09T00:00:00Z")),
                   "tdx: QE identity: past nextUpdate 2023-07-08T07:24:59Z");
  // Before issueDate.
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(false), At("2023-06-10T00:00:00Z")),
                   "tdx: TCB info: issueDate 2023-06-18T08:42:58Z is after the evaluation time");
  // With CRLs, the expired PCK CRL is named first.
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), At("2023-07-09T00:00:00Z")),
                   "tdx: PCK certificate: certificate chain: CRL has expired");
}

TEST_F(TdxTamperTest, CollateralSignedByAnotherIntelCertificate) {
  c_.tcb_chain = c_.pck_crl_chain;  // Platform CA ← root: chains, but may not sign collateral
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, c_.View(), k2023), "expected CN=Intel SGX TCB Signing");
}

TEST_F(TdxTamperTest, PckCrlOfTheWrongIssuer) {
  TdxCollateral view = c_.View();
  view.pck_crl = ByteView(c_.root_crl);
  EXPECT_ERROR_HAS(VerifyTdxQuote(quote_, view, k2023), "not by the PCK's issuer");
}

// A forged PCK chain: a fresh root, a PCK certificate carrying the real SGX extensions, and the QE
// report re-signed with the forged PCK key. Everything checks out except the root.
crypto::EvpPkeyPtr NewP256() { return crypto::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

using X509Ptr = crypto::X509Ptr;

X509Ptr MakeCert(EVP_PKEY* subject_key, EVP_PKEY* issuer_key, const char* subject_cn,
                 const char* issuer_cn, bool ca, const X509_EXTENSION* extra) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), 1600000000);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), 2000000000);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(subject_cn), -1, -1, 0);
  X509_NAME* issuer = X509_get_issuer_name(cert.get());
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(issuer_cn), -1, -1, 0);
  X509_set_pubkey(cert.get(), subject_key);
  if (ca) {
    X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert.get(), bc, -1);
    X509_EXTENSION_free(bc);
  }
  if (extra != nullptr) X509_add_ext(cert.get(), const_cast<X509_EXTENSION*>(extra), -1);
  X509_sign(cert.get(), issuer_key, EVP_sha256());
  return cert;
}

std::string Pem(X509* cert) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Bytes SignRaw(EVP_PKEY* key, ByteView message) {
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
  size_t length = 0;
  EVP_DigestSign(ctx.get(), nullptr, &length, message.data(), message.size());
  Bytes der(length);
  EVP_DigestSign(ctx.get(), der.data(), &length, message.data(), message.size());
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

// A PEM CRL by `issuer_cn`, valid 2023-01-01..2024-01-01, revoking `serials`.
std::string MakeCrl(EVP_PKEY* issuer_key, const char* issuer_cn, const std::vector<long>& serials) {
  X509_NAME* issuer = X509_NAME_new();
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(issuer_cn), -1, -1, 0);
  Bytes der = testing::MakeTestCrl(issuer, issuer_key, serials, At("2023-01-01T00:00:00Z"),
                                   At("2024-01-01T00:00:00Z"), EVP_sha256());
  X509_NAME_free(issuer);
  return testing::TestCrlPem(der);
}

void PutLe(Bytes& out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

TEST_F(TdxTamperTest, PckChainToAnotherRoot) {
  Certificate real_pck = Certificate::ParseAll(parsed_.pck_chain_pem).value()[0];
  X509* real = real_pck.get();
  ASN1_OBJECT* oid = OBJ_txt2obj(kSgxExtensionsOid, 1);
  const X509_EXTENSION* sgx = X509_get_ext(real, X509_get_ext_by_OBJ(real, oid, -1));
  ASN1_OBJECT_free(oid);
  crypto::EvpPkeyPtr root_key = NewP256(), pck_key = NewP256();
  X509Ptr root = MakeCert(root_key.get(), root_key.get(), "Intel SGX Root CA", "Intel SGX Root CA", true, nullptr);
  X509Ptr pck = MakeCert(pck_key.get(), root_key.get(), "Intel SGX PCK Certificate", "Intel SGX Root CA", false, sgx);
  std::string chain = Pem(pck.get()) + Pem(root.get());
  // Rebuild the signature data with the forged QE report signature and chain.
  Bytes cert6;
  Append(cert6, parsed_.qe_report_raw);
  Append(cert6, SignRaw(pck_key.get(), parsed_.qe_report_raw));
  PutLe(cert6, parsed_.qe_auth_data.size(), 2);
  Append(cert6, parsed_.qe_auth_data);
  PutLe(cert6, 5, 2);
  PutLe(cert6, chain.size(), 4);
  Append(cert6, AsBytes(chain));
  Bytes sig_data;
  Append(sig_data, parsed_.signature);
  Append(sig_data, parsed_.attestation_key);
  PutLe(sig_data, 6, 2);
  PutLe(sig_data, cert6.size(), 4);
  Append(sig_data, cert6);
  Bytes forged = parsed_.signed_region;
  PutLe(forged, sig_data.size(), 4);
  Append(forged, sig_data);
  ASSERT_TRUE(ParseQuote(forged).ok());
  EXPECT_ERROR_HAS(VerifyTdxQuote(forged, c_.View(false), k2023),
                   "tdx: PCK certificate: certificate chain: self-signed certificate in certificate chain");
  // Had the forged root been trusted, everything else would have verified.
  std::vector<Certificate> forged_roots{Certificate::ParseOne(AsBytes(Pem(root.get()))).value()};
  Quote q = ParseQuote(forged).value();
  EXPECT_TRUE(VerifyQuoteSignatures(q, k2023, forged_roots, {}).ok());

  // Revocation, under that trusted test root: a PCK CRL (issued by the PCK's issuer, with its
  // issuer chain) listing the PCK certificate's serial refuses it; one listing another does not.
  std::string root_pem = Pem(root.get());
  std::string other = MakeCrl(root_key.get(), "Intel SGX Root CA", {8});
  EXPECT_TRUE(VerifyQuoteSignatures(q, k2023, forged_roots, {}, AsBytes(other), AsBytes(root_pem)).ok());
  std::string revoked = MakeCrl(root_key.get(), "Intel SGX Root CA", {7});
  Result<PckExtensions> refused =
      VerifyQuoteSignatures(q, k2023, forged_roots, {}, AsBytes(revoked), AsBytes(root_pem));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "tdx: PCK certificate: certificate chain: certificate revoked at depth 0 "
            "(CN=Intel SGX PCK Certificate) evaluated at 2023-07-01T00:00:00Z");
  // The same CRL passed as the root CRL (every chain's CRLs) refuses it too.
  std::vector<crypto::Crl> as_root_crl{crypto::Crl::ParseOne(AsBytes(revoked)).value()};
  EXPECT_ERROR_HAS(VerifyQuoteSignatures(q, k2023, forged_roots, as_root_crl),
                   "tdx: PCK certificate: certificate chain: certificate revoked at depth 0");
}

// --- TCB status: Intel's algorithm on every EXPECTED evaluation ---------------------------------

struct Evaluated {
  TcbEvaluation tcb;
  TcbStatus qe_status;
};

Evaluated Evaluate(const json::object& e) {
  Quote quote = ParseQuote(Vector(e.at("quote").as_string())).value();
  Certificate pck = Certificate::ParseAll(quote.pck_chain_pem).value()[0];
  PckExtensions ext = PckExtensionsOf(pck).value();
  const json::object& eval = e.at("tcb_evaluation").as_object();
  Bytes tcb_body = Vector(eval.at("tcb_info").as_string());
  Bytes qe_body = Vector(eval.at("qe_identity").as_string());
  SignedJson tcb_json = ExtractSignedJson(AsChars(tcb_body), "tcbInfo").value();
  SignedJson qe_json = ExtractSignedJson(AsChars(qe_body), "enclaveIdentity").value();
  // Every collateral file carries Intel's signature. Its TCB Signing certificate (go-tdx-guest's
  // chain) expired 2025-05-21; Intel re-issued it with the same key, so the signature check holds
  // for the later files too when the chain is evaluated inside its validity.
  std::vector<Certificate> chain =
      ParseIssuerChain(Vector("go-tdx-guest/tcbinfo_issuer_chain.pem")).value();
  EXPECT_TRUE(VerifyCollateralSignature("tcb", tcb_json, chain, IntelSgxRoots(), {},
                                        At("2024-06-01T00:00:00Z")).ok());
  EXPECT_TRUE(VerifyCollateralSignature("qe", qe_json, chain, IntelSgxRoots(), {},
                                        At("2024-06-01T00:00:00Z")).ok());
  TcbInfo info = ParseTcbInfo(tcb_json.value).value();
  QeIdentity identity = ParseQeIdentity(qe_json.value).value();
  EXPECT_TRUE(CheckTcbInfoMatchesPck(info, ext).ok());
  const json::array& window = eval.at("result").at("collateral_window").as_array();
  EXPECT_EQ(info.issue_date, At(std::string(window[0].as_string()).c_str()));
  EXPECT_EQ(info.next_update, At(std::string(window[1].as_string()).c_str()));
  EXPECT_EQ(identity.issue_date, At(std::string(window[2].as_string()).c_str()));
  EXPECT_EQ(identity.next_update, At(std::string(window[3].as_string()).c_str()));
  TcbStatus qe_status = EvaluateQeIdentity(identity, quote.qe_report).value();
  Result<TcbEvaluation> tcb = EvaluateTdxTcb(info, ext, quote.body, qe_status);
  EXPECT_TRUE(tcb.ok()) << tcb.error().message();
  return {tcb.ok() ? *tcb : TcbEvaluation{}, qe_status};
}

TEST(TdxTcbTest, MatchesEveryExpectedEvaluation) {
  int evaluated = 0;
  for (const json::value& v : ExpectedTdx()) {
    const json::object& e = v.as_object();
    if (!e.contains("tcb_evaluation")) continue;
    SCOPED_TRACE(std::string(e.at("quote").as_string()));
    ++evaluated;
    Evaluated got = Evaluate(e);
    const json::object& result = e.at("tcb_evaluation").at("result").as_object();
    // QE identity: ["identity ok", "isvsvn", N, [status, date]].
    EXPECT_EQ(TcbStatusName(got.qe_status), result.at("qe_identity").as_array()[3].as_array()[0].as_string());
    const json::value& platform = result.at("platform_tcb");
    if (platform.is_null()) {
      EXPECT_FALSE(got.tcb.platform_status.has_value());
      EXPECT_EQ(got.tcb.status, TcbStatus::kNoMatchingLevel);
    } else {
      ASSERT_TRUE(got.tcb.platform_status.has_value());
      EXPECT_EQ(TcbStatusName(*got.tcb.platform_status), platform.as_array()[0].as_string());
      EXPECT_EQ(*got.tcb.platform_tcb_date, platform.as_array()[1].as_string());
    }
    if (const json::value* module = result.if_contains("tdx_module")) {
      EXPECT_EQ(*got.tcb.tdx_module_id, module->as_array()[0].as_string());
      EXPECT_EQ(TcbStatusName(*got.tcb.tdx_module_status),
                module->as_array()[1].as_array()[0].as_string());
    }
  }
  EXPECT_EQ(evaluated, 5);
}

TEST(TdxTcbTest, OverallStatusesOfTheVectors) {
  auto status_of = [](std::string_view quote) {
    for (const json::value& v : ExpectedTdx()) {
      if (v.at("quote").as_string() == quote) return Evaluate(v.as_object()).tcb.status;
    }
    ADD_FAILURE() << quote;
    return TcbStatus::kNoMatchingLevel;
  };
  EXPECT_EQ(status_of("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), TcbStatus::kNoMatchingLevel);
  EXPECT_EQ(status_of("go-tdx-guest/quote_v5_sample.dat"), TcbStatus::kUpToDate);
  EXPECT_EQ(status_of("trustee/tdx/tdx_quote_4.dat"), TcbStatus::kUpToDate);
  EXPECT_EQ(status_of("trustee/tdx/tdx_quote_5.dat"), TcbStatus::kNoMatchingLevel);
  EXPECT_EQ(status_of("trustee/tdx/tdx_quote_6.dat"), TcbStatus::kOutOfDate);
}

// Synthetic collateral around one platform, to reach each status and rule of the algorithm.
TcbInfo OneLevelInfo(TcbStatus status, uint8_t tdx0) {
  TcbInfo info;
  info.id = "TDX";
  info.version = 3;
  info.tdx_module = TdxModuleIdentity{};
  TdxModuleIdentity m;
  m.id = "TDX_01";
  m.levels = {{5, "2024", TcbStatus::kUpToDate}, {2, "2023", TcbStatus::kOutOfDate}};
  info.tdx_module_identities.push_back(m);
  TcbLevel level;
  level.sgx_components.fill(2);
  level.pce_svn = 11;
  level.tdx_components = std::array<uint8_t, 16>{tdx0, 0, 3};
  level.status = status;
  info.levels.push_back(level);
  return info;
}

TEST(TdxTcbTest, SyntheticLevelsCoverEveryRule) {
  PckExtensions pck;
  pck.tcb_components.fill(2);
  pck.pce_svn = 11;
  TdReport report;
  report.tee_tcb_svn = {6, 0, 3};
  for (TcbStatus s : {TcbStatus::kUpToDate, TcbStatus::kSWHardeningNeeded,
                      TcbStatus::kConfigurationNeeded, TcbStatus::kConfigurationAndSWHardeningNeeded,
                      TcbStatus::kOutOfDate, TcbStatus::kOutOfDateConfigurationNeeded,
                      TcbStatus::kRevoked}) {
    EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(s, 6), pck, report, TcbStatus::kUpToDate)->status, s);
  }
  // A TEE_TCB_SVN byte below the level: no match (TDX 1.0 compares byte 0 too).
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 7), pck, report, TcbStatus::kUpToDate)->status,
            TcbStatus::kNoMatchingLevel);
  // PCESVN below: no match.
  PckExtensions old_pce = pck;
  old_pce.pce_svn = 10;
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), old_pce, report, TcbStatus::kUpToDate)->status,
            TcbStatus::kNoMatchingLevel);
  // TDX 1.5 (major 1): bytes 0-1 go to the module identity; module SVN 3 is OutOfDate.
  TdReport v15 = report;
  v15.tee_tcb_svn = {3, 1, 3};
  Result<TcbEvaluation> e = EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), pck, v15, TcbStatus::kUpToDate);
  EXPECT_EQ(*e->tdx_module_id, "TDX_01");
  EXPECT_EQ(*e->tdx_module_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(e->status, TcbStatus::kOutOfDate);
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kConfigurationNeeded, 6), pck, v15, TcbStatus::kUpToDate)->status,
            TcbStatus::kOutOfDateConfigurationNeeded);
  v15.tee_tcb_svn = {1, 1, 3};  // below every module level
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), pck, v15, TcbStatus::kUpToDate)->status,
            TcbStatus::kNoMatchingLevel);
  v15.tee_tcb_svn = {6, 2, 3};  // no TDX_02 identity
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), pck, v15, TcbStatus::kUpToDate)->status,
            TcbStatus::kNoMatchingLevel);
  // QE status converges: OutOfDate lowers, Revoked wins.
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), pck, report, TcbStatus::kOutOfDate)->status,
            TcbStatus::kOutOfDate);
  EXPECT_EQ(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kSWHardeningNeeded, 6), pck, report, TcbStatus::kRevoked)->status,
            TcbStatus::kRevoked);
  // A module signer that differs from the collateral's fails.
  TdReport other = report;
  other.mr_signer_seam[0] = 1;
  EXPECT_ERROR_HAS(EvaluateTdxTcb(OneLevelInfo(TcbStatus::kUpToDate, 6), pck, other, TcbStatus::kUpToDate),
                   "MRSIGNERSEAM does not match");
  // SGX TCB info is not TDX TCB info.
  TcbInfo sgx = OneLevelInfo(TcbStatus::kUpToDate, 6);
  sgx.id = "SGX";
  EXPECT_ERROR_HAS(EvaluateTdxTcb(sgx, pck, report, TcbStatus::kUpToDate), "expected TDX TCB info");
}

TEST(TdxTcbTest, QeIdentityMismatchesAreNamed) {
  Bytes qe_body = Vector("go-tdx-guest/sample_qeIdentity_response");
  QeIdentity id = ParseQeIdentity(ExtractSignedJson(AsChars(qe_body), "enclaveIdentity")->value).value();
  SgxReport qe = ParseQuote(Vector("trustee/tdx/tdx_quote_4.dat"))->qe_report;
  EXPECT_EQ(EvaluateQeIdentity(id, qe).value(), TcbStatus::kUpToDate);
  SgxReport other = qe;
  other.mr_signer[0] ^= 1;
  EXPECT_ERROR_HAS(EvaluateQeIdentity(id, other), "MRSIGNER does not match");
  other = qe;
  other.isv_prod_id = 1;
  EXPECT_ERROR_HAS(EvaluateQeIdentity(id, other), "ISVPRODID 1 (expected 2)");
  other = qe;
  other.attributes[0] ^= 0x02;  // DEBUG of the enclave, inside the mask
  EXPECT_ERROR_HAS(EvaluateQeIdentity(id, other), "masked ATTRIBUTES");
  other = qe;
  other.misc_select = 1;
  EXPECT_ERROR_HAS(EvaluateQeIdentity(id, other), "masked MISCSELECT");
  other = qe;
  other.isv_svn = 3;
  EXPECT_EQ(EvaluateQeIdentity(id, other).value(), TcbStatus::kNoMatchingLevel);
}

TEST(TdxTcbTest, LaterCollateralFailsOnTheExpiredSigningCertificate) {
  // The vectors' TCB Signing certificate ends 2025-05-21: at the v5 collateral's own time the chain
  // is expired, and the verifier says so rather than trusting the signature alone.
  Bytes body = Vector("go-tdx-guest/sample_tcbinfo_response_v5");
  SignedJson tcb = ExtractSignedJson(AsChars(body), "tcbInfo").value();
  std::vector<Certificate> chain = ParseIssuerChain(Vector("go-tdx-guest/tcbinfo_issuer_chain.pem")).value();
  EXPECT_ERROR_HAS(VerifyCollateralSignature("tdx: TCB info", tcb, chain, IntelSgxRoots(), {},
                                             At("2026-02-03T00:00:00Z")),
                   "certificate has expired");
}

// --- Collateral JSON -----------------------------------------------------------------------------

TEST(TdxCollateralTest, ExtractsTheRawSignedValue) {
  std::string body = R"( {"tcbInfo" : {"a":[1,{"b":"x\"}"}]} , "signature":")" + std::string(128, 'a') + "\"}";
  SignedJson s = ExtractSignedJson(body, "tcbInfo").value();
  EXPECT_EQ(s.value, R"({"a":[1,{"b":"x\"}"}]})");
  EXPECT_ERROR_HAS(ExtractSignedJson(R"({"tcbInfo":{},"tcbInfo":{},"signature":""})", "tcbInfo"),
                   "duplicate member \"tcbInfo\"");
  EXPECT_ERROR_HAS(ExtractSignedJson(R"({"tcbInfo":{}})", "tcbInfo"), "no \"signature\"");
  EXPECT_ERROR_HAS(ExtractSignedJson(R"({"tcbInfo":{"a":1})", "tcbInfo"), "not valid JSON");
  EXPECT_ERROR_HAS(ExtractSignedJson(R"({"tcbInfo":{},"signature":"00"} x)", "tcbInfo"), "bytes after");
  EXPECT_ERROR_HAS(ExtractSignedJson(R"({"tcbInfo":{},"signature":"00"})", "tcbInfo"), "signature is not 64 bytes");
  std::string deep(100, '[');
  EXPECT_ERROR_HAS(ExtractSignedJson("{\"tcbInfo\":" + deep + "}", "tcbInfo"), "not valid JSON");
}

TEST(TdxCollateralTest, ParsesTrusteeCollateralWithUppercaseFmspc) {
  Bytes body = Vector("trustee/tdx/tcbInfo.json");
  TcbInfo info = ParseTcbInfo(ExtractSignedJson(AsChars(body), "tcbInfo")->value).value();
  EXPECT_EQ(Hex(info.fmspc), "00a06d080000");
  EXPECT_EQ(info.tcb_evaluation_data_number, 17);
  ASSERT_FALSE(info.tdx_module_identities.empty());
  EXPECT_EQ(info.tdx_module_identities[0].id, "TDX_03");
  EXPECT_ERROR_HAS(ParseTcbInfo(R"({"version":4})"), "version 4");
  EXPECT_ERROR_HAS(ParseTcbInfo(R"({"version":3,"issueDate":"x"})"), "\"issueDate\"");
}

// --- Policy --------------------------------------------------------------------------------------

TEST(TdxPolicyTest, EachRuleIsNamed) {
  TdxClaims claims;
  claims.tcb.status = TcbStatus::kOutOfDate;
  claims.report.td_attributes = kTdAttributeSeptVeDisable;
  EXPECT_ERROR_HAS(CheckTdxPolicy(claims, TdxPolicy{}),
                   "TCB status OutOfDate is not accepted (accepted: UpToDate)");
  TdxPolicy lenient;
  lenient.accepted_statuses = {TcbStatus::kUpToDate, TcbStatus::kOutOfDate};
  EXPECT_TRUE(CheckTdxPolicy(claims, lenient).ok());
  claims.tcb.status = TcbStatus::kUpToDate;
  claims.report.td_attributes = 0;
  EXPECT_ERROR_HAS(CheckTdxPolicy(claims, TdxPolicy{}), "SEPT_VE_DISABLE is not set");
  TdxPolicy no_sept;
  no_sept.require_sept_ve_disable = false;
  EXPECT_TRUE(CheckTdxPolicy(claims, no_sept).ok());
  claims.report.td_attributes = kTdAttributeSeptVeDisable | kTdAttributeDebug;
  EXPECT_ERROR_HAS(CheckTdxPolicy(claims, lenient), "TD attribute DEBUG is set");
  claims.report.td_attributes = kTdAttributeSeptVeDisable;
  TdxPolicy expect;
  expect.mr_config_id = Mr48{};
  expect.mr_owner = Mr48{};
  expect.mr_owner_config = Mr48{};
  expect.report_data = std::array<uint8_t, 64>{};
  EXPECT_TRUE(CheckTdxPolicy(claims, expect).ok());
  expect.mr_owner->at(0) = 1;
  EXPECT_ERROR_HAS(CheckTdxPolicy(claims, expect), "tdx: policy: MROWNER 0000");
  expect.mr_owner = std::nullopt;
  expect.report_data->at(63) = 1;
  EXPECT_ERROR_HAS(CheckTdxPolicy(claims, expect), "tdx: policy: REPORTDATA");
}

TEST(TdxPolicyTest, GraniteRapidsOutOfDateQuoteUnderUpToDatePolicy) {
  // tdx_quote_6 with trustee's collateral is OutOfDate (PCESVN 11 < 13); its TD is non-debug with
  // SEPT_VE_DISABLE, so the status is the only reason for refusal.
  for (const json::value& v : ExpectedTdx()) {
    if (v.at("quote").as_string() != "trustee/tdx/tdx_quote_6.dat") continue;
    TdxClaims claims;
    claims.report = ParseQuote(Vector("trustee/tdx/tdx_quote_6.dat"))->body;
    claims.tcb = Evaluate(v.as_object()).tcb;
    EXPECT_ERROR_HAS(CheckTdxPolicy(claims, TdxPolicy{}), "TCB status OutOfDate is not accepted");
    TdxPolicy lenient;
    lenient.accepted_statuses = {TcbStatus::kUpToDate, TcbStatus::kOutOfDate};
    Mr48 config{};
    std::copy_n(testing::Hex("889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67").begin(), 48, config.begin());
    lenient.mr_config_id = config;
    EXPECT_TRUE(CheckTdxPolicy(claims, lenient).ok());
  }
}

// --- CCEL ----------------------------------------------------------------------------------------

TEST(TdxCcelTest, ReplaysCos113LogToTheQuotesRtmrs) {
  CcelTable table = ParseCcelTable(Vector("go-tdx-guest/ccel/ccel_table.dat")).value();
  EXPECT_EQ(table.cc_type, 2);  // TDX
  EXPECT_EQ(table.log_area_minimum_length, 262144u);
  Result<CcelLog> log = ReplayCcel(Vector("go-tdx-guest/ccel/ccel_data.unpadded.bin"));
  ASSERT_TRUE(log.ok()) << log.error().message();
  EXPECT_GT(log->events.size(), 10u);
  Quote quote = ParseQuote(Vector("go-tdx-guest/ccel/cos-113-tdx-quote.dat")).value();
  EXPECT_TRUE(CheckRtmrs(*log, quote.body).ok());
  EXPECT_EQ(Hex(log->rtmr[0]),
            "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6");
  EXPECT_EQ(Hex(log->rtmr[3]), std::string(96, '0'));
  // And the quote itself verifies (no collateral is published for its FMSPC).
  EXPECT_TRUE(VerifyQuoteSignatures(quote, At("2024-08-01T00:00:00Z"), IntelSgxRoots(), {}).ok());
}

TEST(TdxCcelTest, ToleratesFillAndRejectsTampering) {
  Bytes log = Vector("go-tdx-guest/ccel/ccel_data.unpadded.bin");
  Bytes padded = log;
  padded.resize(log.size() + 1000, 0xFF);
  EXPECT_EQ(ReplayCcel(padded)->rtmr, ReplayCcel(log)->rtmr);
  Quote quote = ParseQuote(Vector("go-tdx-guest/ccel/cos-113-tdx-quote.dat")).value();
  // Flip a byte of the last event's digest: the replay no longer matches the quote.
  CcelLog replay = ReplayCcel(log).value();
  Bytes tampered = log;
  tampered[log.size() - replay.events.back().data.size() - 4 - 10] ^= 1;
  Result<CcelLog> bad = ReplayCcel(tampered);
  ASSERT_TRUE(bad.ok()) << bad.error().message();
  EXPECT_ERROR_HAS(CheckRtmrs(*bad, quote.body), "does not match the quote's");
  for (size_t length : {size_t{0}, size_t{10}, size_t{100}, log.size() - 1}) {
    EXPECT_FALSE(ReplayCcel(ByteView(log).first(length)).ok()) << length;
  }
  Bytes table = Vector("go-tdx-guest/ccel/ccel_table.dat");
  table[40] ^= 1;
  EXPECT_ERROR_HAS(ParseCcelTable(table), "checksum");
}

}  // namespace
}  // namespace openpcc::attest::tdx
