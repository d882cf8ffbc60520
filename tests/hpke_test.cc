// RFC 9180 test vectors for every mode and suite OpenPCC supports, plus behaviour the vectors do not
// cover (role checks, PSK rules, invalid keys).
#include "openpcc/crypto/hpke.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

#include "support/vectors.h"

namespace openpcc::crypto {
namespace {

using openpcc::testing::Hex;
namespace json = boost::json;

Bytes Field(const json::object& v, const char* name) {
  return Hex(std::string(v.at(name).as_string()));
}

json::array LoadVectors() {
  return json::parse(openpcc::testing::ReadVectorFile(
                         "protocols/hpke-rfc9180/rfc9180-vectors-x25519-p256-sha256.json"))
      .as_array();
}

std::string Describe(const json::object& v) {
  return "mode=" + std::to_string(v.at("mode").as_int64()) +
         " kem=" + std::to_string(v.at("kem_id").as_int64()) +
         " aead=" + std::to_string(v.at("aead_id").as_int64());
}

TEST(HpkeTest, ReproducesEveryRfc9180Vector) {
  const json::array vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), 32u);
  for (const auto& entry : vectors) {
    const json::object& v = entry.as_object();
    SCOPED_TRACE(Describe(v));
    auto suite = HpkeSuiteFromIds(static_cast<uint16_t>(v.at("kem_id").as_int64()),
                                  static_cast<uint16_t>(v.at("kdf_id").as_int64()),
                                  static_cast<uint16_t>(v.at("aead_id").as_int64()));
    ASSERT_TRUE(suite.ok());
    const auto mode = static_cast<HpkeMode>(v.at("mode").as_int64());

    auto recipient = SoftwareDhKey::Derive(suite->kem, Field(v, "ikmR"));
    auto ephemeral = SoftwareDhKey::Derive(suite->kem, Field(v, "ikmE"));
    ASSERT_TRUE(recipient.ok() && ephemeral.ok());
    EXPECT_EQ(ToBytes(recipient->public_key()), Field(v, "pkRm"));
    EXPECT_EQ(ToBytes(recipient->PrivateKeyBytes()->view()), Field(v, "skRm"));
    EXPECT_EQ(ToBytes(ephemeral->public_key()), Field(v, "pkEm"));

    const Bytes info = Field(v, "info");
    Bytes psk, psk_id;
    HpkeSenderOptions sender_options;
    HpkeRecipientOptions recipient_options;
    sender_options.ephemeral_key_for_testing = &*ephemeral;
    if (mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk) {
      psk = Field(v, "psk");
      psk_id = Field(v, "psk_id");
      sender_options.psk = recipient_options.psk = HpkePsk{psk, psk_id};
    }
    std::optional<SoftwareDhKey> sender_key;
    if (mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk) {
      auto derived = SoftwareDhKey::Derive(suite->kem, Field(v, "ikmS"));
      ASSERT_TRUE(derived.ok());
      sender_key.emplace(std::move(derived).value());
      EXPECT_EQ(ToBytes(sender_key->public_key()), Field(v, "pkSm"));
      sender_options.sender_key = &*sender_key;
      recipient_options.sender_public_key = sender_key->public_key();
    }

    auto sender = SetupSender(*suite, recipient->public_key(), info, sender_options);
    ASSERT_TRUE(sender.ok()) << sender.error().ToString();
    EXPECT_EQ(sender->enc, Field(v, "enc"));
    auto opener = SetupRecipient(*suite, sender->enc, *recipient, info, recipient_options);
    ASSERT_TRUE(opener.ok()) << opener.error().ToString();

    const json::array& encryptions = v.at("encryptions").as_array();
    const int64_t total = v.at("encryptions_total").as_int64();
    if (suite->aead == AeadId::kExportOnly) {
      EXPECT_EQ(sender->context.Seal({}, ToBytes("x")).error().code(), ErrorCode::kFailedPrecondition);
    }
    for (size_t i = 0; i < encryptions.size() && suite->aead != AeadId::kExportOnly; ++i) {
      const json::object& e = encryptions[i].as_object();
      // The file keeps the first three and the last encryption; advance both contexts to the last.
      if (i == encryptions.size() - 1) {
        for (int64_t skip = static_cast<int64_t>(i); skip < total - 1; ++skip) {
          auto filler = sender->context.Seal({}, {});
          ASSERT_TRUE(filler.ok());
          ASSERT_TRUE(opener->Open({}, *filler).ok());
        }
      }
      auto ct = sender->context.Seal(Field(e, "aad"), Field(e, "pt"));
      ASSERT_TRUE(ct.ok());
      EXPECT_EQ(*ct, Field(e, "ct")) << "encryption " << i;
      auto pt = opener->Open(Field(e, "aad"), Field(e, "ct"));
      ASSERT_TRUE(pt.ok()) << pt.error().ToString();
      EXPECT_EQ(ToBytes(pt->view()), Field(e, "pt"));
    }
    for (const auto& entry_export : v.at("exports").as_array()) {
      const json::object& x = entry_export.as_object();
      const auto length = static_cast<size_t>(x.at("L").as_int64());
      auto exported = sender->context.Export(Field(x, "exporter_context"), length);
      auto exported_r = opener->Export(Field(x, "exporter_context"), length);
      ASSERT_TRUE(exported.ok() && exported_r.ok());
      EXPECT_EQ(ToBytes(exported->view()), Field(x, "exported_value"));
      EXPECT_EQ(ToBytes(exported_r->view()), Field(x, "exported_value"));
    }
  }
}

