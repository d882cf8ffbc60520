// tlog/tiles.h — C2SP tlog-tiles: tile and entry-bundle paths, their contents, and a HashReader
// that serves RFC 9162 stored hashes from tiles (for proof generation by the log and by clients
// that fetched tiles through the relay).
//
// A tile at level L holds up to 256 consecutive stored hashes of tree level 8L; a full tile has
// 256 (8192 bytes), the rightmost tiles of a tree are partial ("<path>.p/<width>"). An entry bundle
// holds the entries behind one level-0 tile, each as a big-endian u16 length and the bytes.
// Paths: "tile/<L>/<N>[.p/<W>]" and "tile/entries/<N>[.p/<W>]", N in 3-digit groups, all but the
// last prefixed with 'x' (1234067 -> x001/x234/067).
//
// Tile bytes from a server are untrusted: the reader checks their length against the width the
// tree size implies, and proofs built from them are verified against a signed checkpoint anyway.
//
// Thread safety: pure functions; a TileHashReader is single-threaded (it caches tiles).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openpcc/tlog/merkle.h"

namespace openpcc::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 256;
inline constexpr int kMaxTileLevel = 63;
inline constexpr size_t kMaxEntrySize = 0xffff;  // an entry bundle's u16 length prefix

struct TileCoord {
  bool entries = false;  // an entry bundle rather than a hash tile
  int level = 0;         // 0..63; 0 for entry bundles
  uint64_t index = 0;
  uint32_t width = kTileWidth;  // 1..256; 256 = full
  bool full() const { return width == kTileWidth; }
  friend bool operator==(const TileCoord&, const TileCoord&) = default;
};

std::string TilePath(const TileCoord& tile);
// Parses a path as TilePath writes it ("tile/..."), refusing every other spelling.
Result<TileCoord> ParseTilePath(std::string_view path);

// The width of tile (level, index) in a tree of `tree_size` leaves: 256 if full, 1..255 if
// partial, 0 if the tile does not exist at that size.
uint32_t TileWidthAt(uint64_t tree_size, int level, uint64_t index);

// Tiles of a hash level: concatenated 32-byte hashes.
Result<std::vector<Hash>> ParseTile(ByteView bytes, uint32_t width);
Bytes EncodeTile(std::span<const Hash> hashes);

// Entry bundles. Encoding fails on an entry over 65535 bytes or more than 256 entries.
Result<Bytes> EncodeEntryBundle(std::span<const Bytes> entries);
// `width` entries exactly, each within the bundle.
Result<std::vector<Bytes>> ParseEntryBundle(ByteView bytes, uint32_t width);

// Where tiles come from: files (the log), HTTP through the relay (clients), memory (tests).
class TileSource {
 public:
  virtual ~TileSource() = default;
  virtual Result<Bytes> ReadTile(const TileCoord& tile) = 0;
};

// Stored hashes from the tiles of a tree of `tree_size` leaves. Each read touches one tile (kept in
// a small cache) and rebuilds at most 2^7 - 1 interior nodes of it.
class TileHashReader : public HashReader {
 public:
  TileHashReader(uint64_t tree_size, TileSource& source) : tree_size_(tree_size), source_(source) {}
  Result<Hash> ReadHash(int level, uint64_t index) override;

 private:
  Result<const std::vector<Hash>*> Tile(int tile_level, uint64_t tile_index, uint32_t width);
  uint64_t tree_size_;
  TileSource& source_;
  std::map<std::pair<int, uint64_t>, std::vector<Hash>> cache_;
};

}  // namespace openpcc::tlog
