// What only the durable store promises: data survives a restart, one process
// owns a data directory, read-only opens never write, and damaged files are
// reported as Corruption instead of being read as data.

#include "store/rocksdb_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/scratch_dir.h"

namespace cairn::store {
namespace {

const std::vector<std::string> kColumnFamilies = {"blocks", "state"};

class RocksDbStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RocksDbStore> OpenOrDie(RocksDbOptions options = {}) {
    auto store = RocksDbStore::Open(path_, kColumnFamilies, options);
    if (!store.ok()) std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    CAIRN_ASSERT(store.ok());
    return std::move(store).value();
  }

  static void Put(KvStore& store, std::string_view cf, std::string_view key,
                  std::string_view value) {
    WriteBatch batch;
    batch.Put(cf, key, value);
    ASSERT_TRUE(store.Write(batch, SyncPolicy::kSync).ok());
  }

  // Pseudo-random bytes, so that compression cannot shrink the table files to
  // almost nothing.
  static std::string Noise(size_t n, uint64_t seed) {
    std::string out(n, '\0');
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (char& c : out) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    return out;
  }

  std::vector<std::filesystem::path> TableFiles() const {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      if (entry.path().extension() == ".sst") files.push_back(entry.path());
    }
    return files;
  }

  ScratchDir dir_;
  std::string path_ = dir_.path() + "/db";
};

TEST_F(RocksDbStoreTest, DataSurvivesCloseAndReopen) {
  {
    auto store = OpenOrDie();
    Put(*store, "blocks", "b1", "block one");
    Put(*store, "state", "balance", "10");
    WriteBatch batch;
    batch.Put("state", "balance", "7");
    batch.Put("state", "gone", "x");
    batch.Delete("state", "gone");
    ASSERT_TRUE(store->Write(batch, SyncPolicy::kNoSync).ok());
  }
  auto store = OpenOrDie();
  EXPECT_EQ(store->Get("blocks", "b1").value(), "block one");
  EXPECT_EQ(store->Get("state", "balance").value(), "7");
  EXPECT_EQ(store->Get("state", "gone").status().code(), StatusCode::kNotFound);
}

TEST_F(RocksDbStoreTest, SecondOpenOfTheSameDirectoryIsUnavailable) {
  auto first = OpenOrDie();
  auto second = RocksDbStore::Open(path_, kColumnFamilies);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("another cairn process"), std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find(path_), std::string::npos) << second.status().message();
  // The first store is unaffected.
  Put(*first, "state", "k", "v");
  EXPECT_EQ(first->Get("state", "k").value(), "v");
}

TEST_F(RocksDbStoreTest, DirectoryIsFreeAgainAfterClose) {
  OpenOrDie().reset();
  auto again = RocksDbStore::Open(path_, kColumnFamilies);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(RocksDbStoreTest, MissingStoreIsNotFoundWithoutCreateIfMissing) {
  RocksDbOptions options;
  options.create_if_missing = false;
  auto store = RocksDbStore::Open(path_, kColumnFamilies, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status().message();
  EXPECT_FALSE(std::filesystem::exists(path_)) << "a failed open left a directory behind";
}

TEST_F(RocksDbStoreTest, OpensExistingStoreWithoutCreateIfMissing) {
  {
    auto store = OpenOrDie();
    Put(*store, "state", "k", "v");
  }
  RocksDbOptions options;
  options.create_if_missing = false;
  auto store = RocksDbStore::Open(path_, kColumnFamilies, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Get("state", "k").value(), "v");
}

TEST_F(RocksDbStoreTest, ReadOnlyOpenReadsButCannotWrite) {
  {
    auto store = OpenOrDie();
    Put(*store, "state", "k", "v");
  }
  RocksDbOptions options;
  options.read_only = true;
  auto store = OpenOrDie(options);
  EXPECT_EQ(store->Get("state", "k").value(), "v");
  WriteBatch batch;
  batch.Put("state", "k", "changed");
  Status s = store->Write(batch, SyncPolicy::kSync);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(store->Get("state", "k").value(), "v");
}

TEST_F(RocksDbStoreTest, ReadOnlyOpenRunsBesideALiveWriter) {
  auto writer = OpenOrDie();
  Put(*writer, "state", "k", "v");
  RocksDbOptions options;
  options.read_only = true;
  auto reader = RocksDbStore::Open(path_, kColumnFamilies, options);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->Get("state", "k").value(), "v");
  // The writer keeps working.
  Put(*writer, "state", "k2", "v2");
  EXPECT_EQ(writer->Get("state", "k2").value(), "v2");
}

TEST_F(RocksDbStoreTest, ReadOnlyOpenOfMissingStoreIsNotFoundAndWritesNothing) {
  RocksDbOptions options;
  options.read_only = true;
  auto store = RocksDbStore::Open(path_, kColumnFamilies, options);
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound) << store.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(path_)) << "a read-only open created a directory";
}

