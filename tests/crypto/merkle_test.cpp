// The Merkle tree against a hand-written RFC 6962 reference, its inclusion
// proofs, and the leaf/node domain separation.

#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "crypto/hash.h"

namespace cairn::crypto {
namespace {

std::vector<Hash256> Leaves(size_t n) {
  std::vector<Hash256> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(MerkleLeafHash(ByteView("leaf " + std::to_string(i))));
  return out;
}

size_t LargestPowerOfTwoBelow(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// RFC 6962 section 2.1, MTH(D[n]), written out independently of merkle.cpp.
Hash256 ReferenceRoot(const std::vector<Hash256>& leaves) {
  if (leaves.empty()) return Hash256{};  // Not used: the empty tree is tested separately.
  if (leaves.size() == 1) return leaves[0];
  size_t k = LargestPowerOfTwoBelow(leaves.size());
  std::vector<Hash256> left(leaves.begin(), leaves.begin() + k);
  std::vector<Hash256> right(leaves.begin() + k, leaves.end());
  return MerkleNodeHash(ReferenceRoot(left), ReferenceRoot(right));
}

struct PathStep {
  Hash256 sibling;
  bool sibling_on_left;
};

// RFC 6962 section 2.1.1, PATH(m, D[n]), leaf first, with each sibling's side.
std::vector<PathStep> ReferencePath(const std::vector<Hash256>& leaves, size_t m) {
  if (leaves.size() <= 1) return {};
  size_t k = LargestPowerOfTwoBelow(leaves.size());
  std::vector<Hash256> left(leaves.begin(), leaves.begin() + k);
  std::vector<Hash256> right(leaves.begin() + k, leaves.end());
  std::vector<PathStep> path;
  if (m < k) {
    path = ReferencePath(left, m);
    path.push_back({ReferenceRoot(right), /*sibling_on_left=*/false});
  } else {
    path = ReferencePath(right, m - k);
    path.push_back({ReferenceRoot(left), /*sibling_on_left=*/true});
  }
  return path;
}

// The sibling_on_left sequence of PATH(m, D[n]), which depends only on m and n.
std::vector<bool> PathShape(size_t m, size_t n) {
  if (n <= 1) return {};
  size_t k = LargestPowerOfTwoBelow(n);
  std::vector<bool> shape = m < k ? PathShape(m, k) : PathShape(m - k, n - k);
  shape.push_back(m >= k);
  return shape;
}

// Hashes pinned when this test was written, computed with /usr/bin/python3
// from the formulas in merkle.h:
//   tagged(tag, data) = blake2b(bytes([len(tag)]) + tag + data, digest_size=32)
// They freeze the on-disk and wire format of every root cairn publishes.
TEST(MerkleTree, MatchesPinnedHashes) {
  EXPECT_EQ(MerkleRoot({}).ToHex(),
            "a9eb92a897446a54d8639b38f7e4751f08d45b6ed41894c5cb24c02a83c6faa2");
  EXPECT_EQ(MerkleLeafHash(ByteView(std::string_view("a"))).ToHex(),
            "29f644fe5b683df4686cf82da51f511648e6cf50e511b4a4a377b17e478a54c5");
  std::vector<Hash256> abc = {MerkleLeafHash(ByteView(std::string_view("a"))),
                              MerkleLeafHash(ByteView(std::string_view("b"))),
                              MerkleLeafHash(ByteView(std::string_view("c")))};
  EXPECT_EQ(MerkleRoot(abc).ToHex(),
            "07b4392f57ee663b2cade405d227ccf2d53caedb3aacb43a01da396d11092b16");
}

TEST(MerkleTree, RootsOfSmallTreesHaveTheRfc6962Shape) {
  std::vector<Hash256> h = Leaves(5);
  EXPECT_EQ(MerkleRoot({h[0]}), h[0]);
  EXPECT_EQ(MerkleRoot({h[0], h[1]}), MerkleNodeHash(h[0], h[1]));
  // Three leaves: the split is at 2, the odd leaf is not duplicated.
  EXPECT_EQ(MerkleRoot({h[0], h[1], h[2]}), MerkleNodeHash(MerkleNodeHash(h[0], h[1]), h[2]));
  EXPECT_EQ(
      MerkleRoot(h),
      MerkleNodeHash(MerkleNodeHash(MerkleNodeHash(h[0], h[1]), MerkleNodeHash(h[2], h[3])), h[4]));
}

TEST(MerkleTree, RootMatchesReference) {
  for (size_t n : {1u, 2u, 3u, 5u, 8u, 13u}) {
    std::vector<Hash256> leaves = Leaves(n);
    EXPECT_EQ(MerkleRoot(leaves), ReferenceRoot(leaves)) << n << " leaves";
    EXPECT_EQ(MerkleTree(leaves).root(), ReferenceRoot(leaves)) << n << " leaves";
    EXPECT_EQ(MerkleTree(leaves).size(), n);
  }
}

TEST(MerkleTree, EmptyTreeHasItsOwnRoot) {
  MerkleTree empty(std::vector<Hash256>{});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.root(), MerkleRoot({}));
  EXPECT_FALSE(empty.root().IsZero());
  // Neither the hash of an empty leaf nor of empty data under another tag.
  EXPECT_NE(empty.root(), MerkleLeafHash(ByteView()));
  EXPECT_NE(empty.root(), TaggedHash("cairn/merkle/leaf", ByteView()));
}

TEST(MerkleTree, RootDependsOnEveryLeafAndItsPosition) {
  std::vector<Hash256> leaves = Leaves(13);
  Hash256 root = MerkleRoot(leaves);
  for (size_t i = 0; i < leaves.size(); ++i) {
    std::vector<Hash256> changed = leaves;
    changed[i].bytes[0] ^= 1;
    EXPECT_NE(MerkleRoot(changed), root) << "leaf " << i;
  }
  std::vector<Hash256> swapped = leaves;
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(MerkleRoot(swapped), root);
  // Appending a copy of the last leaf changes the root (CVE-2012-2459).
  std::vector<Hash256> duplicated = leaves;
  duplicated.push_back(leaves.back());
  EXPECT_NE(MerkleRoot(duplicated), root);
}

TEST(MerkleTree, ProofIsTheRfc6962AuditPath) {
  for (size_t n = 1; n <= 40; ++n) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      std::vector<PathStep> expected = ReferencePath(leaves, i);
      std::vector<Hash256> proof = tree.Proof(i);
      ASSERT_EQ(proof.size(), expected.size()) << "leaf " << i << " of " << n;
      for (size_t j = 0; j < proof.size(); ++j) {
        EXPECT_EQ(proof[j], expected[j].sibling) << "leaf " << i << " of " << n << ", step " << j;
        EXPECT_EQ(PathShape(i, n)[j], expected[j].sibling_on_left);
      }
    }
  }
}

