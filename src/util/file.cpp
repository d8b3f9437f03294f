#include "util/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cairn::util {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return IoError(what + " " + path + ": " + std::strerror(errno));
}

std::string DirName(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync directory", dir);
  return Status::Ok();
}

}  // namespace

Result<Bytes> ReadFile(const std::string& path, size_t bytes_max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no such file: " + path);
    return Errno("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > bytes_max) {
    ::close(fd);
    return ResourceExhausted(path + " is " + std::to_string(st.st_size) +
                             " bytes, more than the limit of " + std::to_string(bytes_max));
  }
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n < 0 ? Errno("cannot read", path) : IoError(path + " shrank while reading");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, ByteView contents, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create", tmp);
  // open() honours the umask; fchmod makes the mode exact before any byte lands.
  if (::fchmod(fd, mode) != 0) {
    Status s = Errno("cannot chmod", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  size_t done = 0;
  while (done < contents.size) {
    ssize_t n = ::write(fd, contents.data + done, contents.size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDir(DirName(path));
}

Status WriteFilesAtomic(const std::vector<std::pair<std::string, ByteView>>& files, unsigned mode) {
  struct Pending {
    std::string tmp;
    std::string path;
    int fd;
  };
  std::vector<Pending> pending;
  Status status;
  auto cleanup = [&] {
    for (auto& p : pending) {
      if (p.fd >= 0) ::close(p.fd);
      ::unlink(p.tmp.c_str());
    }
  };
  for (const auto& [path, contents] : files) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
      status = Errno("cannot create", tmp);
      break;
    }
    pending.push_back({tmp, path, fd});
    if (::fchmod(fd, mode) != 0) {
      status = Errno("cannot chmod", tmp);
      break;
    }
    size_t done = 0;
    while (done < contents.size && status.ok()) {
      ssize_t n = ::write(fd, contents.data + done, contents.size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) status = Errno("cannot write", tmp);
      else done += static_cast<size_t>(n);
    }
    if (!status.ok()) break;
  }
  for (auto& p : pending) {
    if (!status.ok()) break;
    if (::fsync(p.fd) != 0) status = Errno("cannot fsync", p.tmp);
  }
  if (!status.ok()) {
    cleanup();
    return status;
  }
  std::vector<std::string> dirs;
  for (auto& p : pending) {
    ::close(p.fd);
    p.fd = -1;
    if (::rename(p.tmp.c_str(), p.path.c_str()) != 0) {
      status = Errno("cannot rename into place", p.path);
      cleanup();
      return status;
    }
    std::string dir = DirName(p.path);
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  for (const auto& dir : dirs) CAIRN_RETURN_IF_ERROR(FsyncDir(dir));
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return IoError("cannot create directory " + path + ": " + ec.message());
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}



Result<FileLock> FileLock::Acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open lock file", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    if (errno == EWOULDBLOCK) return Unavailable(path + " is locked by another running process");
    return Errno("cannot lock", path);
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // Closing releases the flock.
}

}  // namespace cairn::util
