// RSA blind signatures (RFC 9474): the RFC's vectors for all four variants, round trips with fresh
// keys, key encodings (RFC 9578 token-key SPKI), and each check refusing tampered input.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

#include "openpcc/crypto/blind_rsa.h"
#include "support/vectors.h"

namespace openpcc::crypto {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;

Bytes HexField(const json::object& v, const char* name) {
  std::string s(v.at(name).as_string());
  if (s.rfind("0x", 0) == 0) s = s.substr(2);
  if (s.size() % 2 != 0) s = "0" + s;
  return Hex(s);
}

BlindRsaVariant VariantNamed(std::string_view name) {
  for (auto v : {BlindRsaVariant::kSha384PssRandomized, BlindRsaVariant::kSha384PssZeroRandomized,
                 BlindRsaVariant::kSha384PssDeterministic,
                 BlindRsaVariant::kSha384PssZeroDeterministic}) {
    if (BlindRsaVariantName(v) == name) return v;
  }
  ADD_FAILURE() << "unknown variant " << name;
  return BlindRsaVariant::kSha384PssDeterministic;
}

json::array Rfc9474Vectors() {
  return json::parse(openpcc::testing::ReadVectorFile("protocols/rsa-blind-rfc9474/test_vectors_rfc9474.json"))
      .as_array();
}

// A 2048-bit key shared by the tests that do not need a particular one (generation is slow).
const BlindRsaPrivateKey& TestKey() {
  static const BlindRsaPrivateKey* key = [] {
    auto k = BlindRsaPrivateKey::Generate(2048);
    if (!k.ok()) std::abort();
    return new BlindRsaPrivateKey(std::move(k).value());
  }();
  return *key;
}

TEST(BlindRsaTest, ReproducesRfc9474VectorsForAllFourVariants) {
  const json::array vectors = Rfc9474Vectors();
  ASSERT_EQ(vectors.size(), 4u);
  for (const auto& item : vectors) {
    const json::object& v = item.as_object();
    const std::string name(v.at("name").as_string());
    SCOPED_TRACE(name);
    const BlindRsaVariant variant = VariantNamed(name);
    auto sk = BlindRsaPrivateKey::FromComponents(HexField(v, "n"), HexField(v, "e"),
                                                 HexField(v, "d"), HexField(v, "p"),
                                                 HexField(v, "q"));
    ASSERT_TRUE(sk.ok()) << sk.error().ToString();
    const BlindRsaPublicKey& pk = sk->public_key();
    EXPECT_EQ(pk.ModulusBytes(), HexField(v, "n"));
    EXPECT_EQ(BlindRsaSaltLength(variant), HexField(v, "sLen")[0]);
    EXPECT_EQ(BlindRsaIsRandomized(variant), HexField(v, "is_randomized")[0] == 1);

    const Bytes input = BlindRsaPrepareForTesting(variant, HexField(v, "msg"),
                                                  HexField(v, "msg_prefix"));
    EXPECT_EQ(input, HexField(v, "input_msg"));
    Bytes inv = HexField(v, "inv");
    inv.insert(inv.begin(), pk.modulus_length() - inv.size(), 0);
    auto blinding = BlindRsaBlindForTesting(variant, pk, input, {HexField(v, "salt"), {}, inv});
    ASSERT_TRUE(blinding.ok()) << blinding.error().ToString();
    EXPECT_EQ(blinding->blinded_msg, HexField(v, "blinded_msg"));
    EXPECT_EQ(ToBytes(blinding->inv.view()), inv);

    auto blind_sig = BlindRsaBlindSign(*sk, blinding->blinded_msg);
    ASSERT_TRUE(blind_sig.ok()) << blind_sig.error().ToString();
    EXPECT_EQ(*blind_sig, HexField(v, "blind_sig"));

    auto sig = BlindRsaFinalize(variant, pk, input, *blind_sig, blinding->inv);
    ASSERT_TRUE(sig.ok()) << sig.error().ToString();
    EXPECT_EQ(*sig, HexField(v, "sig"));
    EXPECT_TRUE(BlindRsaVerify(variant, pk, input, *sig).ok());
  }
}

TEST(BlindRsaTest, RejectsTamperedRfc9474Signatures) {
  for (const auto& item : Rfc9474Vectors()) {
    const json::object& v = item.as_object();
    const BlindRsaVariant variant = VariantNamed(std::string(v.at("name").as_string()));
    auto pk = BlindRsaPublicKey::FromComponents(HexField(v, "n"), HexField(v, "e"));
    ASSERT_TRUE(pk.ok());
    Bytes input = HexField(v, "input_msg");
    Bytes sig = HexField(v, "sig");
    ASSERT_TRUE(BlindRsaVerify(variant, *pk, input, sig).ok());

    Bytes bad_sig = sig;
    bad_sig[10] ^= 1;
    Status s = BlindRsaVerify(variant, *pk, input, bad_sig);
    EXPECT_EQ(s.error().code(), ErrorCode::kAuthenticationFailed);
    EXPECT_EQ(s.error().message(), "blind_rsa: RSASSA-PSS signature does not verify");

    Bytes bad_msg = input;
    bad_msg.back() ^= 1;
    EXPECT_EQ(BlindRsaVerify(variant, *pk, bad_msg, sig).error().code(),
              ErrorCode::kAuthenticationFailed);

    s = BlindRsaVerify(variant, *pk, input, ByteView(sig).first(sig.size() - 1));
    EXPECT_EQ(s.error().code(), ErrorCode::kMalformed);
    EXPECT_EQ(s.error().message(), "blind_rsa: signature is 511 bytes, expected 512");

    // The salt length is part of the variant: a PSS signature is not a PSSZERO one.
    const BlindRsaVariant other = BlindRsaSaltLength(variant) == 0
                                      ? BlindRsaVariant::kSha384PssDeterministic
                                      : BlindRsaVariant::kSha384PssZeroDeterministic;
    EXPECT_FALSE(BlindRsaVerify(other, *pk, input, sig).ok());
  }
}

TEST(BlindRsaTest, RoundTripsEveryVariantWithAFreshKey) {
  const BlindRsaPrivateKey& sk = TestKey();
  for (auto variant : {BlindRsaVariant::kSha384PssRandomized,
                       BlindRsaVariant::kSha384PssZeroRandomized,
                       BlindRsaVariant::kSha384PssDeterministic,
                       BlindRsaVariant::kSha384PssZeroDeterministic}) {
    SCOPED_TRACE(std::string(BlindRsaVariantName(variant)));
    const Bytes msg = ToBytes("hello, blind world");
    const Bytes input = BlindRsaPrepare(variant, msg);
    EXPECT_EQ(input.size(), msg.size() + (BlindRsaIsRandomized(variant) ? 32 : 0));
    auto blinding = BlindRsaBlind(variant, sk.public_key(), input);
    ASSERT_TRUE(blinding.ok());
    auto blind_sig = BlindRsaBlindSign(sk, blinding->blinded_msg);
    ASSERT_TRUE(blind_sig.ok());
    auto sig = BlindRsaFinalize(variant, sk.public_key(), input, *blind_sig, blinding->inv);
    ASSERT_TRUE(sig.ok()) << sig.error().ToString();
    EXPECT_TRUE(BlindRsaVerify(variant, sk.public_key(), input, *sig).ok());
    // Blinding is randomized: the same message blinds differently each time.
    auto again = BlindRsaBlind(variant, sk.public_key(), input);
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again->blinded_msg, blinding->blinded_msg);
  }
}

