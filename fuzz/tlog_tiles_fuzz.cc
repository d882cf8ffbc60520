// fuzz/tlog_tiles_fuzz.cc — tlog-tiles paths, entry bundles and tiles on untrusted bytes, and a
// TileHashReader fed with them.
// Invariants: a path that parses is canonical (TilePath gives it back); a bundle that parses
// re-encodes to its input; a tile that parses re-encodes to its input; proofs from untrusted tiles
// never crash.
#include <cstddef>
#include <cstdint>

#include "openpcc/tlog/tiles.h"
#include "tlog_fuzz_util.h"

namespace {

class FixedSource : public openpcc::tlog::TileSource {
 public:
  explicit FixedSource(openpcc::ByteView bytes) : bytes_(bytes) {}
  openpcc::Result<openpcc::Bytes> ReadTile(const openpcc::tlog::TileCoord&) override { return openpcc::ToBytes(bytes_); }

 private:
  openpcc::ByteView bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const ByteView input(data, size);
  if (auto coord = tlog::ParseTilePath(AsChars(input)); coord.ok()) {
    if (tlog::TilePath(*coord) != AsChars(input)) fuzz::TlogInvariantViolated("tile path is not canonical");
  }
  for (uint32_t width : {1u, 2u, 17u, 256u}) {
    if (auto entries = tlog::ParseEntryBundle(input, width); entries.ok()) {
      auto encoded = tlog::EncodeEntryBundle(*entries);
      if (!encoded.ok() || *encoded != ToBytes(input)) fuzz::TlogInvariantViolated("bundle does not re-encode");
    }
    if (auto tile = tlog::ParseTile(input, width); tile.ok()) {
      if (tlog::EncodeTile(*tile) != ToBytes(input)) fuzz::TlogInvariantViolated("tile does not re-encode");
    }
  }
  FixedSource source(input);
  const uint64_t tree_size = size == 0 ? 1 : 1 + (uint64_t{data[0]} << 8 | (size > 1 ? data[1] : 0));
  tlog::TileHashReader reader(tree_size, source);
  (void)tlog::InclusionProof(tree_size / 2, tree_size, reader);
  if (tree_size > 1) (void)tlog::ConsistencyProof(1, tree_size, reader);
  return 0;
}
