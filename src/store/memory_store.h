// MemoryStore: an in-memory KvStore for unit tests of the layers above (a
// fake: nothing is durable). Also used by `ledger audit` as a scratch state.
#pragma once

#include <map>
#include <mutex>

#include "store/kv_store.h"

namespace cairn::store {

class MemoryStore final : public KvStore {
 public:
  explicit MemoryStore(std::vector<std::string> column_families);

  Result<std::string> Get(std::string_view column_family, std::string_view key) const override;
  Status Write(const WriteBatch& batch, SyncPolicy sync) override;
  Status Scan(std::string_view column_family, std::string_view prefix,
              const ScanVisitor& visit) const override;
  const std::vector<std::string>& column_families() const override { return names_; }

 private:
  std::vector<std::string> names_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> data_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::store
