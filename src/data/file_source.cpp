#include "data/file_source.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "data/dataset.h"
#include "util/file.h"

namespace cairn::data::internal {
namespace {

// zlib counts in uInt (32 bits): feed it at most this much per call.
constexpr size_t kInflateChunkBytesMax = size_t{1} << 30;
// Scratch buffer for CountRemaining and the growth step of ReadAll.
constexpr size_t kScratchBytes = size_t{1} << 16;

// Deflate cannot compress better than 1032:1 (a 258-byte match in about two
// bits); zlib may also hold up to a window of output it has not handed out.
constexpr uint64_t kDeflateRatioMax = 1032;
constexpr uint64_t kInflatePendingBytesMax = 32768;

constexpr uint8_t kGzipMagic0 = 0x1f;
constexpr uint8_t kGzipMagic1 = 0x8b;
// zlib's windowBits: 15 (32 KiB window, the maximum) + 16 selects the gzip
// wrapper (header, CRC-32 and length trailer) rather than zlib or raw deflate.
constexpr int kGzipWindowBits = 15 + 16;

bool StartsWithGzipMagic(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == kGzipMagic0 && data[1] == kGzipMagic1;
}

}  // namespace

void FileSource::InflaterDeleter::operator()(z_stream_s* stream) const {
  inflateEnd(stream);
  delete stream;
}

FileSource::FileSource(FileSource&&) noexcept = default;
FileSource& FileSource::operator=(FileSource&&) noexcept = default;
FileSource::~FileSource() = default;

Result<FileSource> FileSource::Open(const std::string& path) {
  FileSource source;
  source.path_ = path;
  CAIRN_ASSIGN_OR_RETURN(source.file_, util::ReadFile(path, kDatasetFileBytesMax));
  if (StartsWithGzipMagic(source.file_.data(), source.file_.size())) {
    std::unique_ptr<z_stream_s, InflaterDeleter> stream(new z_stream_s{});
    if (inflateInit2(stream.get(), kGzipWindowBits) != Z_OK) {
      // inflateInit2 failed, so inflateEnd must not run on it.
      delete stream.release();
      return Internal(path + ": cannot initialise zlib");
    }
    source.inflater_ = std::move(stream);
  }
  return source;
}

Result<size_t> FileSource::Read(uint8_t* out, size_t size) {
  size_t produced = 0;
  if (inflater_ == nullptr) {
    produced = std::min(size, file_.size() - file_offset_);
    if (produced > 0) std::memcpy(out, file_.data() + file_offset_, produced);
    file_offset_ += produced;
  } else {
    CAIRN_ASSIGN_OR_RETURN(produced, Inflate(out, size));
  }
  position_ += produced;
  if (position_ > kDatasetFileBytesMax) {
    return ResourceExhausted(path_ + ": decompresses to more than " + std::to_string(kDatasetFileBytesMax) +
                             " bytes, the limit for a dataset file");
  }
  return produced;
}

Result<size_t> FileSource::Inflate(uint8_t* out, size_t size) {
  z_stream_s* stream = inflater_.get();
  size_t produced = 0;
  while (produced < size) {
    if (member_ended_) {
      // A gzip file may hold several members, decoded back to back (RFC 1952,
      // section 2.2); anything else after a member is not gzip data.
      size_t left = file_.size() - file_offset_;
      if (left == 0) break;
      if (!StartsWithGzipMagic(file_.data() + file_offset_, left)) {
        return Corruption(path_ + ": " + std::to_string(left) + " bytes after the end of the gzip data are not gzip");
      }
      if (inflateReset(stream) != Z_OK) return Internal(path_ + ": cannot reset zlib");
      member_ended_ = false;
    }
    size_t in_size = std::min(file_.size() - file_offset_, kInflateChunkBytesMax);
    size_t out_size = std::min(size - produced, kInflateChunkBytesMax);
    stream->next_in = file_.data() + file_offset_;
    stream->avail_in = static_cast<uInt>(in_size);
    stream->next_out = out + produced;
    stream->avail_out = static_cast<uInt>(out_size);
    int rc = inflate(stream, Z_NO_FLUSH);
    file_offset_ += in_size - stream->avail_in;
    produced += out_size - stream->avail_out;
    if (rc == Z_STREAM_END) {
      member_ended_ = true;
    } else if (rc == Z_BUF_ERROR) {
      // No progress was possible: with room for output, that means the input
      // ran out before the end of the gzip member.
      CAIRN_ASSERT(stream->avail_out > 0);
      return Corruption(path_ + ": the gzip data is truncated");
    } else if (rc != Z_OK) {
      std::string why = stream->msg != nullptr ? stream->msg : "zlib error " + std::to_string(rc);
      return Corruption(path_ + ": the gzip data is corrupt (" + why + ")");
    }
  }
  return produced;
}

uint64_t FileSource::RemainingBytesBound() const {
  const uint64_t stored = file_.size() - file_offset_;
  if (inflater_ == nullptr) return stored;
  return stored * kDeflateRatioMax + kInflatePendingBytesMax;
}

Result<uint64_t> FileSource::CountRemaining() {
  uint64_t remaining = 0;
  Bytes scratch(kScratchBytes);
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(size_t n, Read(scratch.data(), scratch.size()));
    if (n == 0) return remaining;
    remaining += n;
  }
}

Result<Bytes> FileSource::ReadAll() {
  if (inflater_ == nullptr) {
    Bytes rest = std::move(file_);
    rest.erase(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(file_offset_));
    position_ += rest.size();
    file_ = Bytes();
    file_offset_ = 0;
    return rest;
  }
  // The gzip trailer's ISIZE (the last 4 bytes: decompressed size mod 2^32 of
  // the last member) is only a hint, but right for ordinary files. It is
  // not trusted: a 100-byte file may claim 4 GiB, so the first allocation is
  // also bounded by what deflate can expand the stored bytes to.
  size_t hint = 0;
  if (file_.size() >= 4) {
    const uint8_t* t = file_.data() + file_.size() - 4;
    hint = static_cast<size_t>(t[0]) | static_cast<size_t>(t[1]) << 8 | static_cast<size_t>(t[2]) << 16 |
           static_cast<size_t>(t[3]) << 24;
  }
  hint = static_cast<size_t>(std::min<uint64_t>(hint, RemainingBytesBound()));
  // One byte more than expected, so that the end is seen without a resize.
  const size_t bytes_max = static_cast<size_t>(kDatasetFileBytesMax) + 1;
  Bytes out(std::min(std::max(hint, kScratchBytes) + 1, bytes_max));
  size_t filled = 0;
  while (true) {
    if (filled == out.size()) {
      // Read() fails once more than kDatasetFileBytesMax bytes came out, so
      // the buffer never needs to grow past bytes_max.
      CAIRN_ASSERT(out.size() < bytes_max);
      out.resize(std::min(out.size() * 2, bytes_max));
    }
    CAIRN_ASSIGN_OR_RETURN(size_t n, Read(out.data() + filled, out.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  out.resize(filled);
  return out;
}

}  // namespace cairn::data::internal
