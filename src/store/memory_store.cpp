#include "store/memory_store.h"

namespace cairn::store {

std::string EncodeKeyU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t DecodeKeyU64(std::string_view s) {
  CAIRN_ASSERT(s.size() == 8);
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

MemoryStore::MemoryStore(std::vector<std::string> column_families) : names_(std::move(column_families)) {
  for (const auto& name : names_) data_[name];
}

Result<std::string> MemoryStore::Get(std::string_view column_family, std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto cf = data_.find(column_family);
  if (cf == data_.end()) return InvalidArgument("unknown column family " + std::string(column_family));
  auto it = cf->second.find(key);
  if (it == cf->second.end()) return NotFound("key not found");
  return it->second;
}

Status MemoryStore::Write(const WriteBatch& batch, SyncPolicy /*sync*/) {
  std::lock_guard<std::mutex> lock(mu_);
  // Validate first so the batch stays all-or-nothing.
  for (const auto& op : batch.ops()) {
    if (data_.find(op.column_family) == data_.end()) {
      return InvalidArgument("unknown column family " + op.column_family);
    }
  }
  for (const auto& op : batch.ops()) {
    auto& cf = data_.find(op.column_family)->second;
    if (op.value) {
      cf.insert_or_assign(op.key, *op.value);
    } else {
      cf.erase(op.key);
    }
  }
  return Status::Ok();
}

Status MemoryStore::Scan(std::string_view column_family, std::string_view prefix,
                         const ScanVisitor& visit) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto cf = data_.find(column_family);
  if (cf == data_.end()) return InvalidArgument("unknown column family " + std::string(column_family));
  for (auto it = cf->second.lower_bound(prefix); it != cf->second.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!visit(it->first, it->second)) break;
  }
  return Status::Ok();
}

}  // namespace cairn::store
