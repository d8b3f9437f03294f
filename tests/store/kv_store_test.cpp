// The KvStore contract (store/kv_store.h), run against both implementations:
// MemoryStore, the fake the layers above test with, must behave like
// RocksDbStore, the store a node runs on.

#include "store/kv_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/memory_store.h"
#include "store/rocksdb_store.h"
#include "store/scratch_dir.h"

namespace cairn::store {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

const std::vector<std::string> kColumnFamilies = {"blocks", "state"};

struct MemoryStoreFactory {
  static std::unique_ptr<KvStore> Open(const std::string& /*dir*/) {
    return std::make_unique<MemoryStore>(kColumnFamilies);
  }
};

struct RocksDbStoreFactory {
  static std::unique_ptr<KvStore> Open(const std::string& dir) {
    auto store = RocksDbStore::Open(dir + "/db", kColumnFamilies);
    if (!store.ok()) std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    CAIRN_ASSERT(store.ok());
    return std::move(store).value();
  }
};

template <typename Factory>
class KvStoreTest : public ::testing::Test {
 protected:
  KvStoreTest() : store_(Factory::Open(dir_.path())) {}

  void Put(std::string_view cf, std::string_view key, std::string_view value) {
    WriteBatch batch;
    batch.Put(cf, key, value);
    ASSERT_TRUE(store_->Write(batch, SyncPolicy::kNoSync).ok());
  }

  // The value, or "<code name>" if Get failed.
  std::string GetOrCode(std::string_view cf, std::string_view key) const {
    auto value = store_->Get(cf, key);
    if (!value.ok()) return std::string("<") + StatusCodeName(value.status().code()) + ">";
    return *value;
  }