TEST(HpkeTest, KeyScheduleMatchesIntermediateValues) {
  for (const auto& entry : LoadVectors()) {
    const json::object& v = entry.as_object();
    if (v.at("mode").as_int64() != 0 || v.at("aead_id").as_int64() == 0xFFFF) continue;
    SCOPED_TRACE(Describe(v));
    auto suite = HpkeSuiteFromIds(static_cast<uint16_t>(v.at("kem_id").as_int64()), 1,
                                  static_cast<uint16_t>(v.at("aead_id").as_int64()));
    ASSERT_TRUE(suite.ok());
    auto recipient = SoftwareDhKey::Derive(suite->kem, Field(v, "ikmR"));
    ASSERT_TRUE(recipient.ok());
    auto shared = Decap(Field(v, "enc"), *recipient);
    ASSERT_TRUE(shared.ok());
    EXPECT_EQ(ToBytes(shared->view()), Field(v, "shared_secret"));
  }
}

class HpkeBehaviourTest : public ::testing::Test {
 protected:
  const HpkeSuite suite_{KemId::kX25519HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes128Gcm};
  SoftwareDhKey recipient_ = std::move(SoftwareDhKey::Generate(KemId::kX25519HkdfSha256)).value();
};

TEST_F(HpkeBehaviourTest, RoundTripsInEveryModeAndSuite) {
  const Bytes psk(32, 0x42);
  const Bytes psk_id = ToBytes("psk id");
  for (KemId kem : {KemId::kX25519HkdfSha256, KemId::kP256HkdfSha256}) {
    auto recipient = SoftwareDhKey::Generate(kem);
    auto sender_key = SoftwareDhKey::Generate(kem);
    ASSERT_TRUE(recipient.ok() && sender_key.ok());
    for (KdfId kdf : {KdfId::kHkdfSha256, KdfId::kHkdfSha384, KdfId::kHkdfSha512}) {
      for (AeadId aead : {AeadId::kAes128Gcm, AeadId::kAes256Gcm, AeadId::kChaCha20Poly1305}) {
        for (int mode = 0; mode < 4; ++mode) {
          const HpkeSuite suite{kem, kdf, aead};
          HpkeSenderOptions so;
          HpkeRecipientOptions ro;
          if (mode & 1) so.psk = ro.psk = HpkePsk{psk, psk_id};
          if (mode & 2) {
            so.sender_key = &*sender_key;
            ro.sender_public_key = sender_key->public_key();
          }
          auto sender = SetupSender(suite, recipient->public_key(), ToBytes("info"), so);
          ASSERT_TRUE(sender.ok()) << sender.error().ToString();
          auto ct = sender->context.Seal(ToBytes("aad"), ToBytes("hello"));
          ASSERT_TRUE(ct.ok());
          auto opener = SetupRecipient(suite, sender->enc, *recipient, ToBytes("info"), ro);
          ASSERT_TRUE(opener.ok());
          auto pt = opener->Open(ToBytes("aad"), *ct);
          ASSERT_TRUE(pt.ok()) << "kem " << static_cast<int>(kem) << " mode " << mode;
          EXPECT_EQ(AsChars(pt->view()), "hello");
        }
      }
    }
  }
}

