// attest/bundle: the JSON form round-trips, and every malformed field is refused by name.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;

EvidenceBundle MakeBundle() {
  crypto::SoftwareDhKey key = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256).value();
  wire::KeyConfig config;
  config.key_id = 7;
  config.public_key = ToBytes(key.public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};
  EvidenceBundle bundle;
  bundle.key_config = wire::EncodeKeyConfig(config).value();
  bundle.node_id = wire::NodeIdOf(config).value();
  bundle.claims.models = {{"tiny", std::string(64, 'a')}};
  bundle.platform = Platform::kSevSnp;
  bundle.cpu_evidence = {{"report", Bytes(1184, 1)}, {"vek", {2, 3}}, {"chain", {4}}};
  bundle.gpu_evidence = {{"nvidia-spdm", {5, 6, 7}, {{8}, {9, 10}}}};
  bundle.freshness.binding.kind = FreshnessKind::kLogCheckpoint;
  bundle.freshness.binding.value.fill(0x11);
  bundle.freshness.checkpoint = "example.com/log\n1\nAAAA\n\n— log sig\n";
  bundle.release = BundleRelease{{1, 2, 3}, 42, {Bytes(32, 0xab)}, "checkpoint note"};
  return bundle;
}

std::string Mutate(const EvidenceBundle& bundle, const std::function<void(json::object&)>& change) {
  json::value value = bundle.ToJson();
  change(value.as_object());
  return json::serialize(value);
}

std::string ParseError(const std::string& text) {
  Result<EvidenceBundle> parsed = ParseBundle(text);
  return parsed.ok() ? "parsed" : parsed.error().message();
}

TEST(BundleTest, RoundTripsThroughCanonicalJson) {
  EvidenceBundle bundle = MakeBundle();
  std::string text = bundle.Serialize();
  EvidenceBundle parsed = ParseBundle(text).value();
  EXPECT_EQ(parsed.node_id, bundle.node_id);
  EXPECT_EQ(parsed.claims, bundle.claims);
  EXPECT_EQ(parsed.platform, Platform::kSevSnp);
  EXPECT_EQ(parsed.cpu_evidence, bundle.cpu_evidence);
  ASSERT_EQ(parsed.gpu_evidence.size(), 1u);
  EXPECT_EQ(parsed.gpu_evidence[0].chain_der, bundle.gpu_evidence[0].chain_der);
  EXPECT_EQ(parsed.freshness.checkpoint, bundle.freshness.checkpoint);
  ASSERT_TRUE(parsed.release.has_value());
  EXPECT_EQ(parsed.release->log_index, 42u);
  EXPECT_EQ(parsed.Serialize(), text);
  EXPECT_EQ(parsed.ExpectedReportData().value(), bundle.ExpectedReportData().value());
  EXPECT_EQ(parsed.ExpectedReportData().value().size(), 64u);
}

TEST(BundleTest, ClaimsChangeTheBinding) {
  EvidenceBundle bundle = MakeBundle();
  Bytes before = bundle.ExpectedReportData().value();
  bundle.claims.models[0].name = "other";
  EXPECT_NE(bundle.ExpectedReportData().value(), before);
}

TEST(BundleTest, RefusesEachMalformedField) {
  EvidenceBundle bundle = MakeBundle();
  struct Case {
    std::function<void(json::object&)> change;
    std::string expected;
  };
  std::vector<Case> cases = {
      {[](json::object& o) { o["extra"] = 1; }, "evidence bundle: bundle: unknown field 'extra'"},
      {[](json::object& o) { o.erase("claims"); }, "evidence bundle: bundle: missing field 'claims'"},
      {[](json::object& o) { o["node_id"] = Base64UrlEncode(Bytes(32, 0)); },
       "evidence bundle: node_id is not the node id of key_config"},
      {[](json::object& o) { o["node_id"] = "not base64!"; },
       "evidence bundle: bundle.node_id: expected unpadded base64url"},
      {[](json::object& o) { o["platform"] = "sgx"; },
       "evidence bundle: platform 'sgx' is not one of sev-snp, tdx, tpm, sim"},
      {[](json::object& o) { o["cpu_evidence"].as_object().erase("vek"); },
       "evidence bundle: cpu_evidence: missing 'vek' required for platform sev-snp"},
      {[](json::object& o) { o["cpu_evidence"].as_object()["quote"] = "AA"; },
       "evidence bundle: cpu_evidence: field 'quote' is not used by platform sev-snp"},
      {[](json::object& o) { o["claims"].as_object()["models"].as_array()[0].as_object()["sha256"] = "AB"; },
       "evidence bundle: claims.models[0].sha256: expected 64 lower-case hex digits"},
      {[](json::object& o) { o["freshness"].as_object()["kind"] = 3; },
       "evidence bundle: freshness.kind: expected 1 (log checkpoint) or 2 (client nonce)"},
      {[](json::object& o) { o["freshness"].as_object()["value"] = Base64UrlEncode(Bytes(31, 0)); },
       "evidence bundle: freshness.value: expected 32 bytes"},
      {[](json::object& o) { o["gpu_evidence"].as_array()[0].as_object()["type"] = "amd"; },
       "evidence bundle: gpu_evidence[0].type: expected \"nvidia-spdm\""},
      {[](json::object& o) { o["release"].as_object()["log_index"] = -1; },
       "evidence bundle: release.log_index: expected a non-negative integer"},
      {[](json::object& o) {
         o["release"].as_object()["inclusion_proof"] = json::array{Base64UrlEncode(Bytes(31, 0))};
       },
       "evidence bundle: release.inclusion_proof[0]: expected 32 bytes"},
  };
  for (const Case& c : cases) {
    std::string error = ParseError(Mutate(bundle, c.change));
    EXPECT_EQ(error.substr(0, c.expected.size()), c.expected);
  }
  EXPECT_NE(ParseError("{"), "parsed");
  EXPECT_NE(ParseError(std::string(kMaxBundleBytes + 1, ' ')).find("more than the limit"),
            std::string::npos);
}

}  // namespace
}  // namespace openpcc::attest
