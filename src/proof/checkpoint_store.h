// CheckpointStore: a content-addressed directory of checkpoint blobs.
//
// A blob is stored under its hash (TaggedHash("cairn/checkpoint/v1", bytes))
// as DIR/<first 2 hex>/<remaining 62 hex>, written atomically and durably
// (docs/checkpoints.md, "Durability"): when Put or PutAll returns OK, the
// blob, its shard directory and DIR itself survive a power loss. Reads
// re-hash and refuse a blob whose bytes no longer match its name, so a
// flipped byte or a torn file is reported, never trained on.
// All file access goes through a util::Env (POSIX unless one is given).
// Thread-safety: Put, PutAll, Get and Has may run concurrently, also on
// copies of one store (distinct temporaries; rename is atomic).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "util/env.h"

namespace cairn::proof {

inline constexpr size_t kCheckpointBytesMax = size_t{4} << 30;
// Shard directories: one per value of a hash's first byte.
inline constexpr size_t kCheckpointShardCount = 256;

Hash256 CheckpointHash(ByteView bytes);

class CheckpointStore {
 public:
  // Creates DIR (durably, util::MakeDirsDurable) if needed. `env` must
  // outlive the store.
  static Result<CheckpointStore> Open(const std::string& dir);  // With util::Env::Default().
  static Result<CheckpointStore> Open(util::Env* env, const std::string& dir);

  // Stores `bytes` whose hash the caller computed (hashing is the expensive
  // part; callers overlap it with training). Idempotent.
  Status Put(const Hash256& hash, ByteView bytes);
  // Put for several blobs with one group commit (util::WriteFilesAtomic).
  Status PutAll(const std::vector<std::pair<Hash256, ByteView>>& blobs);
  // NotFound when missing, Corruption when the file's bytes do not hash to its name.
  Result<Bytes> Get(const Hash256& hash) const;
  bool Has(const Hash256& hash) const;
  std::string PathOf(const Hash256& hash) const;
  const std::string& dir() const { return dir_; }
  util::Env* env() const { return env_; }

 private:
  // Which shard directories this store (and its copies) has made durable in
  // DIR: each is created if missing and DIR fsynced once, before the first
  // blob goes into it, even when it already existed (a crashed process may
  // have created it without the fsync). Set only after the fsync succeeded.
  struct ShardFlags {
    std::array<std::atomic<bool>, kCheckpointShardCount> durable{};
  };

  CheckpointStore(util::Env* env, std::string dir)
      : env_(env), dir_(std::move(dir)), shards_(std::make_shared<ShardFlags>()) {}
  Status MakeShardsDurable(const std::vector<Hash256>& hashes);

  util::Env* env_;  // Not owned.
  std::string dir_;
  std::shared_ptr<ShardFlags> shards_;  // Shared by copies: they are the same directory.
};

}  // namespace cairn::proof
