// Small, careful file helpers: bounded reads and crash-safe writes, built on
// the Env file layer (util/env.h) so tests can run them over a file system
// that forgets every write not yet durable. Each helper comes in two forms:
// one taking the Env to use, one using Env::Default() (POSIX).
// The durability protocol: docs/checkpoints.md, "Durability".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "util/env.h"

namespace cairn::util {

// Reads a whole file, refusing files larger than bytes_max.
Result<Bytes> ReadFile(const std::string& path, size_t bytes_max);

// A fresh temporary name in the same directory as `path`:
// "<path>.tmp.<pid>.<n>" with n from a process-wide atomic counter, so two
// writers of the same path in one process never share a temporary, and two
// processes never do either. A temporary left by a crashed process is only
// ever overwritten, never renamed into place.
std::string TemporaryPathFor(const std::string& path);
// Whether a file name (not a path) is one TemporaryPathFor makes.
bool IsTemporaryName(std::string_view name);

// Writes `contents` to `path` atomically and durably: a temporary file in the
// same directory is written, fsynced, renamed over `path`, and the directory
// is fsynced. A crash leaves either the old file or the new one, never a mix;
// once this returns OK the new one survives a power loss. `mode` is applied to
// the temporary file before any byte is written, so a secret never exists on
// disk with looser permissions. Concurrent writers of one path are safe: the
// last rename wins and each reader sees one complete version.
// REQUIRES: the directory of `path` is itself durable (see MakeDirsDurable).
Status WriteFileAtomic(Env* env, const std::string& path, ByteView contents, unsigned mode = 0644);
Status WriteFileAtomic(const std::string& path, ByteView contents, unsigned mode = 0644);

// Group commit of WriteFileAtomic: writes every file to a temporary, then
// fsyncs them all, renames them all and fsyncs each directory once. Costs
// about one disk flush for the batch instead of two per file; after a crash
// each file is old or new, never torn.
Status WriteFilesAtomic(Env* env, const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode = 0644);
Status WriteFilesAtomic(const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode = 0644);

// Creates a directory and its parents (like `mkdir -p`) durably: the parent
// of every level it creates is fsynced, so the new directory survives a
// power loss before anything inside it is named. The parent of `path` is
// fsynced even when `path` already existed, in case a crashed process made it
// without doing so. Fails with IoError when a file is in the way.
Status MakeDirsDurable(Env* env, const std::string& path);
Status MakeDirsDurable(const std::string& path);
// The same as MakeDirsDurable(path): every directory cairn makes is durable.
Status MakeDirs(const std::string& path);

bool FileExists(const std::string& path);

// An exclusive advisory lock (flock) on a file, held until destruction, so
// two processes never write the same directory's state at once.
class FileLock {
 public:
  // Fails with Unavailable (naming the path) if another process holds it.
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cairn::util