  KeyValues ScanAll(std::string_view cf, std::string_view prefix) const {
    KeyValues out;
    Status s = store_->Scan(cf, prefix, [&](std::string_view key, std::string_view value) {
      out.emplace_back(std::string(key), std::string(value));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  ScratchDir dir_;  // Declared first: destroyed after the store.
  std::unique_ptr<KvStore> store_;
};

using Implementations = ::testing::Types<MemoryStoreFactory, RocksDbStoreFactory>;

class ImplementationNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryStoreFactory> ? "MemoryStore" : "RocksDbStore";
  }
};

TYPED_TEST_SUITE(KvStoreTest, Implementations, ImplementationNames);

TYPED_TEST(KvStoreTest, GetsWhatWasPut) {
  this->Put("blocks", "k", "v");
  EXPECT_EQ(this->GetOrCode("blocks", "k"), "v");
}

TYPED_TEST(KvStoreTest, MissingKeyIsNotFound) {
  auto value = this->store_->Get("blocks", "absent");
  EXPECT_EQ(value.status().code(), StatusCode::kNotFound);
}

TYPED_TEST(KvStoreTest, PutOverwrites) {
  this->Put("blocks", "k", "first");
  this->Put("blocks", "k", "second");
  EXPECT_EQ(this->GetOrCode("blocks", "k"), "second");
}

TYPED_TEST(KvStoreTest, DeleteRemovesTheKey) {
  this->Put("blocks", "k", "v");
  WriteBatch batch;
  batch.Delete("blocks", "k");
  batch.Delete("blocks", "never-existed");  // Deleting an absent key is fine.
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());
  EXPECT_EQ(this->GetOrCode("blocks", "k"), "<not found>");
}

TYPED_TEST(KvStoreTest, StoresBinaryKeysAndValues) {
  const std::string key("\x00\xff\x00k", 4);
  const std::string value("\x00\x01\xff\x00", 4);
  this->Put("state", key, value);
  this->Put("state", "empty-value", "");
  EXPECT_EQ(this->GetOrCode("state", key), value);
  EXPECT_EQ(this->GetOrCode("state", std::string("\x00\xff\x00", 3)), "<not found>");
  EXPECT_EQ(this->GetOrCode("state", "empty-value"), "");
}

TYPED_TEST(KvStoreTest, ColumnFamiliesAreSeparate) {
  this->Put("blocks", "k", "in blocks");
  this->Put("state", "k", "in state");
  EXPECT_EQ(this->GetOrCode("blocks", "k"), "in blocks");
  EXPECT_EQ(this->GetOrCode("state", "k"), "in state");
  this->Put("blocks", "only-blocks", "x");
  EXPECT_EQ(this->GetOrCode("state", "only-blocks"), "<not found>");
  EXPECT_EQ(this->store_->column_families(), kColumnFamilies);
}

TYPED_TEST(KvStoreTest, UnknownColumnFamilyIsAnError) {
  auto value = this->store_->Get("nope", "k");
  EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(value.status().message().find("nope"), std::string::npos) << value.status().message();

  WriteBatch batch;
  batch.Put("nope", "k", "v");
  EXPECT_EQ(this->store_->Write(batch, SyncPolicy::kSync).code(), StatusCode::kInvalidArgument);

  Status s =
      this->store_->Scan("nope", "", [](std::string_view, std::string_view) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(KvStoreTest, BatchIsAppliedAcrossColumnFamilies) {
  this->Put("state", "old", "x");
  WriteBatch batch;
  batch.Put("blocks", "b1", "block one");
  batch.Put("state", "balance/alice", "10");
  batch.Delete("state", "old");
  EXPECT_EQ(batch.size(), 3u);
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());
  EXPECT_EQ(this->GetOrCode("blocks", "b1"), "block one");
  EXPECT_EQ(this->GetOrCode("state", "balance/alice"), "10");
  EXPECT_EQ(this->GetOrCode("state", "old"), "<not found>");
}

TYPED_TEST(KvStoreTest, BatchWithAnUnknownColumnFamilyWritesNothing) {
  this->Put("state", "kept", "original");
  WriteBatch batch;
  batch.Put("blocks", "b1", "block one");
  batch.Delete("state", "kept");
  batch.Put("typo", "k", "v");  // Last, after valid operations.
  batch.Put("state", "after", "v");
  EXPECT_EQ(this->store_->Write(batch, SyncPolicy::kSync).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->GetOrCode("blocks", "b1"), "<not found>");
  EXPECT_EQ(this->GetOrCode("state", "kept"), "original");
  EXPECT_EQ(this->GetOrCode("state", "after"), "<not found>");
}

TYPED_TEST(KvStoreTest, LaterOperationsInABatchWin) {
  WriteBatch batch;
  batch.Put("state", "a", "1");
  batch.Delete("state", "a");
  batch.Delete("state", "b");
  batch.Put("state", "b", "2");
  batch.Put("state", "c", "3");
  batch.Put("state", "c", "4");
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());
  EXPECT_EQ(this->GetOrCode("state", "a"), "<not found>");
  EXPECT_EQ(this->GetOrCode("state", "b"), "2");
  EXPECT_EQ(this->GetOrCode("state", "c"), "4");
}

TYPED_TEST(KvStoreTest, EmptyBatchIsFine) {
  EXPECT_TRUE(this->store_->Write(WriteBatch(), SyncPolicy::kSync).ok());
}

TYPED_TEST(KvStoreTest, ScanVisitsPrefixInUnsignedByteOrder) {
  // Inserted out of order; 0x80..0xff must sort after 0x7f (unsigned), and
  // 0x00 is an ordinary byte, not a terminator.
  const std::vector<std::string> keys = {
      std::string("a\xff\xff", 3),
      "b",
      std::string("a\x00", 2),
      "a",
      std::string("a\x80", 2),
      "a\x7f",
      std::string("a\x00\x01", 3),
      std::string("\xff", 1),
      std::string("\x00", 1),
      "a\x01",
      std::string("a\xff", 2),
      "`",  // 'a' - 1.
  };
  WriteBatch batch;
  for (const auto& key : keys) batch.Put("state", key, "value of " + key);
  batch.Put("blocks", "a-in-other-family", "x");
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());

