// BlobStore: a node's content-addressed files (job manifests, job input
// files, verifier reports), addressed by BLAKE2b-256 of their bytes.
//
//   DIR/<first 2 hex>/<remaining 62 hex>   complete blobs, whose bytes hashed to their name
//   DIR/partial/<64 hex>                   a transfer in progress (resumable)
//
// A blob becomes visible only once the whole of it hashed to the address it
// was asked for: bytes from a peer are appended to its partial file through
// a PartialBlob, which holds the file open for the whole transfer and hashes
// the bytes as it writes them (so completing it never reads the file back);
// Complete checks the hash and the size, fsyncs the file and renames it into
// place. A mismatch deletes the partial file and is Corruption, so a lying
// peer costs a retry, never a bad blob. A transfer that stops half way
// leaves its partial file; the next OpenPartial hashes the bytes already
// there and resumes after them.
// Thread-safety: BlobStore's methods may be called from any thread; distinct
// blobs may be written concurrently; a PartialBlob and a BlobReader are used
// by one thread at a time. One partial file has one writer at a time: a
// second OpenPartial of a blob whose transfer is open (in this process or
// another) is Unavailable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::crypto {
class Hasher;
}

namespace cairn::node {

inline constexpr uint64_t kBlobBytesMax = uint64_t{4} << 30;
// The largest chunk of a blob (and of a checkpoint or model) one message
// carries (docs/protocol.md, "Limits"); well under net's 16 MiB message limit.
inline constexpr size_t kBlobChunkBytesMax = size_t{1} << 20;

// A transfer into DIR/partial/<hash>. Owns the open file (and its lock)
// until it is destroyed, completed or discarded; what was appended stays in
// the file for a later OpenPartial to resume. Movable, not copyable.
class PartialBlob {
 public:
  PartialBlob(PartialBlob&& other) noexcept;
  PartialBlob& operator=(PartialBlob&&) = delete;
  PartialBlob(const PartialBlob&) = delete;
  ~PartialBlob();

  const Hash256& hash() const { return hash_; }
  // Bytes in the partial file: where the next Append goes.
  uint64_t size() const { return size_; }
  // Writes `data` at size(). A write that fails leaves the file as the OS
  // left it and this object unusable (a later OpenPartial starts from what
  // the file holds).
  Status Append(ByteView data);
  // Checks that the bytes are `size` bytes hashing to hash(), then makes them
  // a blob durably (fsync, rename, fsync of the directory). A mismatch
  // deletes the partial file and is Corruption. The object is spent after.
  Status Complete(uint64_t size);
  // Deletes the partial file; the object is spent after.
  void Discard();

 private:
  friend class BlobStore;
  PartialBlob(std::string dir, const Hash256& hash, int fd, uint64_t size, std::unique_ptr<crypto::Hasher> hasher);
  void Close();

  std::string dir_;  // The store's directory.
  Hash256 hash_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::unique_ptr<crypto::Hasher> hasher_;  // Of the file's first size_ bytes.
  bool broken_ = false;                     // A write failed: the file and hasher_ may differ.
};

// A complete blob opened for reading (one open for a whole transfer).
class BlobReader {
 public:
  BlobReader(BlobReader&& other) noexcept : fd_(other.fd_), size_(other.size_) { other.fd_ = -1; }
  BlobReader& operator=(BlobReader&&) = delete;
  BlobReader(const BlobReader&) = delete;
  ~BlobReader();

  uint64_t size() const { return size_; }
  // Reads min(bytes, size() - offset) bytes at `offset` into `out`, and
  // returns how many; fewer means the file shrank (Corruption).
  // REQUIRES: offset <= size(), `out` holds `bytes` bytes.
  Result<size_t> ReadAt(uint64_t offset, uint8_t* out, size_t bytes) const;

 private:
  friend class BlobStore;
  BlobReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  uint64_t size_ = 0;
};

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
  // A complete blob held open for streaming; NotFound if it is not here.
  Result<BlobReader> OpenBlob(const Hash256& hash) const;

  // Stores bytes this node made or was handed whole; returns their address.
  Result<Hash256> Put(ByteView bytes);
  // Copies a local file in (the submitter's inputs); returns its address.
  Result<Hash256> PutFile(const std::string& path, uint64_t bytes_max = kBlobBytesMax);

  // Resumable transfers. PartialSize is how many bytes of `hash` are already
  // here (0 when none). OpenPartial opens (or creates) the partial file and
  // locks it; with `resume` it hashes the bytes already there and appends
  // after them, without it it starts from zero. Unavailable while another
  // PartialBlob of this hash is open. Partial files are only ever changed
  // through a PartialBlob (which holds the lock).
  uint64_t PartialSize(const Hash256& hash) const;
  Result<PartialBlob> OpenPartial(const Hash256& hash, bool resume = true);

  const std::string& dir() const { return dir_; }

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string PartialPath(const Hash256& hash) const;

  std::string dir_;
};

}  // namespace cairn::node
