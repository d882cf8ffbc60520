#include "openpcc/tlog/tiles.h"

#include <charconv>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tlog {
namespace {

constexpr size_t kTileCacheLimit = 256;

Error TileError(ErrorCode code, const std::string& what) { return Error(code, "tiles: " + what); }

// Parses a decimal without sign or leading zeroes into [0, max].
bool ParseDecimal(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

// 256^(level+1), or 0 when it exceeds 2^63 (no tree is that large).
uint64_t TileSpan(int level) {
  const int shift = kTileHeight * (level + 1);
  return shift >= 63 ? 0 : uint64_t{1} << shift;
}

}  // namespace

std::string TilePath(const TileCoord& tile) {
  std::string out = tile.entries ? "tile/entries" : "tile/" + std::to_string(tile.level);
  std::string groups;
  uint64_t n = tile.index;
  std::vector<std::string> parts;
  do {
    const auto group = static_cast<unsigned>(n % 1000);
    char buf[4] = {static_cast<char>('0' + group / 100), static_cast<char>('0' + group / 10 % 10),
                   static_cast<char>('0' + group % 10), 0};
    parts.emplace_back(buf);
    n /= 1000;
  } while (n > 0);
  for (size_t i = parts.size(); i-- > 0;) out += (i == 0 ? "/" : "/x") + parts[i];
  if (!tile.full()) out += ".p/" + std::to_string(tile.width);
  return out;
}

Result<TileCoord> ParseTilePath(std::string_view path) {
  const auto bad = [&](const std::string& why) { return TileError(ErrorCode::kMalformed, "path: " + why); };
  if (path.size() > 128) return bad("too long");
  if (path.substr(0, 5) != "tile/") return bad("does not start with tile/");
  path.remove_prefix(5);
  std::vector<std::string_view> elements;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    elements.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (elements.size() < 2) return bad("has no tile index");
  TileCoord tile;
  if (elements[0] == "entries") {
    tile.entries = true;
  } else {
    uint64_t level = 0;
    if (!ParseDecimal(elements[0], kMaxTileLevel, &level)) return bad("level is not a decimal in 0..63");
    tile.level = static_cast<int>(level);
  }
  size_t last = elements.size() - 1;
  // A partial tile ends in "<NNN>.p/<W>".
  if (elements.size() >= 3 && elements[last - 1].size() == 5 && elements[last - 1].substr(3) == ".p") {
    uint64_t width = 0;
    if (!ParseDecimal(elements[last], kTileWidth - 1, &width) || width == 0) return bad("partial width is not 1..255");
    tile.width = static_cast<uint32_t>(width);
    elements[last - 1] = elements[last - 1].substr(0, 3);
    --last;
  }
  uint64_t index = 0;
  for (size_t i = 1; i <= last; ++i) {
    std::string_view group = elements[i];
    if (i < last) {
      if (group.size() != 4 || group[0] != 'x') return bad("index group without its 'x' prefix");
      group.remove_prefix(1);
    }
    if (group.size() != 3) return bad("index group is not 3 digits");
    unsigned value = 0;
    for (char c : group) {
      if (c < '0' || c > '9') return bad("index group is not decimal");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (index > (UINT64_MAX - value) / 1000) return bad("index overflows");
    index = index * 1000 + value;
  }
  // The first group carries no leading zero group ("x000/001" is not a spelling of 1).
  if (last > 1 && elements[1] == "x000") return bad("index has a leading zero group");
  tile.index = index;
  if (TilePath(tile) != std::string("tile/") + std::string(path)) return bad("is not in canonical form");
  return tile;
}

uint32_t TileWidthAt(uint64_t tree_size, int level, uint64_t index) {
  if (level < 0 || level > kMaxTileLevel) return 0;
  const uint64_t span = TileSpan(level);
  if (span != 0 && index < tree_size / span) return kTileWidth;  // (index + 1) * span <= tree_size
  const int shift = kTileHeight * level;
  if (shift >= 64) return 0;
  const uint64_t hashes = tree_size >> shift;  // stored hashes at this level
  if (index != hashes / kTileWidth) return 0;
  return static_cast<uint32_t>(hashes % kTileWidth);
}

Result<std::vector<Hash>> ParseTile(ByteView bytes, uint32_t width) {
  if (width == 0 || width > kTileWidth) return TileError(ErrorCode::kInvalidArgument, "tile width " + std::to_string(width));
  if (bytes.size() != size_t{width} * kHashLength) {
    return TileError(ErrorCode::kMalformed, "tile is " + std::to_string(bytes.size()) + " bytes, expected " +
                                                std::to_string(size_t{width} * kHashLength));
  }
  wire::ByteReader reader(bytes);
  std::vector<Hash> out(width);
  for (auto& h : out) reader.CopyBytes(h);
  return out;
}

Bytes EncodeTile(std::span<const Hash> hashes) {
  Bytes out;
  out.reserve(hashes.size() * kHashLength);
  for (const auto& h : hashes) Append(out, View(h));
  return out;
}

Result<Bytes> EncodeEntryBundle(std::span<const Bytes> entries) {
  if (entries.size() > kTileWidth) return TileError(ErrorCode::kOutOfRange, "entry bundle has more than 256 entries");
  wire::ByteWriter w;
  for (const auto& e : entries) {
    if (!w.WriteU16Prefixed(e)) {
      return TileError(ErrorCode::kOutOfRange, "entry of " + std::to_string(e.size()) + " bytes exceeds 65535");
    }
  }
  return w.Take();
}

Result<std::vector<Bytes>> ParseEntryBundle(ByteView bytes, uint32_t width) {
  if (width == 0 || width > kTileWidth) return TileError(ErrorCode::kInvalidArgument, "bundle width " + std::to_string(width));
  wire::ByteReader reader(bytes);
  std::vector<Bytes> out;
  out.reserve(width);
  while (!reader.empty()) {
    if (out.size() == width) return TileError(ErrorCode::kMalformed, "entry bundle has more than " + std::to_string(width) + " entries");
    wire::ByteReader entry;
    if (!reader.ReadU16Prefixed(&entry)) {
      return TileError(ErrorCode::kTruncated, "entry bundle: entry " + std::to_string(out.size()) + " is truncated");
    }
    out.push_back(ToBytes(entry.rest()));
  }
  if (out.size() != width) {
    return TileError(ErrorCode::kTruncated, "entry bundle has " + std::to_string(out.size()) + " entries, expected " +
                                                std::to_string(width));
  }
  return out;
}

Result<const std::vector<Hash>*> TileHashReader::Tile(int tile_level, uint64_t tile_index, uint32_t width) {
  const auto key = std::make_pair(tile_level, tile_index);
  if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
  const TileCoord coord{false, tile_level, tile_index, width};
  OPENPCC_ASSIGN_OR_RETURN(auto bytes, source_.ReadTile(coord));
  auto hashes = ParseTile(bytes, width);
  if (!hashes.ok()) return TileError(hashes.error().code(), TilePath(coord) + ": " + hashes.error().message());
  if (cache_.size() >= kTileCacheLimit) cache_.clear();
  return &cache_.emplace(key, std::move(hashes).value()).first->second;
}

Result<Hash> TileHashReader::ReadHash(int level, uint64_t index) {
  if (level < 0 || level > kMaxTileLevel) return TileError(ErrorCode::kOutOfRange, "hash level " + std::to_string(level));
  const int tile_level = level / kTileHeight;
  const int within = level % kTileHeight;
  // The subtree covers stored hashes [first, first + count) of tree level 8 * tile_level.
  const uint64_t count = uint64_t{1} << within;
  if (index > (UINT64_MAX >> within)) return TileError(ErrorCode::kOutOfRange, "hash index overflows");
  const uint64_t first = index << within;
  const uint64_t tile_index = first / kTileWidth;
  const auto offset = static_cast<size_t>(first % kTileWidth);
  const uint32_t width = TileWidthAt(tree_size_, tile_level, tile_index);
  if (width == 0 || offset + count > width) {
    return TileError(ErrorCode::kOutOfRange, "hash (" + std::to_string(level) + ", " + std::to_string(index) +
                                                 ") is beyond the tree of size " + std::to_string(tree_size_));
  }
  OPENPCC_ASSIGN_OR_RETURN(const std::vector<Hash>* tile, Tile(tile_level, tile_index, width));
  return RootFromLeafHashes(std::span<const Hash>(*tile).subspan(offset, count));
}

}  // namespace openpcc::tlog
