#include "util/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace cairn::util {
namespace {

constexpr std::string_view kTemporaryInfix = ".tmp.";

std::string DirName(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Removes what a failed write left behind; the write's own error is what the
// caller reports, so a failure to clean up is ignored.
void RemoveQuietly(Env* env, const std::string& path) { env->RemoveFile(path).ok(); }

}  // namespace

Result<Bytes> ReadFile(const std::string& path, size_t bytes_max) { return Env::Default()->ReadFile(path, bytes_max); }

std::string TemporaryPathFor(const std::string& path) {
  // Process-wide on purpose: uniqueness must hold across every writer in the process.
  static std::atomic<uint64_t> next_temporary{0};
  uint64_t n = next_temporary.fetch_add(1, std::memory_order_relaxed);
  return path + std::string(kTemporaryInfix) + std::to_string(::getpid()) + "." + std::to_string(n);
}

bool IsTemporaryName(std::string_view name) { return name.find(kTemporaryInfix) != std::string_view::npos; }

Status WriteFileAtomic(Env* env, const std::string& path, ByteView contents, unsigned mode) {
  std::string tmp = TemporaryPathFor(path);
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env->NewWritableFile(tmp, mode));
  Status s = file->Append(contents);
  if (s.ok()) s = file->Sync();
  Status closed = file->Close();
  if (s.ok()) s = closed;
  if (s.ok()) s = env->RenameFile(tmp, path);
  if (!s.ok()) {
    RemoveQuietly(env, tmp);
    return s;
  }
  return env->SyncDir(DirName(path));
}

Status WriteFileAtomic(const std::string& path, ByteView contents, unsigned mode) {
  return WriteFileAtomic(Env::Default(), path, contents, mode);
}

Status WriteFilesAtomic(Env* env, const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode) {
  struct Pending {
    std::string tmp;
    std::string path;
    std::unique_ptr<WritableFile> file;
  };
  std::vector<Pending> pending;
  auto fail = [&](Status s) {
    for (auto& p : pending) {
      p.file.reset();
      RemoveQuietly(env, p.tmp);  // NotFound for those already renamed.
    }
    return s;
  };
  for (const auto& [path, contents] : files) {
    std::string tmp = TemporaryPathFor(path);
    auto file = env->NewWritableFile(tmp, mode);
    if (!file.ok()) return fail(file.status());
    pending.push_back({tmp, path, std::move(file).value()});
    if (Status s = pending.back().file->Append(contents); !s.ok()) return fail(s);
  }
  for (auto& p : pending) {
    if (Status s = p.file->Sync(); !s.ok()) return fail(s);
  }
  for (auto& p : pending) {
    Status s = p.file->Close();
    p.file.reset();
    if (!s.ok()) return fail(s);
  }
  std::vector<std::string> dirs;
  for (auto& p : pending) {
    if (Status s = env->RenameFile(p.tmp, p.path); !s.ok()) return fail(s);
    std::string dir = DirName(p.path);
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  for (const auto& dir : dirs) CAIRN_RETURN_IF_ERROR(env->SyncDir(dir));
  return Status::Ok();
}

Status WriteFilesAtomic(const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode) {
  return WriteFilesAtomic(Env::Default(), files, mode);
}

Status MakeDirsDurable(Env* env, const std::string& path) {
  if (path.empty()) return InvalidArgument("cannot create a directory with an empty name");
  std::string target = std::filesystem::path(path).lexically_normal().string();
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  // The levels that do not exist yet, deepest first.
  std::vector<std::string> missing;
  for (std::string level = target; !env->FileExists(level);) {
    missing.push_back(level);
    std::string parent = DirName(level);
    if (parent == level) break;
    level = parent;
  }
  if (missing.empty()) missing.push_back(target);  // Checks that it is a directory.
  for (auto level = missing.rbegin(); level != missing.rend(); ++level) {
    // AlreadyExists: another creator raced us; syncing its parent below still covers it.
    Status s = env->CreateDir(*level);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  }
  // Top-down, each parent once; missing.front() is the target itself.
  std::vector<std::string> synced;
  for (auto level = missing.rbegin(); level != missing.rend(); ++level) {
    std::string parent = DirName(*level);
    if (std::find(synced.begin(), synced.end(), parent) != synced.end()) continue;
    CAIRN_RETURN_IF_ERROR(env->SyncDir(parent));
    synced.push_back(parent);
  }
  return Status::Ok();
}

Status MakeDirsDurable(const std::string& path) { return MakeDirsDurable(Env::Default(), path); }

Status MakeDirs(const std::string& path) { return MakeDirsDurable(Env::Default(), path); }

bool FileExists(const std::string& path) { return Env::Default()->FileExists(path); }

Result<FileLock> FileLock::Acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("cannot open lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return Unavailable(path + " is locked by another running process");
    return IoError("cannot lock " + path + ": " + std::strerror(error));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // Closing releases the flock.
}

}  // namespace cairn::util