TEST_F(HpkeBehaviourTest, RejectsFlippedCiphertextBitAndKeepsSequence) {
  auto sender = SetupSender(suite_, recipient_.public_key(), {});
  ASSERT_TRUE(sender.ok());
  auto ct = sender->context.Seal({}, ToBytes("message"));
  ASSERT_TRUE(ct.ok());
  auto opener = SetupRecipient(suite_, sender->enc, recipient_, {});
  ASSERT_TRUE(opener.ok());
  Bytes tampered = *ct;
  tampered[0] ^= 0x01;
  EXPECT_EQ(opener->Open({}, tampered).error().code(), ErrorCode::kAuthenticationFailed);
  // A failed OpenAppend leaves the output as it was, with no unauthenticated bytes in it.
  SecretBytes out(ToBytes("prefix"));
  EXPECT_EQ(opener->OpenAppend({}, tampered, out).error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(AsChars(out.view()), "prefix");
  // The forged message did not consume a sequence number: the genuine one still opens.
  ASSERT_TRUE(opener->OpenAppend({}, *ct, out).ok());
  EXPECT_EQ(AsChars(out.view()), "prefixmessage");
}

TEST_F(HpkeBehaviourTest, RejectsWrongAadAndWrongInfo) {
  auto sender = SetupSender(suite_, recipient_.public_key(), ToBytes("info"));
  ASSERT_TRUE(sender.ok());
  auto ct = sender->context.Seal(ToBytes("aad"), ToBytes("m"));
  auto opener = SetupRecipient(suite_, sender->enc, recipient_, ToBytes("info"));
  EXPECT_EQ(opener->Open(ToBytes("other"), *ct).error().code(), ErrorCode::kAuthenticationFailed);
  auto wrong_info = SetupRecipient(suite_, sender->enc, recipient_, ToBytes("other info"));
  EXPECT_EQ(wrong_info->Open(ToBytes("aad"), *ct).error().code(), ErrorCode::kAuthenticationFailed);
}

TEST_F(HpkeBehaviourTest, EnforcesRoles) {
  auto sender = SetupSender(suite_, recipient_.public_key(), {});
  EXPECT_EQ(sender->context.Open({}, Bytes(32)).error().code(), ErrorCode::kFailedPrecondition);
  auto opener = SetupRecipient(suite_, sender->enc, recipient_, {});
  EXPECT_EQ(opener->Seal({}, {}).error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(HpkeBehaviourTest, RejectsShortOrOneSidedPsk) {
  const Bytes short_psk(31, 1), psk_id = ToBytes("id");
  HpkeSenderOptions options;
  options.psk = HpkePsk{short_psk, psk_id};
  EXPECT_EQ(SetupSender(suite_, recipient_.public_key(), {}, options).error().code(),
            ErrorCode::kInvalidArgument);
  const Bytes psk(32, 1);
  options.psk = HpkePsk{psk, {}};
  EXPECT_EQ(SetupSender(suite_, recipient_.public_key(), {}, options).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(HpkeBehaviourTest, KeyScheduleVerifiesPskInputsAgainstMode) {
  const Bytes shared(32, 7), psk(32, 1), psk_id = ToBytes("id");
  EXPECT_EQ(KeySchedule(HpkeContext::Role::kSender, HpkeMode::kPsk, suite_, shared, {}, std::nullopt)
                .error().message(), "hpke: psk mode without a psk");
  EXPECT_EQ(KeySchedule(HpkeContext::Role::kSender, HpkeMode::kBase, suite_, shared, {}, HpkePsk{psk, psk_id})
                .error().message(), "hpke: psk given in a non-psk mode");
  EXPECT_TRUE(KeySchedule(HpkeContext::Role::kSender, HpkeMode::kAuthPsk, suite_, shared, {}, HpkePsk{psk, psk_id}).ok());
}

TEST_F(HpkeBehaviourTest, RejectsInvalidPublicKeys) {
  // Wrong length.
  EXPECT_EQ(SetupSender(suite_, Bytes(31, 9), {}).error().code(), ErrorCode::kMalformed);
  // All-zero X25519 point: the DH result would be zero (small order).
  EXPECT_EQ(SetupSender(suite_, Bytes(32, 0), {}).error().code(), ErrorCode::kMalformed);
  const HpkeSuite p256{KemId::kP256HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes128Gcm};
  Bytes off_curve(65, 0x01);
  off_curve[0] = 0x04;
  EXPECT_EQ(SetupSender(p256, off_curve, {}).error().code(), ErrorCode::kMalformed);
  Bytes compressed(65, 0x01);
  compressed[0] = 0x02;
  EXPECT_EQ(SetupSender(p256, compressed, {}).error().code(), ErrorCode::kMalformed);
}

TEST_F(HpkeBehaviourTest, RejectsUnknownSuiteIds) {
  EXPECT_EQ(HpkeSuiteFromIds(0x0021, 1, 1).error().message(), "hpke: kem_id 0x0021 is not supported");
  EXPECT_EQ(HpkeSuiteFromIds(0x0020, 4, 1).error().message(), "hpke: kdf_id 0x0004 is not supported");
  EXPECT_EQ(HpkeSuiteFromIds(0x0020, 1, 4).error().message(), "hpke: aead_id 0x0004 is not supported");
}

TEST(SecretBytesTest, ComparesInConstantTimeAndClears) {
  SecretBytes a(ToBytes("secret")), b(ToBytes("secret")), c(ToBytes("secreT"));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(ConstantTimeEqual(ToBytes("ab"), ToBytes("abc")));
  a.Clear();
  EXPECT_TRUE(a.empty());
  // Growing reuses capacity in place and otherwise grows geometrically.
  SecretBytes grow;
  for (int i = 0; i < 1000; ++i) grow.Resize(grow.size() + 100);
  EXPECT_EQ(grow.size(), 100000u);
  grow.Clear();
  grow.Resize(10);
  EXPECT_EQ(grow.size(), 10u);
  SecretBytes moved = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(moved.size(), 6u);
}

}  // namespace
}  // namespace openpcc::crypto
