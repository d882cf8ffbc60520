// tlog/entry.h and release.h: signed entries verify only under a key accepted for their kind, with
// a canonical body of the right schema; release manifests, revocations and minimum-TCB notices
// round-trip through canonical JSON.
#include <gtest/gtest.h>

#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/release.h"
#include "openpcc/wire/jcs.h"
#include "tlog_test_util.h"

namespace openpcc::tlog {
namespace {

using testing::FixedKey;
namespace json = boost::json;

TEST(ReleaseTest, ManifestRoundTripsThroughCanonicalJson) {
  const auto manifest = testing::SampleManifest("1.0.0");
  auto v = ReleaseManifestToJson(manifest);
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  auto text = *wire::Canonicalize(*v);
  EXPECT_EQ(text.substr(0, 24), R"({"build_recipe_sha256":")");
  EXPECT_NE(text.find(R"("policy":"0000000000030000")"), std::string::npos);
  EXPECT_EQ(*ParseReleaseManifest(*wire::ParseJson(text)), manifest);
  EXPECT_EQ(ReleaseId(manifest)->size(), 32u);
}

TEST(ReleaseTest, ManifestParsingNamesTheBadField) {
  auto v = *ReleaseManifestToJson(testing::SampleManifest("1.0.0"));
  auto with = [&](auto edit) {
    json::value copy = v;
    edit(copy.as_object());
    return ParseReleaseManifest(copy).error().message();
  };
  EXPECT_EQ(with([](json::object& o) { o["extra"] = 1; }), "release: unknown member \"extra\"");
  EXPECT_EQ(with([](json::object& o) { o.erase("version"); }), "release: member \"version\" is missing");
  EXPECT_EQ(with([](json::object& o) { o["node_binary_sha256"] = "AB"; }), "release.node_binary_sha256: is not 64 lowercase hex digits");
  EXPECT_EQ(with([](json::object& o) { o["platforms"] = json::object(); }), "release.platforms: names no platform");
  EXPECT_EQ(with([](json::object& o) { o["platforms"].as_object()["sev-snp"].as_object()["vmpl"] = 4; }),
            "release.platforms.sev-snp.vmpl: is above 3");
  EXPECT_EQ(with([](json::object& o) { o["type"] = "openpcc-release/v2"; }),
            "release.type: is \"openpcc-release/v2\", expected \"openpcc-release/v1\"");
  EXPECT_EQ(with([](json::object& o) { o["platforms"].as_object()["tpm"].as_object()["pcrs"].as_object()["24"] = std::string(64, 'a'); }),
            "release.platforms.tpm.pcrs: key \"24\" is not a PCR index 0..23");
}

TEST(EntryTest, VerifiesUnderTheKeyOfItsKindOnly) {
  const auto release_key = FixedKey(1);
  const auto directory_key = FixedKey(2);
  EntryKeyring keyring;
  keyring.AddReleaseKey(release_key.public_key());
  keyring.AddDirectoryKey(directory_key.public_key());

  const Bytes manifest = testing::SignedManifest("1.0.0", release_key);
  auto verified = keyring.Verify(manifest);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->kind, EntryKind::kReleaseManifest);

  // The directory key cannot publish a release.
  auto by_directory_key = SignEntry(EntryKind::kReleaseManifest, *ReleaseManifestToJson(testing::SampleManifest("1")), directory_key);
  EXPECT_EQ(keyring.Verify(*by_directory_key).error().code(), ErrorCode::kUnknownKey);
  EXPECT_NE(keyring.Verify(*by_directory_key).error().message().find("which is not accepted for this kind"), std::string::npos);

