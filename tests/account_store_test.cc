// Issuer accounts: API keys stored hashed and shown once, authentication, revocation, quotas.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "openpcc/tokens/account_store.h"

namespace openpcc::tokens {
namespace {

using std::chrono::sys_seconds;
const sys_seconds T0{std::chrono::seconds(1'700'000'000 - 1'700'000'000 % 86400)};

class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-acct-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = AccountStore::Open((dir_ / "accounts.db").string());
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<AccountStore> store_;
};

TEST_F(AccountStoreTest, ApiKeyAuthenticatesUntilRevokedAndIsNotStored) {
  auto account = store_->CreateAccount("alice", 100, 1000, T0);
  ASSERT_TRUE(account.ok());
  auto key = store_->CreateApiKey(*account, T0);
  ASSERT_TRUE(key.ok());
  const std::string api_key(key->api_key.begin(), key->api_key.end());
  EXPECT_EQ(api_key.substr(0, 5), "opcc_");
  auto who = store_->Authenticate(api_key);
  ASSERT_TRUE(who.ok()) << who.error().ToString();
  EXPECT_EQ(*who, *account);

  // The secret part never reaches the database files.
  store_.reset();
  std::string db_bytes;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(f.path(), std::ios::binary);
    db_bytes += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(db_bytes.find(api_key.substr(22)), std::string::npos);
  EXPECT_NE(db_bytes.find(key->key_id), std::string::npos);
  Reopen();
  ASSERT_TRUE(store_->Authenticate(api_key).ok());

  std::string wrong = api_key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto bad = store_->Authenticate(wrong);
  EXPECT_EQ(bad.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(bad.error().message(), "issuer: API key is not valid");
  EXPECT_EQ(store_->Authenticate("garbage").error().message(), "issuer: API key is not valid");

  ASSERT_TRUE(store_->RevokeApiKey(key->key_id, T0).ok());
  EXPECT_EQ(store_->Authenticate(api_key).error().code(), ErrorCode::kAuthenticationFailed);
  auto list = store_->ListAccounts();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "alice");
  ASSERT_EQ((*list)[0].keys.size(), 1u);
  EXPECT_TRUE((*list)[0].keys[0].revoked_at.has_value());
  EXPECT_EQ(store_->RevokeApiKey(key->key_id, T0).error().message(),
            "issuer: no such unrevoked API key");
}

TEST_F(AccountStoreTest, QuotasPerHourAndPerDay) {
  auto account = store_->CreateAccount("bob", 10, 15, T0);
  ASSERT_TRUE(account.ok());
  EXPECT_TRUE(store_->ConsumeQuota(*account, 8, T0).ok());
  Status s = store_->ConsumeQuota(*account, 3, T0 + std::chrono::minutes(30));
  EXPECT_EQ(s.error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(s.error().message(), "issuer: hourly quota of 10 tokens would be exceeded");
  EXPECT_TRUE(store_->ConsumeQuota(*account, 2, T0 + std::chrono::minutes(59)).ok());
  // Next hour: the hourly window resets, the daily one does not.
  EXPECT_TRUE(store_->ConsumeQuota(*account, 5, T0 + std::chrono::hours(1)).ok());
  s = store_->ConsumeQuota(*account, 1, T0 + std::chrono::hours(2));
  EXPECT_EQ(s.error().message(), "issuer: daily quota of 15 tokens would be exceeded");
  EXPECT_TRUE(store_->ConsumeQuota(*account, 10, T0 + std::chrono::hours(24)).ok());
  EXPECT_TRUE(store_->SetQuotas(*account, 100, 100).ok());
  EXPECT_TRUE(store_->ConsumeQuota(*account, 50, T0 + std::chrono::hours(25)).ok());
}

TEST_F(AccountStoreTest, RefusesDuplicateAndUnprintableNames) {
  ASSERT_TRUE(store_->CreateAccount("carol", 1, 1, T0).ok());
  EXPECT_EQ(store_->CreateAccount("carol", 1, 1, T0).error().message(),
            "issuer: account name already exists");
  EXPECT_EQ(store_->CreateAccount("a b", 1, 1, T0).error().message(),
            "issuer: account name must be printable ASCII");
  EXPECT_EQ(store_->CreateApiKey(999, T0).error().message(), "issuer: no such account");
}

}  // namespace
}  // namespace openpcc::tokens
