// BlobStore: a blob is stored only once the whole of it hashed to its
// address; transfers resume from the bytes already received; one writer per
// partial file.
#include "node/blob_store.h"

#include <gtest/gtest.h>

#include <random>

#include "crypto/hash.h"
#include "support/temp_dir.h"

namespace cairn::node {
namespace {

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

ByteView Slice(const Bytes& b, size_t begin, size_t end) { return ByteView(b.data() + begin, end - begin); }

class BlobStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  BlobStore store_ = BlobStore::Open(dir_.path() + "/blobs").value();
};

TEST_F(BlobStoreTest, PutStoresUnderTheHashAndReadsBack) {
  const Bytes bytes = RandomBytes(3000, 1);
  const Hash256 hash = store_.Put(bytes).value();
  EXPECT_EQ(hash, crypto::Blake2b256(bytes));
  EXPECT_EQ(store_.Stat(hash), bytes.size());
  EXPECT_EQ(store_.ReadAll(hash, bytes.size()).value(), bytes);
  EXPECT_EQ(store_.Read(hash, 1000, 500).value(), Bytes(bytes.begin() + 1000, bytes.begin() + 1500));
  EXPECT_TRUE(store_.Read(hash, 3000, 10).value().empty());
  EXPECT_FALSE(store_.ReadAll(hash, bytes.size() - 1).ok());  // Over the caller's bound.
}

TEST_F(BlobStoreTest, ReaderReadsRangesOfOneOpenFile) {
  const Bytes bytes = RandomBytes(5000, 2);
  const Hash256 hash = store_.Put(bytes).value();
  auto reader = store_.OpenBlob(hash);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader->size(), bytes.size());
  Bytes out(4096);
  EXPECT_EQ(reader->ReadAt(0, out.data(), out.size()).value(), 4096u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 4096), Bytes(bytes.begin(), bytes.begin() + 4096));
  EXPECT_EQ(reader->ReadAt(4096, out.data(), out.size()).value(), 904u);  // Only what is left.
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 904), Bytes(bytes.begin() + 4096, bytes.end()));
  EXPECT_EQ(store_.OpenBlob(crypto::Blake2b256(out)).status().code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, APartialBlobBecomesABlobOnlyWhenComplete) {
  const Bytes bytes = RandomBytes(10000, 3);
  const Hash256 hash = crypto::Blake2b256(bytes);
  auto partial = store_.OpenPartial(hash);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_EQ(partial->size(), 0u);
  for (size_t at = 0; at < bytes.size(); at += 3000) {
    ASSERT_TRUE(partial->Append(Slice(bytes, at, std::min(bytes.size(), at + 3000))).ok());
    EXPECT_FALSE(store_.Stat(hash));
  }
  EXPECT_EQ(partial->size(), bytes.size());
  ASSERT_TRUE(partial->Complete(bytes.size()).ok());
  EXPECT_EQ(store_.ReadAll(hash, bytes.size()).value(), bytes);
  EXPECT_EQ(store_.PartialSize(hash), 0u);
}

TEST_F(BlobStoreTest, ATransferResumesAfterTheBytesAlreadyThere) {
  const Bytes bytes = RandomBytes(10000, 4);
  const Hash256 hash = crypto::Blake2b256(bytes);
  {
    auto first = store_.OpenPartial(hash).value();
    ASSERT_TRUE(first.Append(Slice(bytes, 0, 6000)).ok());
  }  // Gone mid-transfer: the bytes stay.
  EXPECT_EQ(store_.PartialSize(hash), 6000u);
  auto second = store_.OpenPartial(hash).value();
  EXPECT_EQ(second.size(), 6000u);
  ASSERT_TRUE(second.Append(Slice(bytes, 6000, bytes.size())).ok());
  ASSERT_TRUE(second.Complete(bytes.size()).ok());
  EXPECT_EQ(store_.ReadAll(hash, bytes.size()).value(), bytes);
}

