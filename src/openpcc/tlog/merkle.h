// tlog/merkle.h — RFC 9162 (§2.1) Merkle tree hashing, and inclusion and consistency proofs:
// verification for clients and witnesses, generation for the log.
//
// Leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right), the empty tree's
// root = SHA-256(""). Verification is pure: it takes untrusted proofs and refuses every malformed
// one with the check that failed (index beyond size, proof too short or too long, wrong root).
//
// Generation reads *stored hashes* through a HashReader: the hash of the complete subtree at
// `level` (2^level leaves) with `index` (its leaves are [index * 2^level, (index + 1) * 2^level)).
// A proof needs O(log n) reads: every proof node is one complete subtree except at most one on the
// tree's right edge, which is rebuilt from at most log2(n) complete subtrees. The log's tiles
// (tlog/tiles.h) are one HashReader; an in-memory vector of leaf hashes is another (tests).
//
// Thread safety: pure functions; a HashReader's own contract applies to the generation functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tlog {

inline constexpr size_t kHashLength = 32;
using Hash = std::array<uint8_t, kHashLength>;

Hash LeafHash(ByteView entry);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyTreeHash();
// `what` names the field in the error ("checkpoint root hash").
Result<Hash> HashFromBytes(ByteView bytes, std::string_view what);
inline ByteView View(const Hash& h) { return ByteView(h.data(), h.size()); }

// MTH of a list of leaf hashes, directly (O(n)); for tests and small trees.
Hash RootFromLeafHashes(std::span<const Hash> leaf_hashes);

// RFC 9162 §2.1.3.2. `leaf_hash` and `root` must be 32 bytes.
Status VerifyInclusion(uint64_t index, uint64_t size, ByteView leaf_hash, std::span<const Hash> proof,
                       ByteView root);
// RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; size1 = 0 is refused (every
// tree is consistent with the empty one, so such a "proof" proves nothing: callers special-case it).
Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof, ByteView root1,
                         ByteView root2);

class HashReader {
 public:
  virtual ~HashReader() = default;
  // The stored hash of the complete subtree (level, index); the caller guarantees that the subtree
  // lies within the tree the reader serves.
  virtual Result<Hash> ReadHash(int level, uint64_t index) = 0;
};

// MTH(D[begin:end]); `begin` must be a multiple of a power of two >= end - begin (always so for the
// subtrees of RFC 9162's recursion).
Result<Hash> SubtreeHash(uint64_t begin, uint64_t end, HashReader& reader);
Result<Hash> TreeRoot(uint64_t size, HashReader& reader);
// RFC 9162 §2.1.3.1 PATH(index, D[0:size]).
Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size, HashReader& reader);
// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when size1 == size2, refused for size1 = 0.
Result<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2, HashReader& reader);

// A HashReader over leaf hashes held in memory (tests, and small trees): each read rebuilds the
// subtree, so it is O(2^level).
class MemoryHashReader : public HashReader {
 public:
  explicit MemoryHashReader(std::span<const Hash> leaf_hashes) : leaves_(leaf_hashes) {}
  Result<Hash> ReadHash(int level, uint64_t index) override;

 private:
  std::span<const Hash> leaves_;
};

}  // namespace openpcc::tlog
