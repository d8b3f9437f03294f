// BlobStore: a node's content-addressed files (job manifests, job input
// files, verifier reports), addressed by BLAKE2b-256 of their bytes.
//
//   DIR/<first 2 hex>/<remaining 62 hex>   complete blobs, whose bytes hashed to their name
//   DIR/partial/<64 hex>                   a transfer in progress (resumable)
//
// A blob becomes visible only once the whole of it hashed to the address it
// was asked for: bytes from a peer are appended to its partial file (at the
// offset the transfer resumes from), then Complete re-hashes the file, fsyncs
// it and renames it into place. A mismatch deletes the partial file and is
// Corruption, so a lying peer costs a retry, never a bad blob.
// Thread-safety: distinct blobs may be written concurrently; one blob's
// partial file must have one writer at a time (the node's fetcher ensures it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::node {

inline constexpr uint64_t kBlobBytesMax = uint64_t{4} << 30;
inline constexpr size_t kBlobChunkBytesMax = size_t{1} << 20;

class BlobStore {
 public:
  // Creates DIR durably if needed.
  static Result<BlobStore> Open(const std::string& dir);

  // The size of a complete blob, or nullopt.
  std::optional<uint64_t> Stat(const Hash256& hash) const;
  // Path of a complete blob (which the node hands to loaders and workers).
  std::string PathOf(const Hash256& hash) const;
  // Up to `bytes_max` bytes of a complete blob from `offset`.
  Result<Bytes> Read(const Hash256& hash, uint64_t offset, size_t bytes_max) const;
  // A whole complete blob, refusing one larger than bytes_max.
  Result<Bytes> ReadAll(const Hash256& hash, size_t bytes_max) const;

  // Stores bytes this node made or was handed whole; returns their address.
  Result<Hash256> Put(ByteView bytes);
  // Copies a local file in (the submitter's inputs); returns its address.
  Result<Hash256> PutFile(const std::string& path, uint64_t bytes_max = kBlobBytesMax);

  // Resumable transfers. PartialSize is how many bytes of `hash` are already
  // here (0 when none); Append writes at exactly that offset.
  uint64_t PartialSize(const Hash256& hash) const;
  Status Append(const Hash256& hash, uint64_t offset, ByteView data);
  // Checks the partial file against `hash` and `size` and makes it a blob.
  Status Complete(const Hash256& hash, uint64_t size);
  void DiscardPartial(const Hash256& hash);

  const std::string& dir() const { return dir_; }

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string PartialPath(const Hash256& hash) const;

  std::string dir_;
};

}  // namespace cairn::node
