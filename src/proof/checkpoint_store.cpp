#include "proof/checkpoint_store.h"

#include "crypto/hash.h"
#include "util/file.h"

namespace cairn::proof {

Hash256 CheckpointHash(ByteView bytes) { return crypto::TaggedHash("cairn/checkpoint/v1", bytes); }

Result<CheckpointStore> CheckpointStore::Open(const std::string& dir) {
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(dir));
  return CheckpointStore(dir);
}

std::string CheckpointStore::PathOf(const Hash256& hash) const {
  std::string hex = hash.ToHex();
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

Status CheckpointStore::Put(const Hash256& hash, ByteView bytes) {
  std::string path = PathOf(hash);
  if (Get(hash).ok()) return Status::Ok();  // Already there and intact; a damaged copy is replaced.
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(dir_ + "/" + hash.ToHex().substr(0, 2)));
  return util::WriteFileAtomic(path, bytes, 0644);
}

Status CheckpointStore::PutAll(const std::vector<std::pair<Hash256, ByteView>>& blobs) {
  std::vector<std::pair<std::string, ByteView>> files;
  for (const auto& [hash, bytes] : blobs) {
    std::string path = PathOf(hash);
    if (util::FileExists(path) && Get(hash).ok()) continue;  // A damaged copy is replaced.
    bool queued = false;
    for (const auto& f : files) queued = queued || f.first == path;
    if (queued) continue;
    CAIRN_RETURN_IF_ERROR(util::MakeDirs(dir_ + "/" + hash.ToHex().substr(0, 2)));
    files.emplace_back(path, bytes);
  }
  return util::WriteFilesAtomic(files, 0644);
}

bool CheckpointStore::Has(const Hash256& hash) const { return util::FileExists(PathOf(hash)); }

Result<Bytes> CheckpointStore::Get(const Hash256& hash) const {
  auto bytes = util::ReadFile(PathOf(hash), kCheckpointBytesMax);
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
