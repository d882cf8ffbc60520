// `openpcc keys`: every kind's files parse back with the library, modes are right, rotation keeps
// the previous key, `show` prints no private key; and every transparency command's --help names
// each of its flags.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/note.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/key_config.h"
#include "tlog_process_util.h"

namespace openpcc::tlog::testing {
namespace {

using openpcc::testing::RunCli;
namespace fs = std::filesystem;

unsigned Mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

boost::json::object Generate(const fs::path& dir, const std::string& kind, const std::string& name) {
  auto r = RunCli({"keys", "generate", "--kind", kind, "--out", dir.string(), "--name", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return boost::json::parse(r.out).as_object();
}

TEST(KeysCliTest, Ed25519KeysRoundTrip) {
  TempDir dir;
  for (const char* kind : {"directory", "release", "log", "witness"}) {
    auto info = Generate(dir.path(), kind, kind);
    const fs::path key = dir.path() / (std::string(kind) + ".key");
    EXPECT_EQ(Mode(key), 0600u) << kind;
    EXPECT_EQ(Mode(dir.path() / (std::string(kind) + ".pub")), 0644u) << kind;
    auto priv = services::ReadEd25519PrivateKey(key);
    ASSERT_TRUE(priv.ok()) << priv.error().ToString();
    auto pub = services::ReadEd25519PublicKey(dir.path() / (std::string(kind) + ".pub"));
    ASSERT_TRUE(pub.ok()) << pub.error().ToString();
    EXPECT_EQ(priv->public_key(), pub.value());
    EXPECT_EQ(info.at("public_key").as_string(), Base64Encode(pub->bytes()));
    // A signature by the private key verifies with the public file.
    EXPECT_TRUE(pub->Verify(AsBytes("m"), priv->Sign(AsBytes("m")).value()).ok());
  }
  // The log's vkey is a note verifier of the same key, named by the origin.
  auto log_vkey = NoteVerifier::FromVkey(ReadText(dir.path() / "log.vkey"));
  ASSERT_TRUE(log_vkey.ok()) << log_vkey.error().ToString();
  EXPECT_EQ(log_vkey->name(), "openpcc.local/log");
  EXPECT_EQ(log_vkey->key(), services::ReadEd25519PublicKey(dir.path() / "log.pub").value());
  auto witness_vkey = CosignatureVerifier::FromVkey(ReadText(dir.path() / "witness.vkey"));
  ASSERT_TRUE(witness_vkey.ok()) << witness_vkey.error().ToString();
  EXPECT_EQ(witness_vkey->name(), "witness");
  EXPECT_EQ(services::NoteNameBeside(dir.path() / "witness.key").value(), "witness");
  // A key file others can read is refused.
  fs::permissions(dir.path() / "log.key", fs::perms::group_read, fs::perm_options::add);
  auto loose = services::ReadEd25519PrivateKey(dir.path() / "log.key");
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message().find("readable by group or others"), std::string::npos);
}

TEST(KeysCliTest, OhttpAndTokenKeysRoundTrip) {
  TempDir dir;
  auto ohttp = Generate(dir.path(), "ohttp", "gateway");
  EXPECT_EQ(Mode(dir.path() / "gateway.key"), 0600u);
  auto config_bytes = services::ReadKeyFile(dir.path() / "gateway.keyconfig", false).value();
  auto config = wire::ParseKeyConfig(config_bytes.view());
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->key_id, 0);
  EXPECT_EQ(config->kem, crypto::KemId::kX25519HkdfSha256);
  auto pem = services::ReadKeyFile(dir.path() / "gateway.key", true).value();
  auto der = services::PemDecode(services::kPemPrivateKey, AsChars(pem.view())).value();
  auto sk = services::ParseRawPrivateKeyPkcs8(services::RawKeyType::kX25519, der).value();
  auto key = crypto::SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, sk.view());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(ToBytes(key->public_key()), config->public_key);

