#include "crypto/merkle.h"

#include "crypto/hash.h"

namespace cairn::crypto {
namespace {

// Largest power of two strictly less than n. REQUIRES: n >= 2.
size_t SplitPoint(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash256 SubtreeRoot(const Hash256* leaves, size_t n) {
  if (n == 1) return leaves[0];
  size_t k = SplitPoint(n);
  return MerkleNodeHash(SubtreeRoot(leaves, k), SubtreeRoot(leaves + k, n - k));
}

void SubtreeProof(const Hash256* leaves, size_t n, size_t index, std::vector<Hash256>* out) {
  if (n == 1) return;
  size_t k = SplitPoint(n);
  if (index < k) {
    SubtreeProof(leaves, k, index, out);
    out->push_back(SubtreeRoot(leaves + k, n - k));
  } else {
    SubtreeProof(leaves + k, n - k, index - k, out);
    out->push_back(SubtreeRoot(leaves, k));
  }
}

}  // namespace

Hash256 MerkleLeafHash(ByteView data) { return TaggedHash("cairn/merkle/leaf", data); }

Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right) {
  uint8_t buf[64];
  std::copy(left.bytes.begin(), left.bytes.end(), buf);
  std::copy(right.bytes.begin(), right.bytes.end(), buf + 32);
  return TaggedHash("cairn/merkle/node", ByteView(buf, sizeof(buf)));
}

Hash256 MerkleRoot(const std::vector<Hash256>& leaf_hashes) {
  if (leaf_hashes.empty()) return TaggedHash("cairn/merkle/empty", ByteView());
  return SubtreeRoot(leaf_hashes.data(), leaf_hashes.size());
}

MerkleTree::MerkleTree(std::vector<Hash256> leaf_hashes)
    : leaves_(std::move(leaf_hashes)), root_(MerkleRoot(leaves_)) {}

std::vector<Hash256> MerkleTree::Proof(size_t index) const {
  CAIRN_ASSERT(index < leaves_.size());
  std::vector<Hash256> proof;
  SubtreeProof(leaves_.data(), leaves_.size(), index, &proof);
  return proof;
}

bool VerifyMerkleProof(const Hash256& leaf_hash, size_t index, size_t size,
                       const std::vector<Hash256>& proof, const Hash256& root) {
  // RFC 9162 section 2.1.3.2: walk up, using the index bits and the last
  // index to tell which side each sibling is on.
  if (index >= size) return false;
  size_t fn = index;
  size_t sn = size - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

}  // namespace cairn::crypto
