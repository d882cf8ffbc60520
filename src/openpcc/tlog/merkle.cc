#include "openpcc/tlog/merkle.h"

#include <algorithm>
#include <bit>
#include <string>

#include <openssl/sha.h>

#include "openpcc/crypto/secret.h"

namespace openpcc::tlog {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Error ProofError(std::string_view what) { return Error(ErrorCode::kAuthenticationFailed, std::string(what)); }

bool EqualHash(const Hash& h, ByteView b) { return crypto::ConstantTimeEqual(View(h), b); }

}  // namespace

Hash LeafHash(ByteView entry) {
  Bytes buffer;
  buffer.reserve(1 + entry.size());
  buffer.push_back(0x00);
  Append(buffer, entry);
  Hash out;
  SHA256(buffer.data(), buffer.size(), out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buffer[1 + 2 * kHashLength];
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 1 + kHashLength);
  Hash out;
  SHA256(buffer, sizeof(buffer), out.data());
  return out;
}

Hash EmptyTreeHash() {
  Hash out;
  SHA256(nullptr, 0, out.data());
  return out;
}

Result<Hash> HashFromBytes(ByteView bytes, std::string_view what) {
  if (bytes.size() != kHashLength) {
    return Error(ErrorCode::kMalformed, std::string(what) + " is " + std::to_string(bytes.size()) +
                                            " bytes, expected 32");
  }
  Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

Hash RootFromLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyTreeHash();
  if (leaves.size() == 1) return leaves[0];
  const size_t k = SplitPoint(leaves.size());
  return NodeHash(RootFromLeafHashes(leaves.first(k)), RootFromLeafHashes(leaves.subspan(k)));
}

Status VerifyInclusion(uint64_t index, uint64_t size, ByteView leaf_hash, std::span<const Hash> proof,
                       ByteView root) {
  if (index >= size) {
    return ProofError("inclusion: index " + std::to_string(index) + " is not below tree size " + std::to_string(size));
  }
  OPENPCC_ASSIGN_OR_RETURN(Hash r, HashFromBytes(leaf_hash, "inclusion: leaf hash"));
  if (root.size() != kHashLength) return HashFromBytes(root, "inclusion: root hash").error();
  uint64_t fn = index;
  uint64_t sn = size - 1;
  for (const Hash& p : proof) {
    if (sn == 0) return ProofError("inclusion: proof has more hashes than the path to the root");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofError("inclusion: proof has fewer hashes than the path to the root");
  if (!EqualHash(r, root)) return ProofError("inclusion: computed root does not match the tree's root hash");
  return OkStatus();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof, ByteView root1,
                         ByteView root2) {
  if (size1 > size2) {
    return ProofError("consistency: old size " + std::to_string(size1) + " is larger than new size " +
                      std::to_string(size2));
  }
  if (size1 == 0) return ProofError("consistency: proof from the empty tree (size 0) proves nothing");
  if (size1 == size2) {
    if (!proof.empty()) return ProofError("consistency: sizes are equal but the proof is not empty");
    if (root1.size() != root2.size() || !crypto::ConstantTimeEqual(root1, root2)) {
      return ProofError("consistency: sizes are equal but the roots differ");
    }
    return OkStatus();
  }
  if (root1.size() != kHashLength) return HashFromBytes(root1, "consistency: old root hash").error();
  if (root2.size() != kHashLength) return HashFromBytes(root2, "consistency: new root hash").error();
  if (proof.empty()) return ProofError("consistency: proof is empty");

  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) {
    OPENPCC_ASSIGN_OR_RETURN(Hash first, HashFromBytes(root1, "consistency: old root hash"));
    path.push_back(first);
  }
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return ProofError("consistency: proof has more hashes than needed");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofError("consistency: proof has fewer hashes than needed");
  if (!EqualHash(fr, root1)) return ProofError("consistency: proof does not lead to the old root hash");
  if (!EqualHash(sr, root2)) return ProofError("consistency: proof does not lead to the new root hash");
  return OkStatus();
}

