// directory/: the node directory's canonical form, its signature as a log entry, strict parsing
// that names the bad field, and the /v1/directory response with its inclusion proof.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::directory {
namespace {

namespace json = boost::json;

crypto::Ed25519PrivateKey Key(uint8_t fill) {
  return std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, fill))).value();
}

Bytes Config(uint8_t id) {
  wire::KeyConfig c;
  c.key_id = id;
  c.public_key = Bytes(32, static_cast<uint8_t>(id + 1));
  c.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};
  return *wire::EncodeKeyConfig(c);
}

DirectoryNode Node(uint8_t id) {
  DirectoryNode n;
  n.key_config = Config(id);
  n.node_id = *wire::NodeIdOf(*wire::ParseKeyConfig(n.key_config));
  n.platform = "sim";
  return n;
}

NodeDirectory Sample() {
  NodeDirectory d;
  d.epoch = 7;
  d.not_before = 1700000000;
  d.not_after = 1700003600;
  d.k = 3;
  d.service = "openpcc.test";
  d.token_challenge = Bytes{0, 2, 0, 5, 'i', 's', 's', 'u', 'e'};
  d.token_keys = {{2, Bytes(300, 0x30), 1699990000, 1700090000}};
  d.ohttp_configs = {Config(1)};
  d.models["tiny"] = {Node(10), Node(11), Node(12)};
  return d;
}

// Edits the JSON form of Sample() and returns the parse error message.
template <typename Edit>
std::string ParseErrorAfter(Edit edit) {
  json::value v = Sample().ToJson();
  edit(v.as_object());
  auto text = wire::Canonicalize(v);
  if (!text.ok()) return "canonicalize: " + text.error().message();
  auto parsed = ParseNodeDirectory(*text);
  return parsed.ok() ? "(parsed)" : parsed.error().message();
}

TEST(NodeDirectoryTest, RoundTripsThroughCanonicalJson) {
  auto text = Sample().EncodeCanonical();
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(text->substr(0, 11), R"({"epoch":7,)");
  auto parsed = ParseNodeDirectory(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, Sample());
  EXPECT_EQ(parsed->NodesOf("tiny").size(), 3u);
  EXPECT_TRUE(parsed->NodesOf("other").empty());
  EXPECT_TRUE(parsed->Lists(Node(11).node_id));
  EXPECT_FALSE(parsed->Lists(Node(13).node_id));
}

TEST(NodeDirectoryTest, SignsAsALogEntryAndVerifiesOnlyUnderTheDirectoryKey) {
  auto entry = SignDirectory(Sample(), Key(1));
  ASSERT_TRUE(entry.ok()) << entry.error().ToString();
  auto parsed_entry = tlog::ParseEntry(*entry);
  ASSERT_TRUE(parsed_entry.ok());
  EXPECT_EQ(parsed_entry->kind, tlog::EntryKind::kNodeDirectory);
  EXPECT_EQ(parsed_entry->body, *Sample().EncodeCanonical());

  auto verified = VerifyDirectoryEntry(*entry, Key(1).public_key());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(*verified, Sample());

  auto other = VerifyDirectoryEntry(*entry, Key(2).public_key());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::kUnknownKey);
  EXPECT_NE(other.error().message().find("not accepted for this kind"), std::string::npos);
}

TEST(NodeDirectoryTest, RefusesATamperedEntry) {
  Bytes entry = *SignDirectory(Sample(), Key(1));
  // The body starts after magic (16), kind (1), key_id (32) and the u16 length: flip a digit of
  // the epoch, keeping the JSON well formed.
  Bytes tampered = entry;
  const size_t epoch_digit = 16 + 1 + 32 + 2 + std::string_view(R"({"epoch":)").size();
  ASSERT_EQ(tampered[epoch_digit], '7');
  tampered[epoch_digit] = '8';
  auto r = VerifyDirectoryEntry(tampered, Key(1).public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_NE(r.error().message().find("signature does not verify"), std::string::npos);

  Bytes bad_signature = entry;
  bad_signature.back() ^= 1;
  EXPECT_EQ(VerifyDirectoryEntry(bad_signature, Key(1).public_key()).error().code(),
            ErrorCode::kAuthenticationFailed);
}

TEST(NodeDirectoryTest, RefusesAnEntryOfAnotherKind) {
  // A release-kind entry signed by the directory key is not accepted for that kind.
  json::value body = Sample().ToJson();
  auto entry = tlog::SignEntry(tlog::EntryKind::kReleaseManifest, body, Key(1));
  if (entry.ok()) {
    EXPECT_EQ(VerifyDirectoryEntry(*entry, Key(1).public_key()).error().code(), ErrorCode::kUnknownKey);
  }
}

TEST(NodeDirectoryTest, ParsingNamesTheBadField) {
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["extra"] = 1; }),
            "node directory: extra: expected no such field (unknown fields are refused)");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o.erase("k"); }), "node directory: k: missing field");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["k"] = 0; }), "node directory: k: expected 1 to 64");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["epoch"] = "7"; }),
            "node directory: epoch: expected a non-negative integer");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["not_after"] = 1700000000; }),
            "node directory: not_after: expected later than not_before");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["token_challenge"] = "a+b"; }).substr(0, 62),
            "node directory: token_challenge: expected unpadded base64url (");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["ohttp_configs"] = json::array(); }),
            "node directory: ohttp_configs: expected 1 to 2 items, got 0");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["ohttp_configs"].as_array().push_back(o["ohttp_configs"].as_array()[0]); }),
            "node directory: ohttp_configs[1]: expected a config not listed twice");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) {
              o["token_keys"].as_array()[0].as_object()["redeem_until"] = 1;
            }),
            "node directory: token_keys[0].redeem_until: expected later than not_before");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) {
              o["models"].as_object()["tiny"].as_array()[1].as_object()["node_id"] =
                  Base64UrlEncode(Node(12).node_id);
            }),
            "node directory: models.tiny[1].node_id: expected SHA-256 of key_config");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) {
              auto& list = o["models"].as_object()["tiny"].as_array();
              list.push_back(list[0]);
            }),
            "node directory: models.tiny[3].node_id: expected a node listed once per model");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) {
              o["models"].as_object()["tiny"].as_array()[0].as_object()["platform"] = "SEV SNP";
            }),
            "node directory: models.tiny[0].platform: expected a platform name (1 to 16 of a-z 0-9 -)");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) {
              o["models"].as_object()["tiny"].as_array()[0].as_object()["key_config"] = "AAAA";
            }).substr(0, 73),
            "node directory: models.tiny[0].key_config: expected an RFC 9458 KeyConfig");
  EXPECT_EQ(ParseErrorAfter([](json::object& o) { o["models"].as_object()["empty"] = json::array(); }),
            "node directory: models.empty: expected 1 to 256 items, got 0");
}