  json::value directory = json::object{{"epoch", 7}, {"models", json::object()}};
  auto dir_entry = SignEntry(EntryKind::kNodeDirectory, directory, directory_key);
  ASSERT_TRUE(dir_entry.ok());
  EXPECT_TRUE(keyring.Verify(*dir_entry).ok());
  EXPECT_EQ(SignEntry(EntryKind::kNodeDirectory, json::object{{"epoch", -1}}, directory_key).error().message(),
            "entry: node directory has no non-negative integer \"epoch\"");
}

TEST(EntryTest, RefusesTamperedAndNonCanonicalEntries) {
  const auto key = FixedKey(1);
  EntryKeyring keyring;
  keyring.AddReleaseKey(key.public_key());
  Bytes entry = testing::SignedManifest("1.0.0", key);
  Bytes tampered = entry;
  tampered[60] ^= 1;  // inside the body
  EXPECT_EQ(keyring.Verify(tampered).error().message(), "entry: release-manifest signature does not verify");
  Bytes trailing = entry;
  trailing.push_back(0);
  EXPECT_EQ(keyring.Verify(trailing).error().message(), "entry: 1 trailing bytes");
  Bytes cut(entry.begin(), entry.end() - 1);
  EXPECT_EQ(keyring.Verify(cut).error().message(), "entry: signature");
  Bytes kind = entry;
  kind[16] = 9;
  EXPECT_EQ(keyring.Verify(kind).error().message(), "entry: kind 9 is unknown");
  // A correctly signed body that is not canonical.
  Entry e = *ParseEntry(entry);
  e.body = " " + e.body;
  e.signature = *key.Sign(EntrySignedMessage(e.kind, e.body));
  EXPECT_NE(keyring.Verify(*EncodeEntry(e)).error().message().find("not in RFC 8785 canonical form"), std::string::npos);
  // A correctly signed canonical body of the wrong schema.
  e.body = R"({"type":"openpcc-release/v1"})";
  e.signature = *key.Sign(EntrySignedMessage(e.kind, e.body));
  EXPECT_EQ(keyring.Verify(*EncodeEntry(e)).error().message(),
            "entry: release-manifest body: release: member \"version\" is missing");
}

TEST(EntryTest, RevocationAndMinimumTcbRoundTrip) {
  const auto key = FixedKey(1);
  EntryKeyring keyring;
  keyring.AddReleaseKey(key.public_key());
  Revocation r{Bytes(32, 9), "CVE-2024-0001"};
  auto entry = SignEntry(EntryKind::kRevocation, *RevocationToJson(r), key);
  ASSERT_TRUE(entry.ok());
  auto verified = keyring.Verify(*entry);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(*ParseRevocation(verified->body), r);
  MinimumTcb t{"sev-snp", {{"bootloader", 3}, {"microcode", 115}, {"snp", 8}, {"tee", 0}}};
  auto tcb = SignEntry(EntryKind::kMinimumTcb, *MinimumTcbToJson(t), key);
  ASSERT_TRUE(tcb.ok());
  EXPECT_EQ(*ParseMinimumTcb(keyring.Verify(*tcb)->body), t);
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"sgx", {{"a", 1}}}).error().message(),
            "minimum_tcb.platform: \"sgx\" is not sev-snp or tdx (minimum-TCB notices are enforced for sev-snp "
            "and tdx only)");
  MinimumTcb tdx{"tdx", {{"pce_svn", 13}, {"qe_isv_svn", 8}, {"tee_tcb_svn_0", 3}, {"tee_tcb_svn_15", 0}}};
  auto tdx_entry = SignEntry(EntryKind::kMinimumTcb, *MinimumTcbToJson(tdx), key);
  ASSERT_TRUE(tdx_entry.ok());
  EXPECT_EQ(*ParseMinimumTcb(keyring.Verify(*tdx_entry)->body), tdx);
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"sev-snp", {{"ucode", 213}}}).error().message(),
            "minimum_tcb.components: \"ucode\" is not a sev-snp TCB component (valid: bootloader, tee, snp, "
            "microcode, fmc)");
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"tdx", {{"pce_svn", 65536}}}).error().message(),
            "minimum_tcb.components.pce_svn: is above 65535");
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"tpm", {{"pcr0", 1}}}).error().message(),
            "minimum_tcb.platform: \"tpm\" has no TCB version (a TPM node is judged by the PCRs its release "
            "states); minimum-TCB notices are enforced for sev-snp and tdx only");
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"sim", {{"snp", 1}}}).error().message(),
            "minimum_tcb.platform: \"sim\" is not enforced; minimum-TCB notices are enforced for sev-snp and "
            "tdx only");
  EXPECT_EQ(MinimumTcbToJson(MinimumTcb{"sev-snp", {}}).error().message(),
            "minimum_tcb.components: is not an object of 1..64 members");
}

}  // namespace
}  // namespace openpcc::tlog
