// FaultInjectionEnv: an in-memory file system for tests that remembers, per
// file and per directory entry, what has been made durable, and can forget
// everything else, as a power loss would (after leveldb's
// db/fault_injection_test.cc, with memenv's in-memory files).
//
// The model is POSIX's promise and nothing more:
//  - a file's data is durable as of its last WritableFile::Sync; after a power
//    loss it reverts to exactly those bytes (for an append-only file: it is
//    truncated to the last synced size; a file never synced is empty);
//  - a directory's entries (names created, renamed in or out, removed, new
//    subdirectories) are durable as of its last SyncDir; after a power loss
//    each durable directory reverts to those entries, so an unsynced create
//    disappears, an unsynced rename is undone (the old file is back under
//    the name) and an unsynced remove is undone. A directory whose own entry
//    in its parent was never synced vanishes with everything in it.
// It can also "lose power" after a chosen number of mutating operations
// (every later operation fails until SimulatePowerLoss) and fail chosen
// operations with a chosen error (a full disk, a bad sector).
//
// Paths must be absolute; "/" always exists. Renaming directories is not
// modelled (refused). Thread-safety: every method is thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "util/env.h"

namespace cairn::util {

// The operations FaultInjectionEnv counts and can fail. Reads and listings
// never change what is durable, so they do not count toward CrashAfter.
enum class FileOp {
  kCreateFile,  // NewWritableFile
  kAppend,
  kSyncFile,
  kCloseFile,
  kRename,
  kRemove,
  kCreateDir,
  kSyncDir,
  kRead,  // ReadFile and ListDir
};
const char* FileOpName(FileOp op);
bool IsMutating(FileOp op);

class FaultInjectionEnv final : public Env {
 public:
  FaultInjectionEnv();
  ~FaultInjectionEnv() override;
  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, unsigned mode) override;
  Result<Bytes> ReadFile(const std::string& path, size_t bytes_max) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  // Creates the file like NewWritableFile (a kCreateFile operation, durable
  // only once its directory is synced) unless it exists, and holds the lock
  // in memory. A power loss releases every lock (the process died with it).
  Result<std::unique_ptr<FileLockHandle>> LockFile(const std::string& path) override;

  // Forgets every write not yet durable (see the model above) and powers the
  // machine back on: injected crashes are cleared, files opened before are
  // dead (their operations fail). Injected errors stay.
  void SimulatePowerLoss();

  // After `operations` more mutating operations succeed, the machine loses
  // power: every later operation (reads too) fails with IoError until
  // SimulatePowerLoss. CrashAfter(0) crashes at the next mutating operation.
  void CrashAfter(uint64_t operations);
  // Whether the machine is down (a CrashAfter budget was used up).
  bool crashed() const;
  // Mutating operations attempted since construction (including failed ones).
  uint64_t mutating_operations() const;

  // Every later `op` on a path for which `matches(path)` holds fails with
  // `error` and has no effect, after the first `skip` such operations
  // succeed. For a rename both paths are offered to `matches`.
  void InjectError(FileOp op, std::function<bool(const std::string& path)> matches, Status error, uint64_t skip = 0);
  void ClearInjectedErrors();

  // Called (without the env's lock held, on the calling thread) after every
  // successful operation; the callback may use the env.
  void SetObserver(std::function<void(FileOp op, const std::string& path)> observer);

  // Every file path that exists now (not what would survive), sorted.
  std::vector<std::string> AllFiles() const;

  struct Node;  // A file or directory (an inode); defined in the .cpp.

 private:
  class File;
  class Lock;

  struct InjectedError {
    FileOp op;
    std::function<bool(const std::string&)> matches;
    Status error;
    uint64_t skip;
  };

  // The error `op` on `path` (and `other_path`, for renames) must fail with,
  // if any; counts the operation. REQUIRES: mu_ held.
  Status Admit(FileOp op, const std::string& path, const std::string& other_path = "");
  void Notify(FileOp op, const std::string& path);

  mutable std::mutex mu_;
  std::shared_ptr<Node> root_;                                // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                                   // GUARDED_BY(mu_); bumped by each power loss.
  uint64_t mutating_operations_ = 0;                          // GUARDED_BY(mu_)
  bool crash_armed_ = false;                                  // GUARDED_BY(mu_)
  uint64_t crash_at_operation_ = 0;                           // GUARDED_BY(mu_)
  bool crashed_ = false;                                      // GUARDED_BY(mu_)
  std::vector<InjectedError> errors_;                         // GUARDED_BY(mu_)
  std::set<std::string> locked_;                              // GUARDED_BY(mu_); normalized paths.
  std::function<void(FileOp, const std::string&)> observer_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::util