TEST_F(BlobStoreTest, BytesThatDoNotHashToTheAddressAreDiscarded) {
  const Bytes bytes = RandomBytes(4000, 5);
  Bytes lie = bytes;
  lie[1234] ^= 1;
  const Hash256 hash = crypto::Blake2b256(bytes);
  auto partial = store_.OpenPartial(hash).value();
  ASSERT_TRUE(partial.Append(lie).ok());
  Status s = partial.Complete(lie.size());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_FALSE(store_.Stat(hash));
  EXPECT_EQ(store_.PartialSize(hash), 0u);
}

TEST_F(BlobStoreTest, ABadPrefixLeftByAnEarlierTransferIsCaughtAtTheEnd) {
  const Bytes bytes = RandomBytes(4000, 6);
  const Hash256 hash = crypto::Blake2b256(bytes);
  {
    auto liar = store_.OpenPartial(hash).value();
    ASSERT_TRUE(liar.Append(RandomBytes(2000, 99)).ok());
  }
  auto resumed = store_.OpenPartial(hash).value();
  ASSERT_EQ(resumed.size(), 2000u);
  ASSERT_TRUE(resumed.Append(Slice(bytes, 2000, bytes.size())).ok());
  EXPECT_EQ(resumed.Complete(bytes.size()).code(), StatusCode::kCorruption);
  EXPECT_FALSE(store_.Stat(hash));
  // The next attempt starts from nothing and succeeds.
  auto fresh = store_.OpenPartial(hash).value();
  EXPECT_EQ(fresh.size(), 0u);
  ASSERT_TRUE(fresh.Append(bytes).ok());
  EXPECT_TRUE(fresh.Complete(bytes.size()).ok());
}

TEST_F(BlobStoreTest, TheWrongSizeIsRefusedEvenWithTheRightBytes) {
  const Bytes bytes = RandomBytes(100, 7);
  const Hash256 hash = crypto::Blake2b256(bytes);
  auto partial = store_.OpenPartial(hash).value();
  ASSERT_TRUE(partial.Append(bytes).ok());
  EXPECT_EQ(partial.Complete(101).code(), StatusCode::kCorruption);
  EXPECT_FALSE(store_.Stat(hash));
}

TEST_F(BlobStoreTest, OnePartialFileHasOneWriterAtATime) {
  const Bytes bytes = RandomBytes(100, 8);
  const Hash256 hash = crypto::Blake2b256(bytes);
  auto first = store_.OpenPartial(hash);
  ASSERT_TRUE(first.ok());
  auto second = store_.OpenPartial(hash);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  PartialBlob moved = std::move(first).value();  // The lock moves with it.
  EXPECT_EQ(store_.OpenPartial(hash).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(moved.Append(bytes).ok());
  ASSERT_TRUE(moved.Complete(bytes.size()).ok());
  EXPECT_TRUE(store_.OpenPartial(hash).ok());  // Free again.
}

TEST_F(BlobStoreTest, StartingOverDropsWhatWasThere) {
  const Bytes bytes = RandomBytes(1000, 9);
  const Hash256 hash = crypto::Blake2b256(bytes);
  {
    auto partial = store_.OpenPartial(hash).value();
    ASSERT_TRUE(partial.Append(RandomBytes(500, 10)).ok());
  }
  auto restarted = store_.OpenPartial(hash, /*resume=*/false).value();
  EXPECT_EQ(restarted.size(), 0u);
  EXPECT_EQ(store_.PartialSize(hash), 0u);
  ASSERT_TRUE(restarted.Append(bytes).ok());
  EXPECT_TRUE(restarted.Complete(bytes.size()).ok());
}

TEST_F(BlobStoreTest, AnEmptyBlobIsABlob) {
  const Hash256 hash = crypto::Blake2b256(ByteView());
  auto partial = store_.OpenPartial(hash).value();
  ASSERT_TRUE(partial.Complete(0).ok());
  EXPECT_EQ(store_.Stat(hash), 0u);
}

TEST_F(BlobStoreTest, ASpentTransferRefusesMoreBytes) {
  const Bytes bytes = RandomBytes(10, 11);
  auto partial = store_.OpenPartial(crypto::Blake2b256(bytes)).value();
  ASSERT_TRUE(partial.Append(bytes).ok());
  ASSERT_TRUE(partial.Complete(bytes.size()).ok());
  EXPECT_EQ(partial.Append(bytes).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cairn::node
