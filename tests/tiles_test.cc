// tlog/tiles.h: C2SP tlog-tiles paths (the spec's examples), widths, tile and entry-bundle
// contents, and proofs generated from tiles equal those generated from leaf hashes.
#include <gtest/gtest.h>

#include <map>

#include "openpcc/tlog/tiles.h"

namespace openpcc::tlog {
namespace {

TEST(TilesTest, PathsFollowTheSpec) {
  EXPECT_EQ(TilePath({false, 0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({false, 2, 0, 1}), "tile/2/000.p/1");
  EXPECT_EQ(TilePath({true, 0, 1000, 17}), "tile/entries/x001/000.p/17");
  for (const char* path : {"tile/0/x001/x234/067", "tile/2/000.p/1", "tile/entries/x001/000.p/17", "tile/63/999"}) {
    auto t = ParseTilePath(path);
    ASSERT_TRUE(t.ok()) << path << ": " << t.error().ToString();
    EXPECT_EQ(TilePath(*t), path);
  }
  const std::pair<const char*, const char*> bad[] = {
      {"tile/0/1234", "tiles: path: index group is not 3 digits"},
      {"tile/0/001/234", "tiles: path: index group without its 'x' prefix"},
      {"tile/64/000", "tiles: path: level is not a decimal in 0..63"},
      {"tile/01/000", "tiles: path: level is not a decimal in 0..63"},
      {"tile/0/000.p/256", "tiles: path: partial width is not 1..255"},
      {"tile/0/000.p/0", "tiles: path: partial width is not 1..255"},
      {"tile/0/x000/001", "tiles: path: index has a leading zero group"},
      {"tiles/0/000", "tiles: path: does not start with tile/"},
      {"tile/0/../000", "tiles: path: index group without its 'x' prefix"},
  };
  for (const auto& [path, message] : bad) EXPECT_EQ(ParseTilePath(path).error().message(), message) << path;
}

TEST(TilesTest, WidthsOfTheSpecsExampleTreeOf70000) {
  // 273 full level-0 tiles, a partial of 112, one full level-1 tile, a partial of 17, level 2: 1.
  EXPECT_EQ(TileWidthAt(70000, 0, 272), 256u);
  EXPECT_EQ(TileWidthAt(70000, 0, 273), 112u);
  EXPECT_EQ(TileWidthAt(70000, 0, 274), 0u);
  EXPECT_EQ(TileWidthAt(70000, 1, 0), 256u);
  EXPECT_EQ(TileWidthAt(70000, 1, 1), 17u);
  EXPECT_EQ(TileWidthAt(70000, 2, 0), 1u);
  EXPECT_EQ(TileWidthAt(70000, 3, 0), 0u);
  EXPECT_EQ(TileWidthAt(256, 0, 0), 256u);
  EXPECT_EQ(TileWidthAt(256, 1, 0), 1u);
}

TEST(TilesTest, EntryBundlesRoundTripAndRefuseMalformedBytes) {
  const std::vector<Bytes> entries = {ToBytes("a"), Bytes(), Bytes(300, 7)};
  auto bundle = EncodeEntryBundle(entries);
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(*ParseEntryBundle(*bundle, 3), entries);
  EXPECT_EQ(ParseEntryBundle(*bundle, 4).error().message(), "tiles: entry bundle has 3 entries, expected 4");
  EXPECT_EQ(ParseEntryBundle(*bundle, 2).error().message(), "tiles: entry bundle has more than 2 entries");
  Bytes cut(bundle->begin(), bundle->end() - 1);
  EXPECT_EQ(ParseEntryBundle(cut, 3).error().message(), "tiles: entry bundle: entry 2 is truncated");
  EXPECT_EQ(EncodeEntryBundle(std::vector<Bytes>{Bytes(65536)}).error().message(), "tiles: entry of 65536 bytes exceeds 65535");
  EXPECT_EQ(ParseTile(Bytes(33), 1).error().message(), "tiles: tile is 33 bytes, expected 32");
}

// Tiles of a tree built directly from its leaf hashes.
class MemoryTiles : public TileSource {
 public:
  explicit MemoryTiles(const std::vector<Hash>& leaves) {
    std::vector<Hash> level = leaves;
    for (int l = 0; !level.empty(); ++l) {
      levels_.push_back(level);
      std::vector<Hash> up;
      for (size_t i = 0; i + kTileWidth <= level.size(); i += kTileWidth) {
        up.push_back(RootFromLeafHashes(std::span(level).subspan(i, kTileWidth)));
      }
      level = up;
    }
  }
  Result<Bytes> ReadTile(const TileCoord& t) override {
    ++reads;
    const auto& level = levels_.at(static_cast<size_t>(t.level));
    return EncodeTile(std::span(level).subspan(t.index * kTileWidth, t.width));
  }
  int reads = 0;

 private:
  std::vector<std::vector<Hash>> levels_;
};

TEST(TilesTest, ProofsFromTilesMatchProofsFromLeaves) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70000; ++i) leaves.push_back(LeafHash(AsBytes(std::to_string(i))));
  MemoryTiles tiles(leaves);
  MemoryHashReader direct(leaves);
  for (uint64_t size : std::vector<uint64_t>{1, 255, 256, 257, 65536, 65537, 70000}) {
    TileHashReader from_tiles(size, tiles);
    const Hash root = *TreeRoot(size, from_tiles);
    EXPECT_EQ(root, RootFromLeafHashes(std::span(leaves).first(size)));
    for (uint64_t index : {uint64_t{0}, size / 2, size - 1}) {
      tiles.reads = 0;
      auto proof = InclusionProof(index, size, from_tiles);
      ASSERT_TRUE(proof.ok()) << proof.error().ToString();
      EXPECT_LE(tiles.reads, 6);  // O(log n) reads: a few tiles per tile level
      EXPECT_TRUE(VerifyInclusion(index, size, View(leaves[index]), *proof, View(root)).ok());
    }
    if (size > 300) {
      auto proof = ConsistencyProof(300, size, from_tiles);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(300, size, *proof, View(*TreeRoot(300, direct)), View(root)).ok());
    }
  }
}

TEST(TilesTest, ReaderRefusesTilesOfTheWrongLength) {
  class Short : public TileSource {
    Result<Bytes> ReadTile(const TileCoord&) override { return Bytes(31); }
  } source;
  TileHashReader reader(10, source);
  EXPECT_EQ(reader.ReadHash(0, 3).error().message(), "tiles: tile/0/000.p/10: tiles: tile is 31 bytes, expected 320");
  EXPECT_EQ(reader.ReadHash(0, 10).error().message(), "tiles: hash (0, 10) is beyond the tree of size 10");
}

}  // namespace
}  // namespace openpcc::tlog
