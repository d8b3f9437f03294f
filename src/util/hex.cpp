#include <cstring>

#include "cairn/bytes.h"

namespace cairn {
namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string ToHex(ByteView bytes) {
  std::string out(bytes.size * 2, '0');
  for (size_t i = 0; i < bytes.size; ++i) {
    out[2 * i] = kHexDigits[bytes.data[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes.data[i] & 0xf];
  }
  return out;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return InvalidArgument("hex string has an odd number of digits (" +
                           std::to_string(hex.size()) + ")");
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument("not a hex digit at position " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

bool Hash256::IsZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string Hash256::ToHex() const { return cairn::ToHex(ByteView(bytes)); }

Result<Hash256> Hash256::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgument("expected 64 hex digits for a 32-byte hash, got " +
                           std::to_string(hex.size()));
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, cairn::FromHex(hex));
  Hash256 h;
  std::memcpy(h.bytes.data(), raw.data(), 32);
  return h;
}

}  // namespace cairn
