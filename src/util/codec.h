// Canonical binary encoding used for everything that is hashed or signed.
//
// Integers are fixed-width little-endian; byte strings and lists carry a u32
// length prefix. There is exactly one encoding per value, and the Reader is
// strict: every length is bounded by the caller, and a message must be read to
// its last byte (Finish) or it is rejected. The format is documented in
// docs/encoding.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::util {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  // Bit pattern of an IEEE-754 double (canonical, no text round trip).
  void F64(double v);
  void Raw(ByteView bytes);  // No length prefix: for fixed-size fields.
  void Hash(const Hash256& h) { Raw(ByteView(h.bytes)); }
  void LengthPrefixed(ByteView bytes);
  void String(std::string_view s) { LengthPrefixed(ByteView(s)); }

  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// Reads a canonical encoding. After the first error every call is a no-op
// and status() reports what was wrong and at which offset.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}

  uint8_t U8();
  uint32_t U32();
  uint64_t U64();
  int64_t I64() { return static_cast<int64_t>(U64()); }
  bool Bool();  // Only 0 or 1 is canonical.
  double F64();
  void Raw(uint8_t* out, size_t n);
  // Advances past n bytes (read in place by the caller through offset()).
  void Skip(size_t n);
  Hash256 Hash();
  // REQUIRES: bytes_max is the largest length this field may legally have.
  Bytes LengthPrefixed(size_t bytes_max);
  std::string String(size_t bytes_max);
  // Reads a list length and checks it against items_max.
  uint32_t ListLength(uint32_t items_max);

  // Fails if bytes remain: trailing garbage is not canonical.
  Status Finish();
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  size_t remaining() const { return in_.size - offset_; }
  size_t offset() const { return offset_; }
  void Fail(std::string what);

 private:
  bool Need(size_t n, const char* what);

  ByteView in_;
  size_t offset_ = 0;
  Status status_;
};

}  // namespace cairn::util