  auto key_list = [](const KeyValues& kvs) {
    std::vector<std::string> out;
    for (const auto& [key, value] : kvs) {
      EXPECT_EQ(value, "value of " + key);
      out.push_back(key);
    }
    return out;
  };
  EXPECT_EQ(key_list(this->ScanAll("state", "a")),
            (std::vector<std::string>{"a", std::string("a\x00", 2), std::string("a\x00\x01", 3),
                                      "a\x01", "a\x7f", std::string("a\x80", 2),
                                      std::string("a\xff", 2), std::string("a\xff\xff", 3)}));
  EXPECT_EQ(key_list(this->ScanAll("state", std::string("a\x00", 2))),
            (std::vector<std::string>{std::string("a\x00", 2), std::string("a\x00\x01", 3)}));
  EXPECT_EQ(key_list(this->ScanAll("state", std::string("a\xff", 2))),
            (std::vector<std::string>{std::string("a\xff", 2), std::string("a\xff\xff", 3)}));
  EXPECT_EQ(key_list(this->ScanAll("state", std::string("\xff", 1))),
            (std::vector<std::string>{std::string("\xff", 1)}));
  EXPECT_TRUE(this->ScanAll("state", "c").empty());
  EXPECT_TRUE(this->ScanAll("state", "ab").empty());

  // The empty prefix visits the whole family, in order.
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // std::string compares bytes as unsigned.
  EXPECT_EQ(key_list(this->ScanAll("state", "")), sorted);
}

TYPED_TEST(KvStoreTest, BigEndianKeysScanInNumericOrder) {
  const std::vector<uint64_t> numbers = {256, 0, UINT64_MAX, 1, 1ULL << 32, 255, 1ULL << 63, 65535};
  WriteBatch batch;
  for (uint64_t n : numbers) batch.Put("blocks", "h/" + EncodeKeyU64(n), std::to_string(n));
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());
  std::vector<uint64_t> scanned;
  for (const auto& [key, value] : this->ScanAll("blocks", "h/")) {
    ASSERT_EQ(key.size(), 10u);
    uint64_t n = DecodeKeyU64(std::string_view(key).substr(2));
    EXPECT_EQ(value, std::to_string(n));
    scanned.push_back(n);
  }
  std::vector<uint64_t> expected = numbers;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(scanned, expected);
}

TYPED_TEST(KvStoreTest, ScanStopsWhenTheVisitorSaysSo) {
  WriteBatch batch;
  for (int i = 0; i < 10; ++i) batch.Put("state", "k" + std::to_string(i), "v");
  ASSERT_TRUE(this->store_->Write(batch, SyncPolicy::kSync).ok());
  std::vector<std::string> visited;
  Status s = this->store_->Scan("state", "k", [&](std::string_view key, std::string_view) {
    visited.emplace_back(key);
    return visited.size() < 3;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(visited, (std::vector<std::string>{"k0", "k1", "k2"}));
}

TYPED_TEST(KvStoreTest, ScanSeesABatchAllOrNothing) {
  // One writer commits batches that set every key to the same round number;
  // a concurrent scan must never see two rounds at once.
  constexpr int kRounds = 200;
  constexpr int kKeys = 8;
  auto write_round = [&](int round) {
    WriteBatch batch;
    for (int k = 0; k < kKeys; ++k)
      batch.Put("state", "k" + std::to_string(k), std::to_string(round));
    return this->store_->Write(batch, SyncPolicy::kNoSync);
  };
  ASSERT_TRUE(write_round(0).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int round = 1; round <= kRounds; ++round) {
      if (!write_round(round).ok()) break;
    }
    done = true;
  });
  int scans = 0;
  std::string partial;  // The first inconsistent scan, if any.
  while ((!done || scans == 0) && partial.empty()) {
    KeyValues seen = this->ScanAll("state", "k");
    bool consistent = seen.size() == static_cast<size_t>(kKeys);
    for (const auto& kv : seen) consistent = consistent && kv.second == seen[0].second;
    if (!consistent) {
      for (const auto& [key, value] : seen) partial += key + "=" + value + " ";
    }
    ++scans;
  }
  writer.join();  // Before any assertion can return from the test.
  EXPECT_EQ(partial, "") << "scan " << scans << " saw a partial batch";
  EXPECT_EQ(this->GetOrCode("state", "k0"), std::to_string(kRounds));
}

TEST(KeyU64, EncodesBigEndian) {
  EXPECT_EQ(EncodeKeyU64(0x0102030405060708ULL),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeKeyU64(0), std::string(8, '\0'));
  for (uint64_t n :
       {uint64_t{0}, uint64_t{1}, uint64_t{0xff}, uint64_t{0x8000000000000000}, UINT64_MAX}) {
    EXPECT_EQ(DecodeKeyU64(EncodeKeyU64(n)), n);
  }
}

}  // namespace
}  // namespace cairn::store