  auto token = Generate(dir.path(), "token", "token");
  EXPECT_EQ(token.at("modulus_bits").as_int64(), 2048);
  auto token_pem = services::ReadKeyFile(dir.path() / "token.key", true).value();
  auto rsa = crypto::BlindRsaPrivateKey::FromPkcs8(token_pem.view());
  ASSERT_TRUE(rsa.ok()) << rsa.error().ToString();
  auto spki = services::PemDecode(services::kPemPublicKey, ReadText(dir.path() / "token.pub")).value();
  EXPECT_EQ(spki, rsa->public_key().SpkiRsaPss());
  EXPECT_TRUE(crypto::BlindRsaPublicKey::FromSpki(spki).ok());
}

TEST(KeysCliTest, RotateKeepsThePreviousKeyAndShowPrintsNoSecret) {
  TempDir dir;
  Generate(dir.path(), "ohttp", "gateway");
  auto again = RunCli({"keys", "generate", "--kind", "ohttp", "--out", dir.path().string(), "--name", "gateway"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("use `openpcc keys rotate`"), std::string::npos);
  const std::string before = ReadText(dir.path() / "gateway.pub");
  auto rotated = RunCli({"keys", "rotate", "--kind", "ohttp", "--out", dir.path().string(), "--name", "gateway"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(boost::json::parse(rotated.out).at("key_id").as_int64(), 1);
  EXPECT_EQ(ReadText(dir.path() / "gateway.prev.pub"), before);
  EXPECT_NE(ReadText(dir.path() / "gateway.pub"), before);
  EXPECT_EQ(Mode(dir.path() / "gateway.prev.key"), 0600u);

  auto show = RunCli({"keys", "show", "--out", dir.path().string()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(show.out.find("PRIVATE"), std::string::npos);
  const std::string private_pem = ReadText(dir.path() / "gateway.key");
  const std::string body = private_pem.substr(private_pem.find('\n') + 1, 40);
  EXPECT_EQ(show.out.find(body), std::string::npos);
  EXPECT_NE(show.out.find("\"previous\":true"), std::string::npos);
  EXPECT_NE(show.out.find("\"previous\":false"), std::string::npos);
}

TEST(KeysCliTest, HelpDocumentsEveryFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"tlog", "--help"},
       {"--listen", "--ready-file", "--state-dir", "--dir", "--key", "--origin", "--release-key", "--directory-key", "--witness",
        "--refresh-interval", "--witness-timeout", "--max-batch", "--testing-crash-at", "--testing-crash-on-append", "--config"}},
      {{"tlog", "monitor", "--help"},
       {"--log", "--log-key", "--origin", "--witness", "--threshold", "--state", "--release-key", "--directory-key", "--once",
        "--interval", "--max-age"}},
      {{"witness", "--help"}, {"--listen", "--ready-file", "--state-dir", "--dir", "--key", "--name", "--log", "--config"}},
      {{"release", "publish", "--help"},
       {"--key", "--log", "--log-key", "--out", "--version", "--source-revision", "--build-recipe", "--binary", "--model",
        "--measurement", "--snp-policy", "--snp-vmpl", "--snp-host-data", "--snp-id-key-digest", "--tdx-rtmr0", "--tdx-rtmr1",
        "--tdx-rtmr2", "--tdx-mrconfigid", "--tdx-mrowner", "--tdx-mrownerconfig", "--tpm-pcr", "--gpu-devices",
        "--gpu-switches", "--gpu-rim-id", "--dry-run"}},
      {{"release", "revoke", "--help"}, {"--key", "--log", "--log-key", "--release", "--reason"}},
      {{"release", "min-tcb", "--help"}, {"--key", "--log", "--log-key", "--platform", "--component"}},
      {{"keys", "generate", "--help"}, {"--kind", "--out", "--name", "--note-name", "--key-id"}},
      {{"keys", "rotate", "--help"}, {"--kind", "--out", "--name", "--note-name", "--key-id"}},
      {{"keys", "show", "--help"}, {"--out", "--name"}},
  };
  for (const auto& [args, flags] : cases) {
    auto r = RunCli(args);
    ASSERT_EQ(r.exit_code, 0) << args[0] << " " << r.err;
    for (const auto& flag : flags) EXPECT_NE(r.out.find(flag), std::string::npos) << args[0] << " " << args[1] << ": " << flag;
  }
  EXPECT_NE(RunCli({"tlog", "--help"}).out.find("TESTS ONLY"), std::string::npos);
}

}  // namespace
}  // namespace openpcc::tlog::testing
