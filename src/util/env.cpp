#include "util/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cairn::util {
namespace {

Status Errno(const std::string& what, const std::string& path, int error) {
  return IoError(what + " " + path + ": " + std::strerror(error));
}

// Owns one file descriptor, closed by Close or the destructor.
class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(ByteView data) override {
    CAIRN_ASSERT(fd_ >= 0);
    size_t done = 0;
    while (done < data.size) {
      ssize_t n = ::write(fd_, data.data + done, data.size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("cannot write", path_, errno);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Sync() override {
    CAIRN_ASSERT(fd_ >= 0);
    if (::fsync(fd_) != 0) return Errno("cannot fsync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    CAIRN_ASSERT(fd_ >= 0);
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return Errno("cannot close", path_, errno);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_;
};

// Holds a flock; closing the descriptor releases it.
class PosixFileLock final : public FileLockHandle {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }

 private:
  int fd_;
};

// Stateless: every call is a system call, so it is thread-safe.
class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, unsigned mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return Errno("cannot create", path, errno);
    // open() honours the umask; fchmod makes the mode exact before any byte lands.
    if (::fchmod(fd, mode) != 0) {
      Status s = Errno("cannot chmod", path, errno);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd));
  }

  Result<Bytes> ReadFile(const std::string& path, size_t bytes_max) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return NotFound("no such file: " + path);
      return Errno("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = Errno("cannot stat", path, errno);
      ::close(fd);
      return s;
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgument(path + " is not a regular file");
    }
    if (static_cast<uint64_t>(st.st_size) > bytes_max) {
      ::close(fd);
      return ResourceExhausted(path + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                               std::to_string(bytes_max));
    }
    Bytes out(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Status s = n < 0 ? Errno("cannot read", path, errno) : IoError(path + " shrank while reading");
        ::close(fd);
        return s;
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return out;
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("cannot rename " + from + " to", to, errno);
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return NotFound("no such file: " + path);
      return Errno("cannot remove", path, errno);
    }
    return Status::Ok();
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return Status::Ok();
    int error = errno;
    if (error == EEXIST) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return AlreadyExists(path + " already exists");
      return IoError("cannot create directory " + path + ": a file is in the way");
    }
    return Errno("cannot create directory", path, error);
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open directory", path, errno);
    int rc = ::fsync(fd);
    int error = errno;
    ::close(fd);
    if (rc != 0) return Errno("cannot fsync directory", path, error);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) return NotFound("no such directory: " + path);
      return Errno("cannot open directory", path, errno);
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool FileExists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<std::unique_ptr<FileLockHandle>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot open lock file", path, errno);
    // flock locks belong to the open file description: a second open in this
    // process conflicts as another process would.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) return Unavailable(path + " is locked by another running process");
      return Errno("cannot lock", path, error);
    }
    return std::unique_ptr<FileLockHandle>(std::make_unique<PosixFileLock>(fd));
  }
};

}  // namespace

Env* Env::Default() {
  // Intentionally leaked: usable from any thread until the process exits,
  // including from static destructors.
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace cairn::util
