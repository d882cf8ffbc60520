// crypto/ed25519.h and util/base64.h: RFC 8032 §7.1 test 1 and 2, tampering refused; RFC 4648 §10
// base64 examples, non-canonical spellings refused.
#include <gtest/gtest.h>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/util/base64.h"
#include "support/vectors.h"

namespace openpcc::crypto {
namespace {

using openpcc::testing::Hex;

TEST(Ed25519Test, SignsRfc8032Test1And2) {
  struct Case {
    const char* seed;
    const char* public_key;
    const char* message;
    const char* signature;
  } cases[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const auto& c : cases) {
    auto key = Ed25519PrivateKey::FromSeed(Hex(c.seed));
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_EQ(HexEncode(key->public_key().bytes()), c.public_key);
    auto sig = key->Sign(Hex(c.message));
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(HexEncode(*sig), c.signature);
    EXPECT_TRUE(key->public_key().Verify(Hex(c.message), *sig).ok());
    Bytes tampered = *sig;
    tampered[10] ^= 1;
    auto bad = key->public_key().Verify(Hex(c.message), tampered);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "ed25519: signature does not verify");
  }
}

TEST(Ed25519Test, RefusesWrongLengths) {
  EXPECT_EQ(Ed25519PrivateKey::FromSeed(Bytes(31)).error().message(), "ed25519: seed is 31 bytes, expected 32");
  EXPECT_EQ(Ed25519PublicKey::FromBytes(Bytes(33)).error().message(), "ed25519: public key is 33 bytes, expected 32");
  auto key = Ed25519PrivateKey::Generate();
  EXPECT_EQ(key.public_key().Verify(AsBytes("m"), Bytes(63)).error().message(),
            "ed25519: signature is 63 bytes, expected 64");
  EXPECT_EQ(key.seed().size(), 32u);
}

TEST(Base64Test, EncodesRfc4648Examples) {
  const std::pair<const char*, const char*> examples[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : examples) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(AsChars(*decoded), plain);
  }
  EXPECT_EQ(Base64UrlEncode(Bytes{0xfb, 0xff}), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), (Bytes{0xfb, 0xff}));
}

TEST(Base64Test, RefusesNonCanonicalSpellings) {
  EXPECT_EQ(Base64Decode("Zg=").error().message(), "base64: length 3 is not a multiple of 4");
  EXPECT_EQ(Base64Decode("Zh==").error().message(), "base64: non-canonical final character");
  EXPECT_EQ(Base64Decode("Z g=").error().message(), "base64: invalid character at offset 1");
  EXPECT_EQ(Base64Decode("Z===").error().message(), "base64: invalid character at offset 1");
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
}

}  // namespace
}  // namespace openpcc::crypto
