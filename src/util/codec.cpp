#include "util/codec.h"

#include <cstring>

namespace cairn::util {

void Writer::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void Writer::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void Writer::F64(double v) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(v));
  std::memcpy(&bits, &v, sizeof(bits));
  U64(bits);
}

void Writer::Raw(ByteView bytes) { out_.insert(out_.end(), bytes.data, bytes.data + bytes.size); }

void Writer::LengthPrefixed(ByteView bytes) {
  CAIRN_ASSERT(bytes.size <= UINT32_MAX);
  U32(static_cast<uint32_t>(bytes.size));
  Raw(bytes);
}

void Reader::Fail(std::string what) {
  if (status_.ok()) {
    status_ = Corruption(what + " at byte " + std::to_string(offset_));
  }
}

bool Reader::Need(size_t n, const char* what) {
  if (!status_.ok()) return false;
  if (remaining() < n) {
    Fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
         std::to_string(remaining()) + " left");
    return false;
  }
  return true;
}

uint8_t Reader::U8() {
  if (!Need(1, "u8")) return 0;
  return in_.data[offset_++];
}

uint32_t Reader::U32() {
  if (!Need(4, "u32")) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in_.data[offset_ + i]) << (8 * i);
  offset_ += 4;
  return v;
}

uint64_t Reader::U64() {
  if (!Need(8, "u64")) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in_.data[offset_ + i]) << (8 * i);
  offset_ += 8;
  return v;
}

bool Reader::Bool() {
  size_t start = offset_;
  uint8_t v = U8();
  if (v > 1) {
    offset_ = start;  // Report the offset of the offending field, not the one after it.
    Fail("boolean byte must be 0 or 1, got " + std::to_string(v));
  }
  return v == 1;
}

double Reader::F64() {
  uint64_t bits = U64();
  double v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

void Reader::Raw(uint8_t* out, size_t n) {
  if (!Need(n, "fixed-size field")) {
    std::memset(out, 0, n);
    return;
  }
  std::memcpy(out, in_.data + offset_, n);
  offset_ += n;
}

void Reader::Skip(size_t n) {
  if (Need(n, "fixed-size field")) offset_ += n;
}

Hash256 Reader::Hash() {
  Hash256 h;
  Raw(h.bytes.data(), h.bytes.size());
  return h;
}

Bytes Reader::LengthPrefixed(size_t bytes_max) {
  size_t start = offset_;
  uint32_t n = U32();
  if (!ok()) return {};
  if (n > bytes_max) {
    offset_ = start;
    Fail("length " + std::to_string(n) + " exceeds the limit of " + std::to_string(bytes_max));
    return {};
  }
  if (!Need(n, "byte string")) return {};
  Bytes out(in_.data + offset_, in_.data + offset_ + n);
  offset_ += n;
  return out;
}

std::string Reader::String(size_t bytes_max) {
  Bytes b = LengthPrefixed(bytes_max);
  return std::string(b.begin(), b.end());
}

uint32_t Reader::ListLength(uint32_t items_max) {
  size_t start = offset_;
  uint32_t n = U32();
  if (ok() && n > items_max) {
    offset_ = start;
    Fail("list of " + std::to_string(n) + " items exceeds the limit of " + std::to_string(items_max));
    return 0;
  }
  return n;
}

Status Reader::Finish() {
  if (ok() && remaining() != 0) {
    Fail(std::to_string(remaining()) + " trailing bytes after the end of the message");
  }
  return status_;
}

}  // namespace cairn::util
