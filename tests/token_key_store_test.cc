// tokens/token_key_store: token key files round-trip (windows and key), are created 0600 and never
// overwritten, are refused when others can read them or their header is wrong, and expire.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/token_key_store.h"

namespace openpcc::tokens {
namespace {

using std::chrono::hours;
const std::chrono::sys_seconds T0{std::chrono::seconds(1'700'000'000)};

class TokenKeyStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new IssuerKey(IssuerKey::Make(crypto::BlindRsaPrivateKey::Generate(2048).value(),
                                         {T0, T0 + hours(10), T0 + hours(12)})
                             .value());
  }
  static void TearDownTestSuite() { delete key_; }
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-tks-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    keys_ = (dir_ / "keys").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path OnlyFile() const {
    return std::filesystem::directory_iterator(keys_)->path();
  }

  static IssuerKey* key_;
  std::filesystem::path dir_;
  std::string keys_;
};
IssuerKey* TokenKeyStoreTest::key_ = nullptr;

TEST_F(TokenKeyStoreTest, SavesAndLoadsKeyAndWindows) {
  ASSERT_TRUE(SaveTokenKey(keys_, *key_).ok());
  auto loaded = LoadTokenKeys(keys_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  const IssuerKey& k = (*loaded)[0].key;
  EXPECT_EQ(k.id, key_->id);
  EXPECT_EQ(k.windows.not_before, T0);
  EXPECT_EQ(k.windows.issue_until, T0 + hours(10));
  EXPECT_EQ(k.windows.redeem_until, T0 + hours(12));
  EXPECT_EQ(OnlyFile().filename().string(),
            "token-1700000000-" + HexEncode(ByteView(key_->id.data(), 8)) + ".pem");
  struct stat st;
  ASSERT_EQ(stat(OnlyFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(keys_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The loaded key signs what the original's public key verifies.
  const Bytes challenge{0, 2, 0, 1, 'i', 0, 0, 0};
  auto req = CreateTokenRequest(challenge, key_->key->public_key()).value();
  auto res = IssueTokenResponse(*k.key, req.request);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(FinalizeToken(req.pending, *res, key_->key->public_key()).ok());
  // Never overwritten.
  EXPECT_FALSE(SaveTokenKey(keys_, *key_).ok());
}

TEST_F(TokenKeyStoreTest, FileIsPkcs8PemAfterItsHeader) {
  auto text = FormatTokenKeyFile(*key_);
  ASSERT_TRUE(text.ok());
  const std::string s(text->data(), text->size());
  EXPECT_EQ(s.rfind("openpcc-token-key: 1\nnot-before: 1700000000\nissue-until: 1700036000\n"
                    "redeem-until: 1700043200\n\n-----BEGIN PRIVATE KEY-----\n",
                    0),
            0u);
  const size_t pem = s.find("-----BEGIN");
  auto sk = crypto::BlindRsaPrivateKey::FromPkcs8(
      ByteView(reinterpret_cast<const uint8_t*>(s.data() + pem), s.size() - pem));
  ASSERT_TRUE(sk.ok());
  EXPECT_EQ(TokenKeyIdOf(sk->public_key()), key_->id);
}

TEST_F(TokenKeyStoreTest, RefusesFilesOthersCanReadOrWithWrongHeaders) {
  ASSERT_TRUE(SaveTokenKey(keys_, *key_).ok());
  chmod(OnlyFile().c_str(), 0644);
  auto loaded = LoadTokenKeys(keys_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("is readable by others (mode must be 0600)"),
            std::string::npos);

  const std::string s(FormatTokenKeyFile(*key_)->c_str());
  auto parse = [](const std::string& t) {
    return ParseTokenKeyFile(ByteView(reinterpret_cast<const uint8_t*>(t.data()), t.size()));
  };
  EXPECT_TRUE(parse(s).ok());
  std::string swapped = s;
  swapped.replace(swapped.find("issue-until: 1700036000"), 23, "issue-until: 1690000000");
  EXPECT_EQ(parse(swapped).error().message(),
            "token keys: windows must satisfy not-before < issue-until <= redeem-until");
  std::string no_magic = s.substr(s.find('\n') + 1);
  EXPECT_EQ(parse(no_magic).error().code(), ErrorCode::kMalformed);
  std::string bad_number = s;
  bad_number.replace(bad_number.find("1700000000"), 10, "17000x0000");
  EXPECT_EQ(parse(bad_number).error().message(),
            "token keys: header 'not-before' is not a number of seconds");
  EXPECT_EQ(parse("openpcc-token-key: 1\n").error().message(),
            "token keys: no PKCS#8 PEM block (BEGIN PRIVATE KEY)");
}

TEST_F(TokenKeyStoreTest, RemovesOnlyExpiredKeys) {
  ASSERT_TRUE(SaveTokenKey(keys_, *key_).ok());
  EXPECT_EQ(RemoveExpiredTokenKeys(keys_, T0 + hours(12) - std::chrono::seconds(1)).value(), 0u);
  EXPECT_EQ(RemoveExpiredTokenKeys(keys_, T0 + hours(12)).value(), 1u);
  EXPECT_EQ(LoadTokenKeys(keys_)->size(), 0u);
  EXPECT_EQ(LoadTokenKeys((dir_ / "missing").string())->size(), 0u);
}

}  // namespace
}  // namespace openpcc::tokens
