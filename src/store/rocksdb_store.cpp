#include "store/rocksdb_store.h"

#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace cairn::store {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  std::string message = context + ": " + s.ToString();
  if (s.IsCorruption()) return Corruption(message);
  if (s.IsNotFound()) return NotFound(message);
  if (s.IsIOError()) {
    if (s.ToString().find("lock") != std::string::npos) {
      return Unavailable(message + " (is another cairn process using this data directory?)");
    }
    return IoError(message);
  }
  if (s.IsInvalidArgument()) return InvalidArgument(message);
  // RocksDB's answer to a write on a read-only open.
  if (s.IsNotSupported()) return FailedPrecondition(message);
  return Internal(message);
}

}  // namespace

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path,
                                                         std::vector<std::string> column_families,
                                                         RocksDbOptions options) {
  // RocksDB creates the directory (for its info log) before it finds out that
  // there is no store in it; a read-only or open-existing call must not
  // leave an empty directory behind.
  std::error_code ec;
  if ((options.read_only || !options.create_if_missing) &&
      !std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    return NotFound("no store at " + path);
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  rocksdb::ColumnFamilyOptions cf_options;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const auto& name : column_families) descriptors.emplace_back(name, cf_options);

  std::unique_ptr<RocksDbStore> store(new RocksDbStore());
  store->path_ = path;
  store->names_ = std::move(column_families);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  try {
    if (options.read_only) {
      s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw);
    } else {
      s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
    }
  } catch (const std::exception& e) {
    return Internal("opening RocksDB at " + path + " threw: " + e.what());
  }
  if (!s.ok()) return FromRocks(s, "cannot open store at " + path);
  store->db_.reset(raw);
  store->default_handle_ = handles[0];
  store->handles_.assign(handles.begin() + 1, handles.end());
  return store;
}

RocksDbStore::~RocksDbStore() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->DestroyColumnFamilyHandle(default_handle_).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

Result<rocksdb::ColumnFamilyHandle*> RocksDbStore::Handle(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return InvalidArgument("unknown column family " + std::string(name));
}

Result<std::string> RocksDbStore::Get(std::string_view column_family, std::string_view key) const {
  CAIRN_ASSIGN_OR_RETURN(auto* handle, Handle(column_family));
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;
  std::string value;
  rocksdb::Status s = db_->Get(read_options, handle, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return NotFound("key not found");
  if (!s.ok()) return FromRocks(s, "store " + path_ + ": read from " + std::string(column_family));
  return value;
}

Status RocksDbStore::Write(const WriteBatch& batch, SyncPolicy sync) {
  rocksdb::WriteBatch rocks_batch;
  for (const auto& op : batch.ops()) {
    CAIRN_ASSIGN_OR_RETURN(auto* handle, Handle(op.column_family));
    rocksdb::Status s = op.value ? rocks_batch.Put(handle, op.key, *op.value)
                                 : rocks_batch.Delete(handle, op.key);
    if (!s.ok()) return FromRocks(s, "store " + path_ + ": building write batch");
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = (sync == SyncPolicy::kSync);
  return FromRocks(db_->Write(write_options, &rocks_batch), "store " + path_ + ": write");
}

Status RocksDbStore::Scan(std::string_view column_family, std::string_view prefix,
                          const ScanVisitor& visit) const {
  CAIRN_ASSIGN_OR_RETURN(auto* handle, Handle(column_family));
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, handle));
  rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(start)) break;
    rocksdb::Slice value = it->value();
    if (!visit(std::string_view(key.data(), key.size()), std::string_view(value.data(), value.size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "store " + path_ + ": scan of " + std::string(column_family));
}

Status RocksDbStore::VerifyChecksums() const {
  return FromRocks(db_->VerifyChecksum(), "store " + path_ + ": checksum verification");
}

}  // namespace cairn::store
