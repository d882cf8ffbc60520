// Certificate chains and signature encodings, on AMD's real Milan/Genoa chains and on keys made
// here. Each rejection asserts the reason it names.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "openpcc/crypto/signature.h"
#include "openpcc/crypto/x509.h"
#include "support/vectors.h"

namespace openpcc::crypto {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

std::chrono::sys_seconds At(const char* text) { return ParseUtcTime(text).value(); }

ChainPolicy PolicyAt(const char* text) {
  ChainPolicy policy;
  policy.at = At(text);
  return policy;
}

struct AmdChain {
  Certificate vcek;
  std::vector<Certificate> ask_ark;  // ASK first, then ARK
};

AmdChain LoadMilan() {
  Bytes vcek = ToBytes(testing::ReadVectorFile("go-sev-guest/vcek.testcer"));
  Bytes chain = ToBytes(testing::ReadVectorFile("go-sev-guest/trust/ask_ark_milan.pem"));
  return {Certificate::ParseOne(vcek).value(), Certificate::ParseAll(chain).value()};
}

TEST(X509Test, ParsesPemBundleAndDer) {
  AmdChain milan = LoadMilan();
  ASSERT_EQ(milan.ask_ark.size(), 2u);
  EXPECT_NE(milan.ask_ark[0].Subject().find("CN=SEV-Milan"), std::string::npos);
  EXPECT_NE(milan.ask_ark[1].Subject().find("CN=ARK-Milan"), std::string::npos);
  EXPECT_NE(milan.vcek.Issuer().find("CN=SEV-Milan"), std::string::npos);
  EXPECT_EQ(milan.vcek.IssuerCommonName(), "SEV-Milan");
  EXPECT_EQ(milan.vcek.SubjectCommonName(), "SEV-VCEK");
  EXPECT_EQ(milan.ask_ark[1].SubjectCommonName(), "ARK-Milan");
  EXPECT_EQ(milan.vcek.NotBefore(), At("2022-09-24T00:55:28Z"));
  // The VCEK carries AMD's TCB extensions (1.3.6.1.4.1.3704.1.3.1 = boot loader SPL).
  std::optional<Bytes> bl = milan.vcek.Extension("1.3.6.1.4.1.3704.1.3.1");
  ASSERT_TRUE(bl.has_value());
  EXPECT_FALSE(bl->empty());
  EXPECT_FALSE(milan.vcek.Extension("1.2.3.4.5").has_value());
  Bytes der = milan.vcek.Der();
  EXPECT_EQ(Certificate::ParseDer(der).value().Subject(), milan.vcek.Subject());
}

TEST(X509Test, RejectsGarbageAndTrailingBytes) {
  EXPECT_EQ(Certificate::ParseOne(ToBytes("not a cert")).error().code(), ErrorCode::kMalformed);
  Bytes der = LoadMilan().vcek.Der();
  der.push_back(0);
  Result<Certificate> trailing = Certificate::ParseDer(der);
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.error().message().find("trailing"), std::string::npos);
  Bytes bundle = ToBytes(testing::ReadVectorFile("go-sev-guest/trust/ask_ark_milan.pem"));
  EXPECT_NE(Certificate::ParseOne(bundle).error().message().find("expected one"),
            std::string::npos);
}

TEST(X509Test, VerifiesVcekToPinnedArk) {
  AmdChain milan = LoadMilan();
  std::vector<Certificate> ask{milan.ask_ark[0]};
  std::vector<Certificate> ark{milan.ask_ark[1]};
  EXPECT_TRUE(VerifyChain("sev-snp", milan.vcek, ask, ark, PolicyAt("2024-01-01T00:00:00Z")).ok());
}

