// The node's --release record (services/node/evidence.h ParseReleaseRecord): what
// `openpcc release publish --out FILE` writes becomes the bundle's release; each malformed member
// is refused by name.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/services/node/evidence.h"
#include "openpcc/util/base64.h"

namespace openpcc::services::node {
namespace {

boost::json::object GoodRecord() {
  return {{"kind", "release-manifest"},
          {"log_index", 7},
          {"tree_size", 9},
          {"release_id", "00"},
          {"inclusion_proof", boost::json::array{Base64Encode(Bytes(32, 1)), Base64Encode(Bytes(32, 2))}},
          {"checkpoint", "openpcc.local/log\n9\nAAAA\n\n— log sig\n"},
          {"entry", Base64Encode(Bytes{1, 2, 3})}};
}

std::string MessageFor(boost::json::object record) {
  auto parsed = ParseReleaseRecord(boost::json::serialize(record));
  return parsed.ok() ? "accepted" : parsed.error().message();
}

TEST(NodeReleaseRecordTest, ParsesWhatReleasePublishWrites) {
  auto release = ParseReleaseRecord(boost::json::serialize(GoodRecord()));
  ASSERT_TRUE(release.ok()) << release.error().message();
  EXPECT_EQ(release->manifest_entry, (Bytes{1, 2, 3}));
  EXPECT_EQ(release->log_index, 7u);
  ASSERT_EQ(release->inclusion_proof.size(), 2u);
  EXPECT_EQ(release->inclusion_proof[1], Bytes(32, 2));
  EXPECT_EQ(release->checkpoint, "openpcc.local/log\n9\nAAAA\n\n— log sig\n");
}

TEST(NodeReleaseRecordTest, RefusesEachMalformedMember) {
  EXPECT_EQ(ParseReleaseRecord("[1]").error().message(), "release record: not a JSON object");
  auto record = GoodRecord();
  record.erase("entry");
  EXPECT_NE(MessageFor(record).find("\"entry\" must be a base64 string"), std::string::npos);
  record = GoodRecord();
  record["entry"] = "***";
  EXPECT_NE(MessageFor(record).find("\"entry\":"), std::string::npos);
  record = GoodRecord();
  record["log_index"] = -1;
  EXPECT_NE(MessageFor(record).find("\"log_index\" must be a non-negative integer"), std::string::npos);
  record["log_index"] = 1.5;
  EXPECT_NE(MessageFor(record).find("\"log_index\""), std::string::npos);
  record = GoodRecord();
  record["inclusion_proof"] = boost::json::array{Base64Encode(Bytes(31, 1))};
  EXPECT_NE(MessageFor(record).find("not a base64 SHA-256 hash"), std::string::npos);
  record["inclusion_proof"] = "x";
  EXPECT_NE(MessageFor(record).find("\"inclusion_proof\" must be an array"), std::string::npos);
  record = GoodRecord();
  record["checkpoint"] = "";
  EXPECT_NE(MessageFor(record).find("\"checkpoint\" must be the signed checkpoint note"), std::string::npos);
}

}  // namespace
}  // namespace openpcc::services::node
