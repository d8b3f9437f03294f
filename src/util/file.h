// Small, careful file helpers: bounded reads and crash-safe writes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::util {

// Reads a whole file, refusing files larger than bytes_max.
Result<Bytes> ReadFile(const std::string& path, size_t bytes_max);

// Writes `contents` to `path` atomically: a temporary file in the same
// directory is written, fsynced, renamed over `path`, and the directory is
// fsynced. A crash leaves either the old file or the new one, never a mix.
// `mode` is applied to the temporary file before any byte is written, so a
// secret never exists on disk with looser permissions.
Status WriteFileAtomic(const std::string& path, ByteView contents, unsigned mode = 0644);

// Group commit of WriteFileAtomic: writes every file to a temporary, then
// fsyncs them all, renames them all and fsyncs each directory once. Costs
// about one disk flush for the batch instead of two per file; after a crash
// each file is old or new, never torn.
Status WriteFilesAtomic(const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode = 0644);

// Creates a directory and its parents (like `mkdir -p`).
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