TEST(BlindRsaTest, FinalizeRejectsAWrongBlindSignature) {
  const BlindRsaPrivateKey& sk = TestKey();
  const auto variant = BlindRsaVariant::kSha384PssDeterministic;
  const Bytes input = ToBytes("message");
  auto blinding = BlindRsaBlind(variant, sk.public_key(), input);
  ASSERT_TRUE(blinding.ok());
  auto blind_sig = BlindRsaBlindSign(sk, blinding->blinded_msg);
  ASSERT_TRUE(blind_sig.ok());
  Bytes bad = *blind_sig;
  bad[100] ^= 0x40;
  auto sig = BlindRsaFinalize(variant, sk.public_key(), input, bad, blinding->inv);
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(sig.error().message(),
            "blind_rsa: finalized signature does not verify (the signer's answer is wrong)");
  // A signature for another message does not finalize either.
  auto sig2 = BlindRsaFinalize(variant, sk.public_key(), ToBytes("other"), *blind_sig, blinding->inv);
  EXPECT_EQ(sig2.error().code(), ErrorCode::kAuthenticationFailed);
}

TEST(BlindRsaTest, BlindSignRefusesWrongLengthAndOutOfRangeInput) {
  const BlindRsaPrivateKey& sk = TestKey();
  auto r = BlindRsaBlindSign(sk, Bytes(255, 1));
  EXPECT_EQ(r.error().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.error().message(), "blind_rsa: blinded message is 255 bytes, expected 256");
  r = BlindRsaBlindSign(sk, Bytes(256, 0xff));
  EXPECT_EQ(r.error().code(), ErrorCode::kMalformed);
  EXPECT_EQ(r.error().message(), "blind_rsa: blinded message is not below the modulus");
}

