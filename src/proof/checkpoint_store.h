// CheckpointStore: a content-addressed directory of checkpoint blobs.
//
// A blob is stored under its hash (TaggedHash("cairn/checkpoint/v1", bytes))
// as DIR/<first 2 hex>/<remaining 62 hex>, written atomically and fsynced.
// Reads re-hash and refuse a blob whose bytes no longer match its name, so a
// flipped byte on disk is reported, never trained on.
// Thread-safety: Put and Get may run concurrently (distinct files; rename is atomic).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::proof {

inline constexpr size_t kCheckpointBytesMax = size_t{4} << 30;

Hash256 CheckpointHash(ByteView bytes);

class CheckpointStore {
 public:
  static Result<CheckpointStore> Open(const std::string& dir);

  // Stores `bytes` whose hash the caller computed (hashing is the expensive
  // part; callers overlap it with training). Idempotent.
  Status Put(const Hash256& hash, ByteView bytes);
  // Put for several blobs with one group commit (util::WriteFilesAtomic).
  Status PutAll(const std::vector<std::pair<Hash256, ByteView>>& blobs);
  Result<Bytes> Get(const Hash256& hash) const;
  bool Has(const Hash256& hash) const;
  std::string PathOf(const Hash256& hash) const;
  const std::string& dir() const { return dir_; }

 private:
  explicit CheckpointStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace cairn::proof