TEST(MerkleTree, ProvesEveryLeaf) {
  for (size_t n = 1; n <= 40; ++n) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(VerifyMerkleProof(leaves[i], i, n, tree.Proof(i), tree.root()))
          << "leaf " << i << " of " << n;
    }
  }
}

TEST(MerkleProof, FailsForAnotherLeaf) {
  for (size_t n = 1; n <= 20; ++n) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    Hash256 outsider = MerkleLeafHash(ByteView(std::string_view("not in the tree")));
    for (size_t i = 0; i < n; ++i) {
      EXPECT_FALSE(VerifyMerkleProof(outsider, i, n, tree.Proof(i), tree.root()));
      if (n > 1) {
        const Hash256& neighbour = leaves[(i + 1) % n];
        EXPECT_FALSE(VerifyMerkleProof(neighbour, i, n, tree.Proof(i), tree.root()));
      }
    }
  }
}

TEST(MerkleProof, FailsAtAnotherIndex) {
  for (size_t n = 1; n <= 20; ++n) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      std::vector<Hash256> proof = tree.Proof(i);
      for (size_t j = 0; j < n + 3; ++j) {
        if (j == i) continue;
        EXPECT_FALSE(VerifyMerkleProof(leaves[i], j, n, proof, tree.root()))
            << "proof of leaf " << i << " of " << n << " claimed for index " << j;
      }
    }
  }
}

// The root does not commit to the tree size by itself (as in RFC 9162, the
// size must come from the same trusted source as the root). A proof checked
// against the wrong size must fail whenever that size puts the leaf on a
// path of a different shape, which is every case where the hashes differ.
TEST(MerkleProof, FailsForAnotherSizeUnlessThePathShapeIsIdentical) {
  int shape_changes = 0;
  for (size_t n = 1; n <= 24; ++n) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      std::vector<Hash256> proof = tree.Proof(i);
      std::vector<bool> true_shape = PathShape(i, n);
      for (size_t claimed = 1; claimed <= 2 * n + 2; ++claimed) {
        if (claimed == n) continue;
        bool same_shape = i < claimed && PathShape(i, claimed) == true_shape;
        if (!same_shape) ++shape_changes;
        EXPECT_EQ(VerifyMerkleProof(leaves[i], i, claimed, proof, tree.root()), same_shape)
            << "proof of leaf " << i << " of " << n << " claimed for size " << claimed;
      }
    }
  }
  EXPECT_GT(shape_changes, 1000);  // The test exercised the failing case.
}

