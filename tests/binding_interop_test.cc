// attest/binding against the independent Node.js implementation (tests/interop/binding_peer.mjs):
// the same inputs must give the same preimage, REPORT_DATA, TPM qualifying data, GPU digest and
// GPU nonce, byte for byte.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/attest/binding.h"
#include "openpcc/crypto/random.h"
#include "support/node.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;
using testing::RunNodePeer;

Bytes Random(size_t size) {
  Bytes out(size);
  crypto::RandomBytes(out);
  return out;
}

struct Case {
  Bytes key_config;
  Freshness freshness;
  Bytes claims;
  std::vector<GpuEvidence> gpus;
};

json::object ToJob(const Case& c) {
  json::array gpus;
  for (const GpuEvidence& gpu : c.gpus) {
    json::array chain;
    for (const Bytes& cert : gpu.chain_der) chain.emplace_back(HexEncode(cert));
    gpus.emplace_back(json::object{{"type", gpu.type}, {"report", HexEncode(gpu.report)},
                                   {"chain", chain}});
  }
  return json::object{{"op", "bind"},
                      {"key_config", HexEncode(c.key_config)},
                      {"freshness_kind", static_cast<int>(c.freshness.kind)},
                      {"freshness_value", HexEncode(c.freshness.value)},
                      {"claims_canonical", HexEncode(c.claims)},
                      {"gpus", gpus}};
}

Case RandomCase(size_t gpu_count, FreshnessKind kind) {
  Case c;
  c.key_config = Random(41);
  c.freshness.kind = kind;
  Bytes value = Random(32);
  std::copy(value.begin(), value.end(), c.freshness.value.begin());
  c.claims = ToBytes(R"({"models":[{"name":"tiny","sha256":"00ff"}]})");
  for (size_t i = 0; i < gpu_count; ++i) {
    c.gpus.push_back({"nvidia-spdm", Random(100 + i),
                      {Random(300), Random(200 + i)}});
  }
  return c;
}

TEST(BindingInteropTest, AgreesWithNodeImplementation) {
  std::vector<Case> cases = {RandomCase(0, FreshnessKind::kLogCheckpoint),
                             RandomCase(1, FreshnessKind::kClientNonce),
                             RandomCase(8, FreshnessKind::kLogCheckpoint)};
  json::array jobs;
  for (const Case& c : cases) jobs.emplace_back(ToJob(c));
  json::value output = RunNodePeer("binding_peer.mjs", json::object{{"op", "batch"}, {"jobs", jobs}});
  ASSERT_TRUE(output.is_object());
  const json::array& results = output.at("results").as_array();
  ASSERT_EQ(results.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const json::object& r = results[i].as_object();
    Bytes gpu_digest = GpuDigest(c.gpus).value();
    EXPECT_EQ(HexEncode(gpu_digest), r.at("gpu_digest").as_string()) << i;
    EXPECT_EQ(gpu_digest.size(), c.gpus.empty() ? 0u : 48u);
    EXPECT_EQ(HexEncode(BindingPreimage(c.key_config, gpu_digest, c.freshness, c.claims).value()),
              r.at("preimage").as_string());
    Bytes report_data = ReportData(c.key_config, gpu_digest, c.freshness, c.claims).value();
    EXPECT_EQ(report_data.size(), 64u);
    EXPECT_EQ(HexEncode(report_data), r.at("report_data").as_string());
    EXPECT_EQ(HexEncode(TpmQualifyingData(c.key_config, gpu_digest, c.freshness, c.claims).value()),
              r.at("tpm_qualifying_data").as_string());
    EXPECT_EQ(HexEncode(GpuNonce(c.key_config, c.freshness).value()),
              r.at("gpu_nonce").as_string());
  }
}

TEST(BindingTest, EmptyGpuListBindsAsTwoZeroBytes) {
  Case c = RandomCase(0, FreshnessKind::kLogCheckpoint);
  Bytes preimage = BindingPreimage(c.key_config, {}, c.freshness, c.claims).value();
  // label, 0x00, lp(key_config), then lp(gpu_digest) = 00 00.
  size_t offset = kEvidenceLabel.size() + 1 + 2 + c.key_config.size();
  ASSERT_GT(preimage.size(), offset + 2);
  EXPECT_EQ(preimage[offset], 0);
  EXPECT_EQ(preimage[offset + 1], 0);
  EXPECT_EQ(preimage[offset + 2], 0);  // lp(freshness) = 00 21
  EXPECT_EQ(preimage[offset + 3], 33);
}

// Known answers computed independently (Python hashlib) from the DESIGN §2.4 formula.
TEST(BindingTest, GpuNonceKnownAnswer) {
  Bytes key_config(40);
  for (size_t i = 0; i < key_config.size(); ++i) key_config[i] = static_cast<uint8_t>(i);
  Freshness freshness;  // kind 1, 32 zero bytes
  EXPECT_EQ(HexEncode(GpuNonce(key_config, freshness).value()),
            "e748416f1417781a5d52e4f2a806324c2ac913317cb67132345d67c4104a1f12");
}

TEST(BindingTest, RefusesFieldsTooLongForTheirPrefix) {
  Freshness freshness;
  Bytes huge(65536, 1);
  Result<Bytes> result = ReportData(huge, {}, freshness, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(result.error().message().find("key_config is 65536 bytes"), std::string::npos);
  EXPECT_FALSE(GpuNonce(huge, freshness).ok());
  std::vector<GpuEvidence> many(256, GpuEvidence{"nvidia-spdm", {1}, {}});
  EXPECT_EQ(GpuDigest(many).error().message(), "evidence binding: more than 255 GPU reports");
  // A changed field changes the binding.
  Bytes key_config{1, 2, 3};
  Bytes a = ReportData(key_config, {}, freshness, ToBytes("{}")).value();
  freshness.kind = FreshnessKind::kClientNonce;
  EXPECT_NE(a, ReportData(key_config, {}, freshness, ToBytes("{}")).value());
}

}  // namespace
}  // namespace openpcc::attest