TEST(BlindRsaTest, TokenKeySpkiMatchesRfc9578Encoding) {
  const json::array vectors =
      json::parse(openpcc::testing::ReadVectorFile(
                      "protocols/privacypass-rfc9578/rfc9578-appendix-A-parsed.json"))
          .as_array();
  const json::object& v = vectors.at(5).as_object();
  const Bytes pk_spki = Hex(v.at("pkS").as_string());
  const Bytes sk_pem = Hex(v.at("skS").as_string());
  auto pk = BlindRsaPublicKey::FromSpki(pk_spki);
  ASSERT_TRUE(pk.ok()) << pk.error().ToString();
  EXPECT_EQ(pk->SpkiRsaPss(), pk_spki);
  auto sk = BlindRsaPrivateKey::FromPkcs8(sk_pem);
  ASSERT_TRUE(sk.ok()) << sk.error().ToString();
  EXPECT_EQ(sk->public_key().SpkiRsaPss(), pk_spki);

  // The rsaEncryption form of the same key imports to the same key.
  auto plain = BlindRsaPublicKey::FromSpki(pk->SpkiRsaEncryption());
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->SpkiRsaPss(), pk_spki);

  // PKCS#8 export round-trips.
  auto der = sk->ToPkcs8Der();
  ASSERT_TRUE(der.ok());
  auto again = BlindRsaPrivateKey::FromPkcs8(der->view());
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->public_key().SpkiRsaPss(), pk_spki);
}

TEST(BlindRsaTest, RejectsSpkiWithOtherPssParametersOrTrailingBytes) {
  const Bytes spki = TestKey().public_key().SpkiRsaPss();
  Bytes trailing = spki;
  trailing.push_back(0);
  auto r = BlindRsaPublicKey::FromSpki(trailing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kMalformed);

  // Salt length 48 (0x30) -> 32 (0x20): the last byte of the PSS parameters.
  Bytes other_salt = spki;
  ASSERT_EQ(other_salt[66], 0x30);
  other_salt[66] = 0x20;
  r = BlindRsaPublicKey::FromSpki(other_salt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "blind_rsa: RSASSA-PSS public key is not DER with parameters SHA-384, MGF1-SHA-384, "
            "salt 48");

  r = BlindRsaPublicKey::FromSpki(ByteView(spki).first(100));
  EXPECT_EQ(r.error().message(), "blind_rsa: public key is not an RSA SubjectPublicKeyInfo");

  // A 1024-bit key is refused.
  auto small = BlindRsaPublicKey::FromComponents(Bytes(128, 0xc1), Bytes{1, 0, 1});
  EXPECT_EQ(small.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(small.error().message(), "blind_rsa: modulus of 1024 bits is not in [2048, 4096]");
}

}  // namespace
}  // namespace openpcc::crypto
