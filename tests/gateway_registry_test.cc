// services/gateway/registry.h: which registered nodes an epoch's directory lists, and routing that
// only ever chooses among the request's own candidates that are listed, registered and healthy,
// uniformly.
#include <gtest/gtest.h>

#include <map>

#include "openpcc/services/gateway/registry.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::services::gateway {
namespace {

using std::chrono::seconds;

NodeRegistration Node(uint8_t id, std::string url, int64_t not_before, int64_t not_after) {
  wire::KeyConfig c;
  c.key_id = id;
  c.public_key = Bytes(32, id);
  c.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};
  NodeRegistration n;
  n.key_config = *wire::EncodeKeyConfig(c);
  n.node_id = *wire::NodeIdOf(c);
  n.url = std::move(url);
  n.platform = "sim";
  n.models = {"tiny"};
  n.not_before = not_before;
  n.not_after = not_after;
  return n;
}

directory::NodeDirectory DirectoryOf(const NodeRegistry& registry, int64_t start) {
  directory::NodeDirectory d;
  d.models = registry.ModelsFor(start, start + 100);
  return d;
}

Bytes SealedHeader(const std::vector<Bytes>& ids) {
  Bytes out = {wire::kSealedVersion, 0x00, 0x01, static_cast<uint8_t>(ids.size())};
  for (const Bytes& id : ids) out.insert(out.end(), id.begin(), id.end());
  out.resize(out.size() + 12);  // body nonce and beyond
  return out;
}

TEST(GatewayRegistryTest, ListsEachNodeOnceWithItsKeyOfTheEpoch) {
  NodeRegistry registry;
  registry.Upsert(Node(1, "http://127.0.0.1:1", 0, 100 + 300));    // a's previous key, in grace
  registry.Upsert(Node(2, "http://127.0.0.1:1", 100, 200 + 300));  // a's key of the epoch
  registry.Upsert(Node(3, "http://127.0.0.1:1", 200, 300 + 300));  // a's next key, prepared ahead
  registry.Upsert(Node(4, "http://127.0.0.1:2", 100, 200));        // b
  registry.Upsert(Node(5, "http://127.0.0.1:3", 150, 250));        // c joined mid-epoch
  const auto models = registry.ModelsFor(100, 200);
  ASSERT_EQ(models.at("tiny").size(), 2u);
  std::set<Bytes> listed;
  for (const auto& n : models.at("tiny")) listed.insert(n.node_id);
  EXPECT_EQ(listed, (std::set<Bytes>{Node(2, "", 0, 0).node_id, Node(4, "", 0, 0).node_id}));
}

TEST(GatewayRegistryTest, ReadsTheCandidatesFromTheSealedHeader) {
  const Bytes a = Node(1, "", 0, 1).node_id, b = Node(2, "", 0, 1).node_id;
  EXPECT_EQ(*SealedCandidates(SealedHeader({a, b})), (std::vector<Bytes>{a, b}));
  EXPECT_EQ(SealedCandidates(Bytes{2, 0, 1, 1}).error().message(), "sealed request: version 2, expected 1");
  EXPECT_EQ(SealedCandidates(SealedHeader({})).error().message(),
            "sealed request: candidate count 0, expected 1 to 8");
  Bytes cut = SealedHeader({a, b});
  cut.resize(4 + 40);
  EXPECT_EQ(SealedCandidates(cut).error().message(), "sealed request: header ends inside node_id 1");
  EXPECT_EQ(SealedCandidates(Bytes{1, 0}).error().code(), ErrorCode::kTruncated);
}

TEST(GatewayRegistryTest, RoutesOnlyAmongListedRegisteredHealthyCandidates) {
  NodeRegistry registry;
  for (uint8_t i = 1; i <= 4; ++i) registry.Upsert(Node(i, "http://127.0.0.1:" + std::to_string(i), 0, 1000));
  const directory::NodeDirectory d = DirectoryOf(registry, 0);
  const NodeRegistration unlisted = Node(9, "http://127.0.0.1:9", 0, 1000);
  registry.Upsert(unlisted);  // registered after the directory was built
  registry.SetHealthy(Node(2, "", 0, 0).node_id, false);
  std::mt19937_64 rng(1);
  const std::vector<Bytes> candidates = {Node(1, "", 0, 0).node_id, Node(2, "", 0, 0).node_id,
                                         unlisted.node_id, Node(3, "", 0, 0).node_id,
                                         Node(1, "", 0, 0).node_id, Bytes(32, 0xee)};
  std::map<Bytes, int> first;
  for (int i = 0; i < 2000; ++i) {
    auto routable = RoutableCandidates(candidates, {&d}, registry, rng);
    ASSERT_EQ(routable.size(), 2u);  // 1 and 3: not the unhealthy, unlisted, unknown or repeated
    ++first[routable[0].node_id];
  }
  ASSERT_EQ(first.size(), 2u);
  for (const auto& [id, n] : first) EXPECT_NEAR(n, 1000, 150) << "not uniform";
  // No directory at all: nothing is routable.
  EXPECT_TRUE(RoutableCandidates(candidates, {}, registry, rng).empty());
  // Deregistered: gone.
  EXPECT_TRUE(registry.Remove(Node(1, "", 0, 0).node_id));
  EXPECT_EQ(RoutableCandidates(candidates, {&d}, registry, rng).size(), 1u);
}

TEST(GatewayRegistryTest, KeepsHealthAcrossKeepAlivesAndDropsExpiredKeys) {
  NodeRegistry registry;
  registry.Upsert(Node(1, "http://127.0.0.1:1", 0, 100));
  registry.SetHealthy(Node(1, "", 0, 0).node_id, false);
  registry.Upsert(Node(1, "http://127.0.0.1:1", 0, 100));
  EXPECT_FALSE(registry.Find(Node(1, "", 0, 0).node_id)->healthy);
  EXPECT_EQ(registry.DropExpired(std::chrono::sys_seconds(seconds(150)), seconds(60)), 0u);
  EXPECT_EQ(registry.DropExpired(std::chrono::sys_seconds(seconds(161)), seconds(60)), 1u);
  EXPECT_TRUE(registry.All().empty());
}

TEST(GatewayRegistryTest, NumbersEpochsFromTheUnixEpoch) {
  EXPECT_EQ(EpochAt(std::chrono::sys_seconds(seconds(7199)), seconds(3600)), 1u);
  EXPECT_EQ(EpochAt(std::chrono::sys_seconds(seconds(7200)), seconds(3600)), 2u);
  EXPECT_EQ(EpochStart(2, seconds(3600)), 7200);
}

}  // namespace
}  // namespace openpcc::services::gateway
