#include "node/blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crypto/hash.h"
#include "util/file.h"

namespace cairn::node {
namespace {

// Reads when a resumed transfer hashes the bytes already received.
constexpr size_t kHashReadBytes = size_t{1} << 20;

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

std::string Parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

std::string BlobPath(const std::string& dir, const Hash256& hash) {
  std::string hex = hash.ToHex();
  return dir + "/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

std::string PartialPathIn(const std::string& dir, const Hash256& hash) { return dir + "/partial/" + hash.ToHex(); }

std::string ShortName(const Hash256& hash) { return hash.ToHex().substr(0, 16); }

// Reads exactly `bytes` at `offset` unless the file ends first; returns how many.
Result<size_t> PreadFull(int fd, uint64_t offset, uint8_t* out, size_t bytes, const std::string& path) {
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::pread(fd, out + got, bytes - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("reading " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

}  // namespace

// ---- PartialBlob ----

PartialBlob::PartialBlob(std::string dir, const Hash256& hash, int fd, uint64_t size,
                         std::unique_ptr<crypto::Hasher> hasher)
    : dir_(std::move(dir)), hash_(hash), fd_(fd), size_(size), hasher_(std::move(hasher)) {}

PartialBlob::PartialBlob(PartialBlob&& other) noexcept
    : dir_(std::move(other.dir_)), hash_(other.hash_), fd_(other.fd_), size_(other.size_),
      hasher_(std::move(other.hasher_)), broken_(other.broken_) {
  other.fd_ = -1;
}

PartialBlob::~PartialBlob() { Close(); }

void PartialBlob::Close() {
  if (fd_ >= 0) ::close(fd_);  // Also releases the lock.
  fd_ = -1;
}

Status PartialBlob::Append(ByteView data) {
  if (fd_ < 0 || broken_) return FailedPrecondition("blob " + ShortName(hash_) + ": the transfer is closed");
  if (size_ + data.size > kBlobBytesMax) {
    return InvalidArgument("blob larger than the limit of " + std::to_string(kBlobBytesMax));
  }
  size_t done = 0;
  while (done < data.size) {
    ssize_t n = ::pwrite(fd_, data.data + done, data.size - done, static_cast<off_t>(size_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      return Errno("writing " + PartialPathIn(dir_, hash_));
    }
    done += static_cast<size_t>(n);
  }
  // Start writing these bytes to disk now, without waiting: the fsync in
  // Complete then has little left to flush.
  ::sync_file_range(fd_, static_cast<off_t>(size_), static_cast<off_t>(data.size), SYNC_FILE_RANGE_WRITE);
  hasher_->Update(data);
  size_ += data.size;
  return Status::Ok();
}

Status PartialBlob::Complete(uint64_t size) {
  const std::string partial = PartialPathIn(dir_, hash_);
  if (fd_ < 0 || broken_) return FailedPrecondition("blob " + ShortName(hash_) + ": the transfer is closed");
  const Hash256 actual = hasher_->Finish();
  if (size_ != size || actual != hash_) {
    Discard();
    return Corruption("blob " + ShortName(hash_) + ": the " + std::to_string(size_) + " bytes received hash to " +
                      ShortName(actual) + " (expected " + std::to_string(size) + " bytes); discarded");
  }
  const int synced = ::fsync(fd_);
  const int sync_errno = errno;
  Close();
  if (synced != 0) {
    errno = sync_errno;
    return Errno("fsync " + partial);
  }
  const std::string path = BlobPath(dir_, hash_);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(Parent(path)));
  if (::rename(partial.c_str(), path.c_str()) != 0) return Errno("renaming " + partial);
  int dir = ::open(Parent(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

void PartialBlob::Discard() {
  ::unlink(PartialPathIn(dir_, hash_).c_str());
  Close();
}

// ---- BlobReader ----

BlobReader::~BlobReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> BlobReader::ReadAt(uint64_t offset, uint8_t* out, size_t bytes) const {
  CAIRN_ASSERT(offset <= size_);
  const size_t wanted = static_cast<size_t>(std::min<uint64_t>(bytes, size_ - offset));
  CAIRN_ASSIGN_OR_RETURN(size_t got, PreadFull(fd_, offset, out, wanted, "a blob"));
  if (got != wanted) return Corruption("a blob shrank while it was read");
  return got;
}

// ---- BlobStore ----

Result<BlobStore> BlobStore::Open(const std::string& dir) {
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(dir + "/partial"));
  return BlobStore(dir);
}

std::string BlobStore::PathOf(const Hash256& hash) const { return BlobPath(dir_, hash); }

std::string BlobStore::PartialPath(const Hash256& hash) const { return PartialPathIn(dir_, hash); }

std::optional<uint64_t> BlobStore::Stat(const Hash256& hash) const {
  struct stat st;
  if (::stat(PathOf(hash).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

Result<BlobReader> BlobStore::OpenBlob(const Hash256& hash) const {
  const std::string path = PathOf(hash);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no blob " + ShortName(hash) + " here");
    return Errno("opening " + path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return IoError(path + " is not a readable file");
  }
  return BlobReader(fd, static_cast<uint64_t>(st.st_size));
}

Result<Bytes> BlobStore::Read(const Hash256& hash, uint64_t offset, size_t bytes_max) const {
  CAIRN_ASSIGN_OR_RETURN(BlobReader reader, OpenBlob(hash));
  if (offset >= reader.size()) return Bytes();
  Bytes out(static_cast<size_t>(std::min<uint64_t>(bytes_max, reader.size() - offset)));
  CAIRN_ASSIGN_OR_RETURN(size_t got, reader.ReadAt(offset, out.data(), out.size()));
  out.resize(got);
  return out;
}

Result<Bytes> BlobStore::ReadAll(const Hash256& hash, size_t bytes_max) const {
  CAIRN_ASSIGN_OR_RETURN(BlobReader reader, OpenBlob(hash));
  if (reader.size() > bytes_max) {
    return InvalidArgument("blob " + ShortName(hash) + " is " + std::to_string(reader.size()) +
                           " bytes, more than the " + std::to_string(bytes_max) + " expected");
  }
  Bytes bytes(static_cast<size_t>(reader.size()));
  CAIRN_RETURN_IF_ERROR(reader.ReadAt(0, bytes.data(), bytes.size()).status());
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

Result<PartialBlob> BlobStore::OpenPartial(const Hash256& hash, bool resume) {
  const std::string path = PartialPath(hash);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("opening " + path);
  // The lock belongs to this open file: a second writer, here or in another
  // process, is refused instead of interleaving its bytes with ours.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    Status s = busy ? Unavailable("blob " + ShortName(hash) + ": another transfer of it is in progress")
                    : Errno("locking " + path);
    ::close(fd);
    return s;
  }
  auto hasher = std::make_unique<crypto::Hasher>();
  uint64_t size = 0;
  if (!resume) {
    if (::ftruncate(fd, 0) != 0) {
      Status s = Errno("truncating " + path);
      ::close(fd);
      return s;
    }
  } else {
    // The file is the truth: hash what an earlier transfer left, once.
    Bytes buffer(kHashReadBytes);
    for (;;) {
      auto got = PreadFull(fd, size, buffer.data(), buffer.size(), path);
      if (!got.ok()) {
        ::close(fd);
        return got.status();
      }
      if (*got == 0) break;
      hasher->Update(ByteView(buffer.data(), *got));
      size += *got;
    }
  }
  return PartialBlob(dir_, hash, fd, size, std::move(hasher));
}

}  // namespace cairn::node
