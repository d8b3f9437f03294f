// Private to data/: the decoded bytes of a dataset file, gunzipped on the fly
// when the file starts with the gzip magic (1f 8b), read as-is otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"

struct z_stream_s;

namespace cairn::data::internal {

// A sequential reader over one file's decoded bytes. The compressed file is
// read into memory whole (at most kDatasetFileBytesMax); decompressed bytes
// are produced as they are asked for, so a caller that knows how many bytes
// to expect (IDX) never holds a second copy, and a gzip bomb is stopped at
// the limit. Owns its buffers; not thread-safe.
class FileSource {
 public:
  static Result<FileSource> Open(const std::string& path);

  FileSource(FileSource&&) noexcept;
  FileSource& operator=(FileSource&&) noexcept;
  ~FileSource();

  // Reads up to `size` bytes into `out`; fewer only at the end of the data.
  // Errors (corrupt or truncated gzip data) name the file.
  Result<size_t> Read(uint8_t* out, size_t size);

  // Reads and discards the rest of the data, returning how many bytes there
  // were; used to report trailing bytes. Also checks the gzip trailer (CRC and
  // length) when the data is compressed.
  Result<uint64_t> CountRemaining();

  // Everything not yet read, at most kDatasetFileBytesMax bytes.
  Result<Bytes> ReadAll();

  // An upper bound on the decoded bytes not yet read, to size allocations by
  // what the file can really hold rather than by what a header claims.
  uint64_t RemainingBytesBound() const;

  const std::string& path() const { return path_; }
  bool compressed() const { return inflater_ != nullptr; }
  // Decoded bytes handed out so far.
  uint64_t position() const { return position_; }

 private:
  struct InflaterDeleter {
    void operator()(z_stream_s* stream) const;
  };

  FileSource() = default;
  Result<size_t> Inflate(uint8_t* out, size_t size);

  std::string path_;
  Bytes file_;              // The file as stored (compressed or not).
  size_t file_offset_ = 0;  // Next unread byte of file_.
  uint64_t position_ = 0;
  // Null for a raw file. Heap-allocated because zlib keeps a pointer back to
  // the z_stream, so the z_stream itself must never move.
  std::unique_ptr<z_stream_s, InflaterDeleter> inflater_;
  bool member_ended_ = false;  // The current gzip member reached its end.
};

}  // namespace cairn::data::internal