Result<Hash> SubtreeHash(uint64_t begin, uint64_t end, HashReader& reader) {
  if (begin >= end) return EmptyTreeHash();
  // Complete subtrees left to right (the binary digits of end - begin, largest first), folded from
  // the right: MTH(D[begin:end]) = H(P1, H(P2, ... Pk)).
  std::vector<Hash> parts;
  uint64_t at = begin;
  while (at < end) {
    const int level = static_cast<int>(std::bit_width(end - at)) - 1;
    const uint64_t width = uint64_t{1} << level;
    if (at % width != 0) {
      return Error(ErrorCode::kInvalidArgument, "merkle: subtree [" + std::to_string(begin) + ", " +
                                                    std::to_string(end) + ") is not aligned");
    }
    OPENPCC_ASSIGN_OR_RETURN(Hash h, reader.ReadHash(level, at >> level));
    parts.push_back(h);
    at += width;
  }
  Hash acc = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) acc = NodeHash(parts[i], acc);
  return acc;
}

Result<Hash> TreeRoot(uint64_t size, HashReader& reader) { return SubtreeHash(0, size, reader); }

Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size, HashReader& reader) {
  if (index >= size) {
    return Error(ErrorCode::kOutOfRange, "inclusion proof: index " + std::to_string(index) +
                                             " is not below tree size " + std::to_string(size));
  }
  std::vector<Hash> top_down;
  uint64_t lo = 0;
  uint64_t hi = size;
  while (hi - lo > 1) {
    const uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      OPENPCC_ASSIGN_OR_RETURN(Hash right, SubtreeHash(lo + k, hi, reader));
      top_down.push_back(right);
      hi = lo + k;
    } else {
      OPENPCC_ASSIGN_OR_RETURN(Hash left, SubtreeHash(lo, lo + k, reader));
      top_down.push_back(left);
      lo += k;
    }
  }
  return std::vector<Hash>(top_down.rbegin(), top_down.rend());
}

Result<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2, HashReader& reader) {
  if (size1 > size2 || size1 == 0) {
    return Error(ErrorCode::kOutOfRange, "consistency proof: sizes " + std::to_string(size1) + " -> " +
                                             std::to_string(size2) + " need 0 < old <= new");
  }
  std::vector<Hash> top_down;
  uint64_t lo = 0;
  uint64_t hi = size2;
  uint64_t m = size1;  // relative to lo
  bool whole = true;   // SUBPROOF's b: the old tree is the whole of [lo, hi)'s prefix so far
  while (true) {
    const uint64_t n = hi - lo;
    if (m == n) {
      if (!whole) {
        OPENPCC_ASSIGN_OR_RETURN(Hash h, SubtreeHash(lo, hi, reader));
        top_down.push_back(h);
      }
      break;
    }
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      OPENPCC_ASSIGN_OR_RETURN(Hash right, SubtreeHash(lo + k, hi, reader));
      top_down.push_back(right);
      hi = lo + k;
    } else {
      OPENPCC_ASSIGN_OR_RETURN(Hash left, SubtreeHash(lo, lo + k, reader));
      top_down.push_back(left);
      lo += k;
      m -= k;
      whole = false;
    }
  }
  return std::vector<Hash>(top_down.rbegin(), top_down.rend());
}

Result<Hash> MemoryHashReader::ReadHash(int level, uint64_t index) {
  if (level < 0 || level > 63) return Error(ErrorCode::kOutOfRange, "merkle: level out of range");
  const uint64_t width = uint64_t{1} << level;
  if (index > (leaves_.size() / width) || (index + 1) * width > leaves_.size()) {
    return Error(ErrorCode::kOutOfRange, "merkle: stored hash (" + std::to_string(level) + ", " +
                                             std::to_string(index) + ") is beyond the tree");
  }
  return RootFromLeafHashes(leaves_.subspan(index * width, width));
}

}  // namespace openpcc::tlog
