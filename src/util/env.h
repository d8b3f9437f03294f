// Env: the file layer under everything cairn must keep across a crash (the
// checkpoint store, the solver's journal, atomic file writes). Modelled on
// leveldb's Env: the real implementation is POSIX (Env::Default()); tests
// substitute FaultInjectionEnv (util/fault_injection_env.h), which forgets
// what was never made durable when it simulates a power loss.
//
// Durability follows POSIX, and nothing more is assumed: file data is durable
// after WritableFile::Sync; a directory entry (a created, renamed or removed
// name, including a new subdirectory) is durable only after SyncDir of the
// directory that holds it. Protocols built on top: util/file.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::util {

// A file open for appending. Owned by whoever opened it; one thread at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;  // Closes the file if Close was not called (errors ignored).
  virtual Status Append(ByteView data) = 0;
  // Makes every byte appended so far durable (fsync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

// An exclusive lock on a file (Env::LockFile), held until it is destroyed.
class FileLockHandle {
 public:
  virtual ~FileLockHandle() = default;  // Releases the lock.
};

// Every method may be called from any thread; implementations are thread-safe.
// Paths are plain strings; errors name the path and carry the OS's reason.
class Env {
 public:
  virtual ~Env() = default;

  // The POSIX file layer. Lives for the whole process; never deleted.
  static Env* Default();

  // Creates `path` (or truncates an existing file) with exactly `mode` (the
  // umask does not apply), ready for appending.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, unsigned mode) = 0;
  // The whole file; NotFound when missing, ResourceExhausted beyond bytes_max,
  // InvalidArgument when `path` is not a regular file.
  virtual Result<Bytes> ReadFile(const std::string& path, size_t bytes_max) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable after SyncDir
  // of both parents.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // NotFound when missing.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates one directory (mode 0755 before the umask): AlreadyExists when a
  // directory is there already, IoError when a file is, or the parent is missing.
  virtual Status CreateDir(const std::string& path) = 0;
  // Makes the directory's entries durable (fsync of the directory).
  virtual Status SyncDir(const std::string& path) = 0;
  // The names in a directory (without "." and ".."), sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Whether anything (file or directory) is at `path`.
  virtual bool FileExists(const std::string& path) = 0;
  // Creates `path` if it is missing and locks it exclusively (flock) for as
  // long as the returned handle lives, so that two writers never share a
  // directory's state: Unavailable (naming the path) while anyone else,
  // in this process or another, holds it. A lock does not survive its
  // process (or a power loss).
  virtual Result<std::unique_ptr<FileLockHandle>> LockFile(const std::string& path) = 0;
};

}  // namespace cairn::util
