// tlog/merkle.h: every transparency-dev/merkle RFC 9162 vector gives its expected result
// (wantErr), and generated proofs verify for every index and size pair of small trees.
#include <gtest/gtest.h>

#include <filesystem>

#include <boost/json.hpp>

#include "openpcc/tlog/merkle.h"
#include "openpcc/util/base64.h"
#include "support/vectors.h"

namespace openpcc::tlog {
namespace {

namespace json = boost::json;

const std::string kDir = "protocols/merkle-rfc9162/transparency-dev-merkle/testdata/";

Bytes B64(const json::value& v) {
  auto b = Base64Decode(std::string(v.as_string()));
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : Bytes();
}

// A proof with a hash that is not 32 bytes cannot even be represented: that is its error.
std::optional<std::vector<Hash>> Proof(const json::value& v) {
  std::vector<Hash> out;
  if (v.is_null()) return out;  // some vectors spell the empty proof as null
  for (const auto& p : v.as_array()) {
    auto h = HashFromBytes(B64(p), "proof");
    if (!h.ok()) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

std::vector<std::filesystem::path> Files(const std::string& sub) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(openpcc::testing::VectorsDir() / (kDir + sub))) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MerkleTest, InclusionVectorsGiveTheirExpectedResult) {
  const auto files = Files("inclusion");
  ASSERT_EQ(files.size(), 98u);  // every vector of the set: a missing file is a failure, not a smaller test
  size_t failing = 0;
  for (const auto& path : files) {
    const auto v = json::parse(openpcc::testing::ReadFileOrDie(path));
    const bool want_err = v.at("wantErr").as_bool();
    const auto proof = Proof(v.at("proof"));
    Status status = Error(ErrorCode::kMalformed, "proof hash is not 32 bytes");
    if (proof) {
      status = VerifyInclusion(static_cast<uint64_t>(v.at("leafIdx").to_number<uint64_t>()),
                               static_cast<uint64_t>(v.at("treeSize").to_number<uint64_t>()), B64(v.at("leafHash")), *proof,
                               B64(v.at("root")));
    }
    EXPECT_EQ(!status.ok(), want_err) << path << ": " << (status.ok() ? "ok" : status.error().message());
    failing += want_err ? 1 : 0;
  }
  EXPECT_EQ(failing, 92u);
}

TEST(MerkleTest, ConsistencyVectorsGiveTheirExpectedResult) {
  const auto files = Files("consistency");
  ASSERT_EQ(files.size(), 98u);
  size_t failing = 0;
  for (const auto& path : files) {
    const auto v = json::parse(openpcc::testing::ReadFileOrDie(path));
    const bool want_err = v.at("wantErr").as_bool();
    const auto proof = Proof(v.at("proof"));
    Status status = Error(ErrorCode::kMalformed, "proof hash is not 32 bytes");
    if (proof) {
      status = VerifyConsistency(static_cast<uint64_t>(v.at("size1").to_number<uint64_t>()),
                                 static_cast<uint64_t>(v.at("size2").to_number<uint64_t>()), *proof, B64(v.at("root1")),
                                 B64(v.at("root2")));
    }
    EXPECT_EQ(!status.ok(), want_err) << path << ": " << (status.ok() ? "ok" : status.error().message());
    failing += want_err ? 1 : 0;
  }
  EXPECT_EQ(failing, 92u);
}

TEST(MerkleTest, EmptyAndSingleLeafRoots) {
  EXPECT_EQ(HexEncode(View(EmptyTreeHash())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // The classic CT test tree's leaf 0 is the empty string.
  EXPECT_EQ(HexEncode(View(LeafHash({}))), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string entry = "entry " + std::to_string(i);
    out.push_back(LeafHash(AsBytes(entry)));
  }
  return out;
}

TEST(MerkleTest, GeneratedProofsVerifyForEveryIndexAndSize) {
  const auto leaves = Leaves(40);
  MemoryHashReader reader(leaves);
  for (uint64_t size = 1; size <= leaves.size(); ++size) {
    const Hash root = RootFromLeafHashes(std::span(leaves).first(size));
    ASSERT_EQ(*TreeRoot(size, reader), root);
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = InclusionProof(i, size, reader);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(i, size, View(leaves[i]), *proof, View(root)).ok()) << i << "/" << size;
      // The same proof does not prove a neighbour.
      if (size > 1) {
        EXPECT_FALSE(VerifyInclusion(i, size, View(leaves[(i + 1) % size]), *proof, View(root)).ok());
      }
    }
    for (uint64_t old = 1; old <= size; ++old) {
      const Hash old_root = RootFromLeafHashes(std::span(leaves).first(old));
      auto proof = ConsistencyProof(old, size, reader);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(old, size, *proof, View(old_root), View(root)).ok()) << old << "->" << size;
    }
  }
}

TEST(MerkleTest, RefusesTamperedProofsWithTheirReason) {
  const auto leaves = Leaves(13);
  MemoryHashReader reader(leaves);
  const Hash root = RootFromLeafHashes(leaves);
  auto proof = *InclusionProof(5, 13, reader);
  auto longer = proof;
  longer.push_back(proof[0]);
  EXPECT_EQ(VerifyInclusion(5, 13, View(leaves[5]), longer, View(root)).error().message(),
            "inclusion: proof has more hashes than the path to the root");
  EXPECT_EQ(VerifyInclusion(5, 13, View(leaves[5]), std::span(proof).first(proof.size() - 1), View(root)).error().message(),
            "inclusion: proof has fewer hashes than the path to the root");
  EXPECT_EQ(VerifyInclusion(13, 13, View(leaves[5]), proof, View(root)).error().message(),
            "inclusion: index 13 is not below tree size 13");
  auto flipped = proof;
  flipped[1][0] ^= 1;
  EXPECT_EQ(VerifyInclusion(5, 13, View(leaves[5]), flipped, View(root)).error().message(),
            "inclusion: computed root does not match the tree's root hash");
  const Hash old_root = RootFromLeafHashes(std::span(leaves).first(6));
  auto consistency = *ConsistencyProof(6, 13, reader);
  EXPECT_EQ(VerifyConsistency(6, 13, consistency, View(root), View(root)).error().message(),
            "consistency: proof does not lead to the old root hash");
  EXPECT_EQ(VerifyConsistency(6, 13, consistency, View(old_root), View(old_root)).error().message(),
            "consistency: proof does not lead to the new root hash");
  EXPECT_EQ(VerifyConsistency(0, 13, {}, View(old_root), View(root)).error().message(),
            "consistency: proof from the empty tree (size 0) proves nothing");
}

}  // namespace
}  // namespace openpcc::tlog