TEST(MerkleProof, FailsWithTamperedSibling) {
  for (size_t n : {2u, 3u, 5u, 8u, 13u, 40u}) {
    std::vector<Hash256> leaves = Leaves(n);
    MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      std::vector<Hash256> proof = tree.Proof(i);
      for (size_t j = 0; j < proof.size(); ++j) {
        std::vector<Hash256> tampered = proof;
        tampered[j].bytes[31] ^= 0x80;
        EXPECT_FALSE(VerifyMerkleProof(leaves[i], i, n, tampered, tree.root()))
            << "leaf " << i << " of " << n << ", sibling " << j;
      }
    }
  }
}

TEST(MerkleProof, FailsWithMissingOrExtraSiblings) {
  std::vector<Hash256> leaves = Leaves(13);
  MerkleTree tree(leaves);
  for (size_t i = 0; i < leaves.size(); ++i) {
    std::vector<Hash256> proof = tree.Proof(i);
    std::vector<Hash256> shorter(proof.begin(), proof.end() - 1);
    EXPECT_FALSE(VerifyMerkleProof(leaves[i], i, 13, shorter, tree.root())) << i;
    std::vector<Hash256> longer = proof;
    longer.push_back(leaves[0]);
    EXPECT_FALSE(VerifyMerkleProof(leaves[i], i, 13, longer, tree.root())) << i;
    EXPECT_FALSE(VerifyMerkleProof(leaves[i], i, 13, {}, tree.root())) << i;
  }
}

TEST(MerkleProof, FailsAgainstAnotherRoot) {
  std::vector<Hash256> leaves = Leaves(8);
  MerkleTree tree(leaves);
  Hash256 other_root = MerkleRoot(Leaves(9));
  for (size_t i = 0; i < leaves.size(); ++i) {
    EXPECT_FALSE(VerifyMerkleProof(leaves[i], i, 8, tree.Proof(i), other_root)) << i;
  }
}

TEST(MerkleProof, SingleLeafTreeNeedsNoSiblings) {
  std::vector<Hash256> leaves = Leaves(1);
  EXPECT_TRUE(VerifyMerkleProof(leaves[0], 0, 1, {}, MerkleRoot(leaves)));
  EXPECT_FALSE(VerifyMerkleProof(leaves[0], 0, 1, {leaves[0]}, MerkleRoot(leaves)));
  EXPECT_FALSE(VerifyMerkleProof(leaves[0], 0, 0, {}, MerkleRoot(leaves)));
}

TEST(MerkleTree, SeparatesLeavesFromInnerNodes) {
  Hash256 a = MerkleLeafHash(ByteView(std::string_view("a")));
  Hash256 b = MerkleLeafHash(ByteView(std::string_view("b")));
  Hash256 root = MerkleRoot({a, b});
  // The bytes an inner node hashes, offered as the data of a leaf.
  Bytes concatenation(a.bytes.begin(), a.bytes.end());
  concatenation.insert(concatenation.end(), b.bytes.begin(), b.bytes.end());
  EXPECT_NE(MerkleLeafHash(concatenation), root);
  EXPECT_NE(MerkleRoot({MerkleLeafHash(concatenation)}), root);
  // Leaf data is hashed with its own tag, never as raw BLAKE2b.
  EXPECT_NE(MerkleLeafHash(ByteView(std::string_view("a"))),
            Blake2b256(ByteView(std::string_view("a"))));
}

TEST(MerkleProof, InnerNodeCannotBeProvenAsALeaf) {
  // In a 4-leaf tree, node(h0, h1) is the left child of the root. Someone who
  // claims "leaf 0 of 2" is the 64 bytes h0 || h1 gets a different leaf hash,
  // so the proof [node(h2, h3)] does not verify.
  std::vector<Hash256> h = Leaves(4);
  MerkleTree tree(h);
  Bytes inner_preimage(h[0].bytes.begin(), h[0].bytes.end());
  inner_preimage.insert(inner_preimage.end(), h[1].bytes.begin(), h[1].bytes.end());
  std::vector<Hash256> proof = {MerkleNodeHash(h[2], h[3])};
  EXPECT_FALSE(VerifyMerkleProof(MerkleLeafHash(inner_preimage), 0, 2, proof, tree.root()));
}

}  // namespace
}  // namespace cairn::crypto