TEST(X509Test, RefusesAnotherFamilysRoot) {
  AmdChain milan = LoadMilan();
  std::vector<Certificate> genoa =
      Certificate::ParseAll(ToBytes(testing::ReadVectorFile("go-sev-guest/trust/ask_ark_genoa.pem"))).value();
  std::vector<Certificate> ask{milan.ask_ark[0]};
  std::vector<Certificate> genoa_ark{genoa[1]};
  Status status = VerifyChain("sev-snp", milan.vcek, ask, genoa_ark, PolicyAt("2024-01-01T00:00:00Z"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_NE(status.error().message().find("unable to get"), std::string::npos)
      << status.error().message();
}

TEST(X509Test, RefusesOutsideValidity) {
  AmdChain milan = LoadMilan();
  std::vector<Certificate> ask{milan.ask_ark[0]};
  std::vector<Certificate> ark{milan.ask_ark[1]};
  Status early = VerifyChain("sev-snp", milan.vcek, ask, ark, PolicyAt("2021-01-01T00:00:00Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message().find("not yet valid"), std::string::npos)
      << early.error().message();
  Status late = VerifyChain("sev-snp", milan.vcek, ask, ark, PolicyAt("2030-01-01T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message().find("expired"), std::string::npos) << late.error().message();
}

TEST(X509Test, ChecksCrlOfTheIssuerThatHasOne) {
  AmdChain milan = LoadMilan();
  Crl crl = Crl::ParseOne(ToBytes(testing::ReadVectorFile("openpcc/extracted/test_amd_milan_crl.pem"))).value();
  EXPECT_NE(crl.Issuer().find("ARK-Milan"), std::string::npos);
  std::vector<Certificate> ask{milan.ask_ark[0]};
  std::vector<Certificate> ark{milan.ask_ark[1]};
  // The ARK's CRL covers the ASK; the VCEK has no CRL here, which is fine unless required.
  ChainPolicy policy{At("2025-06-01T00:00:00Z"), {crl}};
  EXPECT_TRUE(VerifyChain("sev-snp", milan.vcek, ask, ark, policy).ok());
  policy.require_crls = true;
  Status strict = VerifyChain("sev-snp", milan.vcek, ask, ark, policy);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.error().message().find("unable to get certificate CRL"), std::string::npos)
      << strict.error().message();
  // Past the CRL's nextUpdate (2026-05-12) the CRL itself has expired.
  ChainPolicy stale{At("2026-06-01T00:00:00Z"), {crl}};
  Status expired = VerifyChain("sev-snp", milan.vcek, ask, ark, stale);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message().find("CRL has expired"), std::string::npos)
      << expired.error().message();
}

EvpPkeyPtr Generate(const char* type, const char* param) {
  EVP_PKEY* key = nullptr;
  if (std::string_view(type) == "EC") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  }
  return EvpPkeyPtr(key);
}

Bytes Sign(EVP_PKEY* key, const EVP_MD* md, ByteView message, bool pss = false) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key), 1);
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t length = 0;
  EVP_DigestSign(ctx.get(), nullptr, &length, message.data(), message.size());
  Bytes sig(length);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &length, message.data(), message.size()), 1);
  sig.resize(length);
  return sig;
}

TEST(SignatureTest, EcdsaDerAndRawAgree) {
  EvpPkeyPtr key = Generate("EC", "P-384");
  Bytes message = ToBytes("attestation report");
  Bytes der = Sign(key.get(), EVP_sha384(), message);
  EXPECT_TRUE(VerifyEcdsaDer("test", key.get(), HashId::kSha384, message, der).ok());
  // Decode r and s to raw big-endian with leading zeros, as DCAP and SNP lay them out.
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(sig, nullptr);
  Bytes r(48), s(48);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), r.data(), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.data(), 48);
  ECDSA_SIG_free(sig);
  EXPECT_TRUE(VerifyEcdsaRaw("test", key.get(), HashId::kSha384, message, r, s).ok());
  EXPECT_TRUE(
      VerifyEcdsaDigestRaw("test", key.get(), Sha384(message), r, s).ok());
  message[0] ^= 1;
  Status bad = VerifyEcdsaRaw("quote signature", key.get(), HashId::kSha384, message, r, s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(bad.error().message(), "quote signature: signature does not verify");
}