TEST_F(RocksDbStoreTest, FlippedByteInATableFileIsCorruption) {
  constexpr int kKeys = 2000;
  constexpr size_t kValueBytes = 1000;
  {
    auto store = OpenOrDie();
    WriteBatch batch;
    for (int i = 0; i < kKeys; ++i) {
      batch.Put("state", EncodeKeyU64(static_cast<uint64_t>(i)),
                Noise(kValueBytes, static_cast<uint64_t>(i)));
    }
    ASSERT_TRUE(store->Write(batch, SyncPolicy::kSync).ok());
  }
  // The data is in the write-ahead log; opening again replays it into a
  // table file (.sst), and closing leaves that file behind.
  OpenOrDie().reset();
  std::vector<std::filesystem::path> tables = TableFiles();
  ASSERT_FALSE(tables.empty()) << "no .sst file in " << path_;
  auto largest = *std::max_element(tables.begin(), tables.end(), [](const auto& a, const auto& b) {
    return std::filesystem::file_size(a) < std::filesystem::file_size(b);
  });
  uintmax_t size = std::filesystem::file_size(largest);
  ASSERT_GT(size, kKeys * kValueBytes / 2) << largest;
  {
    // A third of the way in: inside a data block, far from the footer and
    // index that opening the store reads.
    std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    file.seekg(static_cast<std::streamoff>(size / 3));
    char c = 0;
    file.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    file.seekp(static_cast<std::streamoff>(size / 3));
    file.write(&c, 1);
    ASSERT_TRUE(file.good());
  }

  auto store = RocksDbStore::Open(path_, kColumnFamilies);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Status verified = (*store)->VerifyChecksums();
  EXPECT_EQ(verified.code(), StatusCode::kCorruption) << verified.ToString();

  // Reading every key must run into the damaged block and say so, never
  // return the damaged bytes as data.
  int corrupt_reads = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto value = (*store)->Get("state", EncodeKeyU64(static_cast<uint64_t>(i)));
    if (value.ok()) {
      EXPECT_EQ(*value, Noise(kValueBytes, static_cast<uint64_t>(i))) << "key " << i;
    } else {
      EXPECT_EQ(value.status().code(), StatusCode::kCorruption) << value.status().ToString();
      ++corrupt_reads;
    }
  }
  EXPECT_GT(corrupt_reads, 0);
  Status scanned =
      (*store)->Scan("state", "", [](std::string_view, std::string_view) { return true; });
  EXPECT_EQ(scanned.code(), StatusCode::kCorruption) << scanned.ToString();
}

TEST_F(RocksDbStoreTest, IntactStorePassesChecksumVerification) {
  {
    auto store = OpenOrDie();
    Put(*store, "state", "k", Noise(10000, 1));
  }
  auto store = OpenOrDie();
  Status s = store->VerifyChecksums();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace cairn::store
