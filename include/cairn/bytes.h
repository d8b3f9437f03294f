// Byte vocabulary shared by every subsystem: owned byte strings, fixed-size
// digests and keys, and their hex forms.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn {

using Bytes = std::vector<uint8_t>;

// A view over bytes owned elsewhere.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  ByteView() = default;
  ByteView(const uint8_t* d, size_t n) : data(d), size(n) {}
  ByteView(const Bytes& b) : data(b.data()), size(b.size()) {}  // NOLINT
  ByteView(std::string_view s)  // NOLINT
      : data(reinterpret_cast<const uint8_t*>(s.data())), size(s.size()) {}
  template <size_t N>
  ByteView(const std::array<uint8_t, N>& a) : data(a.data()), size(N) {}  // NOLINT

  Bytes ToBytes() const { return Bytes(data, data + size); }
  std::string_view AsStringView() const {
    return {reinterpret_cast<const char*>(data), size};
  }
};

// 32-byte digest (BLAKE2b-256 in cairn). Value type, totally ordered.
struct Hash256 {
  std::array<uint8_t, 32> bytes{};

  bool IsZero() const;
  std::string ToHex() const;
  // Parses exactly 64 hex digits.
  static Result<Hash256> FromHex(std::string_view hex);
  friend bool operator==(const Hash256& a, const Hash256& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const Hash256& a, const Hash256& b) { return a.bytes != b.bytes; }
  friend bool operator<(const Hash256& a, const Hash256& b) { return a.bytes < b.bytes; }
};

std::string ToHex(ByteView bytes);
Result<Bytes> FromHex(std::string_view hex);

}  // namespace cairn
