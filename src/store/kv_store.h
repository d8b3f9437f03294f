// KvStore: the ordered key-value store every durable subsystem writes to.
//
// Keys live in named column families (fixed at open). Writes go through a
// WriteBatch that is applied atomically: after a crash either all of a batch
// is visible or none of it. Implementations: RocksDbStore (the real one) and
// MemoryStore (for unit tests of the layers above).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn::store {

// When a committed write batch reaches stable storage.
enum class SyncPolicy {
  kSync,   // fsync before Write returns: survives power loss. The daemon's default.
  kNoSync, // Survives a process crash (the OS has it), not a power loss.
};

class WriteBatch {
 public:
  struct Op {
    std::string column_family;
    std::string key;
    std::optional<std::string> value;  // nullopt = delete.
  };

  void Put(std::string_view column_family, std::string_view key, std::string_view value) {
    ops_.push_back({std::string(column_family), std::string(key), std::string(value)});
  }
  void Delete(std::string_view column_family, std::string_view key) {
    ops_.push_back({std::string(column_family), std::string(key), std::nullopt});
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  void Clear() { ops_.clear(); }

 private:
  std::vector<Op> ops_;
};

// Visitor for scans: return false to stop early.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

// Thread-safety: implementations are safe for concurrent readers and
// concurrent writers (the sequencer's group commit writes its durable
// mempool from several submitting threads at once; RocksDB and MemoryStore
// serialise writes internally); a Write is atomic with respect to readers
// and to other writes.
class KvStore {
 public:
  virtual ~KvStore() = default;

  // NotFound if the key is absent; Corruption if stored bytes fail checksums.
  virtual Result<std::string> Get(std::string_view column_family, std::string_view key) const = 0;
  virtual Status Write(const WriteBatch& batch, SyncPolicy sync) = 0;
  // Visits the keys that begin with `prefix`, in ascending byte order. The
  // visitor must not call back into the store.
  virtual Status Scan(std::string_view column_family, std::string_view prefix,
                      const ScanVisitor& visit) const = 0;
  virtual const std::vector<std::string>& column_families() const = 0;
};

// Big-endian u64, so byte order equals numeric order in keys.
std::string EncodeKeyU64(uint64_t v);
uint64_t DecodeKeyU64(std::string_view s);  // REQUIRES: s.size() == 8.

}  // namespace cairn::store
