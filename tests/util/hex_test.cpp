// Hex forms of bytes and hashes (include/cairn/bytes.h): what users paste into
// configs and command lines.

#include <gtest/gtest.h>

#include <string>

#include "cairn/bytes.h"

namespace cairn {
namespace {

TEST(Hex, EncodesLowercaseTwoDigitsPerByte) {
  Bytes bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(ToHex(bytes), "00017f80abff");
  EXPECT_EQ(ToHex(ByteView()), "");
}

TEST(Hex, RoundTripsEveryByteValue) {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  auto parsed = FromHex(ToHex(all));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, all);
}

TEST(Hex, AcceptsUppercaseAndEmptyInput) {
  auto parsed = FromHex("ABcdEF");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (Bytes{0xab, 0xcd, 0xef}));
  auto empty = FromHex("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Hex, RejectsOddLength) {
  auto parsed = FromHex("abc");
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("odd number of digits (3)"), std::string::npos)
      << parsed.status().message();
}

TEST(Hex, RejectsNonHexCharactersAndNamesTheirPosition) {
  struct Case {
    const char* text;
    const char* position;
  };
  const Case cases[] = {
      {"0g", "position 1"},   {"g0", "position 0"},   {"00 1", "position 2"},
      {"0x12", "position 1"}, {"12-4", "position 2"}, {"ab\n0", "position 2"},
  };
  for (const Case& c : cases) {
    auto parsed = FromHex(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(parsed.status().message().find(c.position), std::string::npos)
        << c.text << ": " << parsed.status().message();
  }
  // A NUL inside the view is a character like any other.
  EXPECT_FALSE(FromHex(std::string_view("0\0", 2)).ok());
}

TEST(Hash256, HexRoundTrip) {
  const std::string hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  auto h = Hash256::FromHex(hex);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->bytes[0], 0x00);
  EXPECT_EQ(h->bytes[31], 0xff);
  EXPECT_EQ(h->ToHex(), hex);
}

TEST(Hash256, FromHexRequiresExactly64Digits) {
  const std::string hex(64, 'a');
  EXPECT_EQ(Hash256::FromHex(hex.substr(1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Hash256::FromHex(hex.substr(2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Hash256::FromHex(hex + "aa").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Hash256::FromHex("").status().code(), StatusCode::kInvalidArgument);
  std::string bad = hex;
  bad[63] = 'z';
  EXPECT_EQ(Hash256::FromHex(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(Hash256, IsZeroAndOrdering) {
  Hash256 zero;
  EXPECT_TRUE(zero.IsZero());
  Hash256 last_byte = zero;
  last_byte.bytes[31] = 1;
  Hash256 first_byte = zero;
  first_byte.bytes[0] = 1;
  EXPECT_FALSE(last_byte.IsZero());
  EXPECT_FALSE(first_byte.IsZero());
  // Byte-wise (big-endian) order, as used for sorted keys.
  EXPECT_LT(zero, last_byte);
  EXPECT_LT(last_byte, first_byte);
  EXPECT_NE(last_byte, first_byte);
}

}  // namespace
}  // namespace cairn
