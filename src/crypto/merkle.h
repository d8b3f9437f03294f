// Merkle tree over an ordered list of leaves, with inclusion proofs.
//
// The shape is RFC 6962/9162's (Certificate Transparency): a tree of n leaves
// splits at the largest power of two below n, so no node is ever duplicated
// (the flaw behind Bitcoin's CVE-2012-2459), and leaves and inner nodes are
// hashed under different domain tags so a leaf can never pose as a node.
//   leaf  = TaggedHash("cairn/merkle/leaf", data)
//   inner = TaggedHash("cairn/merkle/node", left || right)
//   root of the empty tree = TaggedHash("cairn/merkle/empty", "")
#pragma once

#include <vector>

#include "cairn/bytes.h"

namespace cairn::crypto {

Hash256 MerkleLeafHash(ByteView data);
Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right);

// Keeps the leaf hashes; building is O(n) hashes, and so is a proof (it
// recomputes the sibling subtrees), which is fine at checkpoint-list sizes.
// Immutable after construction and safe to share between threads.
class MerkleTree {
 public:
  // Leaves are already leaf hashes (MerkleLeafHash of the data), so callers
  // can hash large leaves in parallel or keep them elsewhere.
  explicit MerkleTree(std::vector<Hash256> leaf_hashes);

  const Hash256& root() const { return root_; }
  size_t size() const { return leaves_.size(); }

  // Sibling hashes from the leaf up to the root.
  // REQUIRES: index < size().
  std::vector<Hash256> Proof(size_t index) const;

 private:
  std::vector<Hash256> leaves_;
  Hash256 root_;
};

// Root of a list of leaf hashes without keeping the tree.
Hash256 MerkleRoot(const std::vector<Hash256>& leaf_hashes);

// True if `proof` shows that `leaf_hash` is leaf `index` of a tree of `size`
// leaves with the given root. As in RFC 9162, the root alone does not commit
// to the size (leaf 0 has the same path in trees of 5..8 leaves): take `size`
// from the same trusted source as `root`, never from the prover.
bool VerifyMerkleProof(const Hash256& leaf_hash, size_t index, size_t size,
                       const std::vector<Hash256>& proof, const Hash256& root);

}  // namespace cairn::crypto