TEST(NodeDirectoryTest, RefusesNonCanonicalTextAndLimits) {
  std::string text = *Sample().EncodeCanonical();
  std::string spaced = " " + text;
  EXPECT_FALSE(ParseNodeDirectory(spaced).ok());
  EXPECT_EQ(ParseNodeDirectory(std::string(70000, ' ')).error().code(), ErrorCode::kOutOfRange);

  NodeDirectory big = Sample();
  for (int i = 0; i < 300; ++i) big.models["tiny"].push_back(Node(static_cast<uint8_t>(20 + i % 200)));
  EXPECT_FALSE(big.EncodeCanonical().ok());
  EXPECT_FALSE(SignDirectory(big, Key(1)).ok());
}

tlog::Checkpoint CheckpointOf(const std::vector<Bytes>& entries) {
  std::vector<tlog::Hash> leaves;
  for (const Bytes& e : entries) leaves.push_back(tlog::LeafHash(e));
  tlog::Checkpoint c;
  c.origin = "test.log";
  c.size = entries.size();
  c.root = tlog::RootFromLeafHashes(leaves);
  return c;
}

TEST(DirectoryResponseTest, RoundTripsAndProvesInclusion) {
  Bytes entry = *SignDirectory(Sample(), Key(1));
  std::vector<Bytes> log = {Bytes{1}, entry, Bytes{3}};
  tlog::Checkpoint checkpoint = CheckpointOf(log);

  DirectoryResponse r;
  r.entry = entry;
  r.log_index = 1;
  // RFC 9162 path for leaf 1 of 3: sibling leaf 0, then the right subtree (leaf 2).
  r.inclusion_proof = {tlog::LeafHash(log[0]), tlog::LeafHash(log[2])};
  r.checkpoint = "test.log\n3\nroot\n\n— sig\n";
  r.bundles[Node(10).node_id] = R"({"bundle":1})";

  auto parsed = ParseDirectoryResponse(r.Encode());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, r);
  EXPECT_TRUE(CheckInclusion(*parsed, checkpoint).ok()) << CheckInclusion(*parsed, checkpoint).error().ToString();

  DirectoryResponse wrong_index = r;
  wrong_index.log_index = 0;
  auto bad = CheckInclusion(wrong_index, checkpoint);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("inclusion proof of the entry does not verify"), std::string::npos);

  DirectoryResponse other_entry = r;
  other_entry.entry = *SignDirectory(Sample(), Key(2));
  EXPECT_FALSE(CheckInclusion(other_entry, checkpoint).ok());

  DirectoryResponse beyond = r;
  beyond.log_index = 3;
  EXPECT_EQ(CheckInclusion(beyond, checkpoint).error().code(), ErrorCode::kOutOfRange);
}

TEST(DirectoryResponseTest, ParsingNamesTheBadField) {
  DirectoryResponse r;
  r.entry = Bytes{1, 2, 3};
  r.checkpoint = "c";
  json::value v = json::parse(r.Encode());
  auto with = [&](auto edit) {
    json::value copy = v;
    edit(copy.as_object());
    auto p = ParseDirectoryResponse(json::serialize(copy));
    return p.ok() ? std::string("(parsed)") : p.error().message();
  };
  EXPECT_EQ(with([](json::object&) {}), "(parsed)");
  EXPECT_EQ(with([](json::object& o) { o["x"] = 1; }),
            "directory response: x: expected no such field (unknown fields are refused)");
  EXPECT_EQ(with([](json::object& o) { o.erase("checkpoint"); }), "directory response: checkpoint: missing field");
  EXPECT_EQ(with([](json::object& o) { o["log_index"] = -1; }),
            "directory response: log_index: expected a non-negative integer");
  EXPECT_EQ(with([](json::object& o) { o["inclusion_proof"] = json::array{"AAAA"}; }).substr(0, 38),
            "directory response: inclusion_proof[0]");
  EXPECT_EQ(with([](json::object& o) { o["bundles"] = json::object{{"AAAA", "{}"}}; }),
            "directory response: bundles.AAAA: expected a key that is a base64url 32-byte node_id");
  EXPECT_EQ(with([](json::object& o) { o["bundles"] = json::object{{Base64UrlEncode(Bytes(32, 1)), 5}}; }),
            "directory response: bundles." + Base64UrlEncode(Bytes(32, 1)) +
                ": expected evidence bundle JSON text (a string)");
  EXPECT_EQ(with([](json::object& o) { o["entry"] = ""; }), "directory response: entry: expected 1 to 65535 bytes");
  EXPECT_EQ(ParseDirectoryResponse("[]").error().message(), "directory response: (top level): expected an object");
}

}  // namespace
}  // namespace openpcc::directory
