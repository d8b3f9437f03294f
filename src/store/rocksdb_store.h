// RocksDbStore: the durable KvStore. One RocksDB database per data directory,
// one RocksDB column family per cairn column family; a WriteBatch maps to one
// rocksdb::WriteBatch, so it is atomic across column families. RocksDB is
// opened with paranoid checks and read checksums on, so a damaged file is
// reported as Corruption instead of being read as data.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/kv_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace cairn::store {

struct RocksDbOptions {
  bool create_if_missing = true;
  bool read_only = false;  // For audits: never writes, can run beside a live node.
};

class RocksDbStore final : public KvStore {
 public:
  // Unavailable if another process (or another open in this one) holds the
  // directory. With read_only or !create_if_missing, a missing store is
  // NotFound and nothing is created on disk.
  static Result<std::unique_ptr<RocksDbStore>> Open(const std::string& path,
                                                    std::vector<std::string> column_families,
                                                    RocksDbOptions options = {});
  ~RocksDbStore() override;

  Result<std::string> Get(std::string_view column_family, std::string_view key) const override;
  Status Write(const WriteBatch& batch, SyncPolicy sync) override;
  Status Scan(std::string_view column_family, std::string_view prefix,
              const ScanVisitor& visit) const override;
  const std::vector<std::string>& column_families() const override { return names_; }

  // Reads every block of every table file and checks its checksum.
  Status VerifyChecksums() const;

 private:
  RocksDbStore() = default;
  Result<rocksdb::ColumnFamilyHandle*> Handle(std::string_view name) const;

  std::string path_;
  std::vector<std::string> names_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // Parallel to names_.
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

}  // namespace cairn::store
