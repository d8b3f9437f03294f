#include "node/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/hash.h"
#include "util/file.h"

namespace cairn::node {
namespace {

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

// Streams a file through BLAKE2b.
Result<Hash256> HashFile(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path);
  crypto::Hasher hasher;
  Bytes buffer(1 << 20);
  *size = 0;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("reading " + path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    hasher.Update(ByteView(buffer.data(), static_cast<size_t>(n)));
    *size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return hasher.Finish();
}

std::string Parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

}  // namespace

Result<BlobStore> BlobStore::Open(const std::string& dir) {
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(dir + "/partial"));
  return BlobStore(dir);
}

std::string BlobStore::PathOf(const Hash256& hash) const {
  std::string hex = hash.ToHex();
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

std::string BlobStore::PartialPath(const Hash256& hash) const { return dir_ + "/partial/" + hash.ToHex(); }

std::optional<uint64_t> BlobStore::Stat(const Hash256& hash) const {
  struct stat st;
  if (::stat(PathOf(hash).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

Result<Bytes> BlobStore::Read(const Hash256& hash, uint64_t offset, size_t bytes_max) const {
  std::string path = PathOf(hash);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no blob " + hash.ToHex().substr(0, 16) + " here");
    return Errno("opening " + path);
  }
  Bytes out(bytes_max);
  size_t got = 0;
  while (got < bytes_max) {
    ssize_t n = ::pread(fd, out.data() + got, bytes_max - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("reading " + path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

Result<Bytes> BlobStore::ReadAll(const Hash256& hash, size_t bytes_max) const {
  auto size = Stat(hash);
  if (!size) return NotFound("no blob " + hash.ToHex().substr(0, 16) + " here");
  if (*size > bytes_max) {
    return InvalidArgument("blob " + hash.ToHex().substr(0, 16) + " is " + std::to_string(*size) +
                           " bytes, more than the " + std::to_string(bytes_max) + " expected");
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, Read(hash, 0, static_cast<size_t>(*size)));
  if (crypto::Blake2b256(bytes) != hash) return Corruption("blob " + PathOf(hash) + " no longer matches its hash");
  return bytes;
}

Result<Hash256> BlobStore::Put(ByteView bytes) {
  Hash256 hash = crypto::Blake2b256(bytes);
  if (Stat(hash)) return hash;
  std::string path = PathOf(hash);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(Parent(path)));
  CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(path, bytes));
  return hash;
}

Result<Hash256> BlobStore::PutFile(const std::string& path, uint64_t bytes_max) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(path);
  if (static_cast<uint64_t>(st.st_size) > bytes_max) {
    return InvalidArgument(path + " is " + std::to_string(st.st_size) + " bytes, more than the blob limit of " +
                           std::to_string(bytes_max));
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, util::ReadFile(path, static_cast<size_t>(bytes_max)));
  return Put(bytes);
}

uint64_t BlobStore::PartialSize(const Hash256& hash) const {
  struct stat st;
  if (::stat(PartialPath(hash).c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

Status BlobStore::Append(const Hash256& hash, uint64_t offset, ByteView data) {
  uint64_t have = PartialSize(hash);
  if (offset != have) {
    return FailedPrecondition("blob " + hash.ToHex().substr(0, 16) + ": chunk at offset " + std::to_string(offset) +
                              " but " + std::to_string(have) + " bytes are here");
  }
  if (offset + data.size > kBlobBytesMax) return InvalidArgument("blob larger than the limit of " + std::to_string(kBlobBytesMax));
  std::string path = PartialPath(hash);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("opening " + path);
  size_t done = 0;
  while (done < data.size) {
    ssize_t n = ::write(fd, data.data + done, data.size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("writing " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Errno("closing " + path);
  return Status::Ok();
}

Status BlobStore::Complete(const Hash256& hash, uint64_t size) {
  std::string partial = PartialPath(hash);
  uint64_t actual_size = 0;
  CAIRN_ASSIGN_OR_RETURN(Hash256 actual, HashFile(partial, &actual_size));
  if (actual_size != size || actual != hash) {
    DiscardPartial(hash);
    return Corruption("blob " + hash.ToHex().substr(0, 16) + ": the " + std::to_string(actual_size) +
                      " bytes received hash to " + actual.ToHex().substr(0, 16) + " (expected " + std::to_string(size) +
                      " bytes); discarded");
  }
  int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + partial);
  int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) return Errno("fsync " + partial);
  std::string path = PathOf(hash);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(Parent(path)));
  if (::rename(partial.c_str(), path.c_str()) != 0) return Errno("renaming " + partial);
  int dir = ::open(Parent(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

void BlobStore::DiscardPartial(const Hash256& hash) { ::unlink(PartialPath(hash).c_str()); }

}  // namespace cairn::node
