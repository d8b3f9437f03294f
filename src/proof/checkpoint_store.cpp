#include "proof/checkpoint_store.h"

#include <algorithm>

#include "crypto/hash.h"
#include "util/file.h"

namespace cairn::proof {

Hash256 CheckpointHash(ByteView bytes) { return crypto::TaggedHash("cairn/checkpoint/v1", bytes); }

Result<CheckpointStore> CheckpointStore::Open(const std::string& dir) { return Open(util::Env::Default(), dir); }

Result<CheckpointStore> CheckpointStore::Open(util::Env* env, const std::string& dir) {
  CAIRN_ASSERT(env != nullptr);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(env, dir));
  return CheckpointStore(env, dir);
}

std::string CheckpointStore::PathOf(const Hash256& hash) const {
  std::string hex = hash.ToHex();
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

Status CheckpointStore::MakeShardsDurable(const std::vector<Hash256>& hashes) {
  std::vector<uint8_t> fresh;
  for (const Hash256& hash : hashes) {
    uint8_t shard = hash.bytes[0];
    if (shards_->durable[shard].load(std::memory_order_acquire)) continue;
    if (std::find(fresh.begin(), fresh.end(), shard) != fresh.end()) continue;
    Status s = env_->CreateDir(dir_ + "/" + hash.ToHex().substr(0, 2));
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    fresh.push_back(shard);
  }
  if (fresh.empty()) return Status::Ok();
  // One fsync of DIR makes every new shard's entry durable before any blob in it is named.
  CAIRN_RETURN_IF_ERROR(env_->SyncDir(dir_));
  for (uint8_t shard : fresh) shards_->durable[shard].store(true, std::memory_order_release);
  return Status::Ok();
}

Status CheckpointStore::Put(const Hash256& hash, ByteView bytes) {
  if (Get(hash).ok()) return Status::Ok();  // Already there and intact; a damaged copy is replaced.
  CAIRN_RETURN_IF_ERROR(MakeShardsDurable({hash}));
  return util::WriteFileAtomic(env_, PathOf(hash), bytes, 0644);
}

Status CheckpointStore::PutAll(const std::vector<std::pair<Hash256, ByteView>>& blobs) {
  std::vector<std::pair<std::string, ByteView>> files;
  std::vector<Hash256> hashes;
  for (const auto& [hash, bytes] : blobs) {
    std::string path = PathOf(hash);
    if (env_->FileExists(path) && Get(hash).ok()) continue;  // A damaged copy is replaced.
    bool queued = false;
    for (const auto& f : files) queued = queued || f.first == path;
    if (queued) continue;
    files.emplace_back(path, bytes);
    hashes.push_back(hash);
  }
  if (files.empty()) return Status::Ok();
  CAIRN_RETURN_IF_ERROR(MakeShardsDurable(hashes));
  return util::WriteFilesAtomic(env_, files, 0644);
}

bool CheckpointStore::Has(const Hash256& hash) const { return env_->FileExists(PathOf(hash)); }

Result<Bytes> CheckpointStore::Get(const Hash256& hash) const {
  auto bytes = env_->ReadFile(PathOf(hash), kCheckpointBytesMax);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) {
      return NotFound("checkpoint " + hash.ToHex().substr(0, 16) + " is not in " + dir_);
    }
    return bytes.status();
  }
  Hash256 actual = CheckpointHash(*bytes);
  if (actual != hash) {
    return Corruption("checkpoint file " + PathOf(hash) + " is damaged: its bytes hash to " +
                      actual.ToHex().substr(0, 16) + ", not " + hash.ToHex().substr(0, 16));
  }
  return bytes;
}

}  // namespace cairn::proof