TEST(SignatureTest, EcKeyFromCoordinatesRoundTrips) {
  EvpPkeyPtr key = Generate("EC", "P-256");
  Bytes spki = EncodePublicKeyDer(key.get()).value();
  // The uncompressed point is the last 65 bytes of a P-256 SPKI.
  ByteView point = ByteView(spki).last(65);
  EvpPkeyPtr rebuilt =
      EcPublicKeyFromCoordinates(EcCurve::kP256, point.subspan(1, 32), point.subspan(33, 32))
          .value();
  Bytes message = ToBytes("qe report");
  Bytes der = Sign(key.get(), EVP_sha256(), message);
  EXPECT_TRUE(VerifyEcdsaDer("test", rebuilt.get(), HashId::kSha256, message, der).ok());
  Bytes off_curve(32, 0x01);
  EXPECT_FALSE(EcPublicKeyFromCoordinates(EcCurve::kP256, off_curve, off_curve).ok());
  EXPECT_EQ(EcPublicKeyFromCoordinates(EcCurve::kP384, off_curve, off_curve).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParsePublicKey(spki).value() != nullptr, true);
}

TEST(SignatureTest, RsaPkcs1AndPss) {
  EvpPkeyPtr key = Generate("RSA", nullptr);
  Bytes message = ToBytes("tpm quote");
  Bytes pkcs1 = Sign(key.get(), EVP_sha256(), message);
  Bytes pss = Sign(key.get(), EVP_sha256(), message, true);
  EXPECT_TRUE(VerifyRsaPkcs1("test", key.get(), HashId::kSha256, message, pkcs1).ok());
  EXPECT_TRUE(VerifyRsaPss("test", key.get(), HashId::kSha256, message, pss).ok());
  EXPECT_TRUE(VerifyRsaPss("test", key.get(), HashId::kSha256, message, pss, kPssSaltAuto).ok());
  EXPECT_FALSE(VerifyRsaPss("test", key.get(), HashId::kSha256, message, pkcs1).ok());
  EXPECT_FALSE(VerifyRsaPkcs1("test", key.get(), HashId::kSha256, message, pss).ok());
  // Rebuild the key from modulus and exponent, as TPMT_PUBLIC carries it.
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), "n", &n), 1);
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), "e", &e), 1);
  Bytes nb(static_cast<size_t>(BN_num_bytes(n))), eb(static_cast<size_t>(BN_num_bytes(e)));
  BN_bn2bin(n, nb.data());
  BN_bn2bin(e, eb.data());
  BN_free(n);
  BN_free(e);
  EvpPkeyPtr rebuilt = RsaPublicKeyFromModulus(nb, eb).value();
  EXPECT_TRUE(VerifyRsaPkcs1("test", rebuilt.get(), HashId::kSha256, message, pkcs1).ok());
  EvpPkeyPtr ec = Generate("EC", "P-256");
  EXPECT_EQ(VerifyRsaPkcs1("ak", ec.get(), HashId::kSha256, message, pkcs1).error().message(),
            "ak: public key is not an RSA key");
}

TEST(TimeTest, ParsesAndFormatsUtc) {
  EXPECT_EQ(FormatUtcTime(At("2023-07-01")), "2023-07-01T00:00:00Z");
  EXPECT_EQ(FormatUtcTime(At("2024-02-29T23:59:58Z")), "2024-02-29T23:59:58Z");
  EXPECT_EQ(FormatUtcTime(At("2023-08-03T18:06:07.123Z")), "2023-08-03T18:06:07Z");
  for (const char* bad : {"2023-02-30", "2023-07-01T00:00:00", "2023-07-01 00:00:00Z",
                          "2023-07-01T24:00:00Z", "2023-7-1", "", "2023-07-01T00:00:00.Z"}) {
    EXPECT_FALSE(ParseUtcTime(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace openpcc::crypto
