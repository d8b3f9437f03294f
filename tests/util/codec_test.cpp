// The canonical encoding (docs/encoding.md): exact bytes, round trips, and a
// Reader that refuses every non-canonical or malformed input.

#include "util/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cairn/bytes.h"

namespace cairn::util {
namespace {

Hash256 SomeHash() {
  Hash256 h;
  for (size_t i = 0; i < h.bytes.size(); ++i) h.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  return h;
}

uint64_t Bits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

// One of every field kind, as a message type of the layers above would write it.
Bytes SampleMessage() {
  Writer w;
  w.U8(0xfe);
  w.U32(0xdeadbeef);
  w.U64(0x0123456789abcdefULL);
  w.I64(-42);
  w.Bool(true);
  w.Bool(false);
  w.F64(-1.5);
  w.Hash(SomeHash());
  w.LengthPrefixed(ByteView(std::string_view("\x00\xff payload", 10)));
  w.String("chain-7");
  w.U32(2);  // A list of two u64s.
  w.U64(1);
  w.U64(2);
  return w.Take();
}

TEST(Codec, EncodesIntegersLittleEndian) {
  Writer w;
  w.U8(0x01);
  w.U32(0x05040302);
  w.U64(0x0d0c0b0a09080706ULL);
  w.I64(-2);
  // u8 | u32 | u64 | i64 -2.
  EXPECT_EQ(ToHex(w.bytes()),
            "01" + std::string("02030405") + "060708090a0b0c0d" + "feffffffffffffff");
}

TEST(Codec, EncodesBoolsStringsAndRawBytes) {
  Writer w;
  w.Bool(true);
  w.Bool(false);
  w.String("ab");
  w.LengthPrefixed(ByteView());
  w.Raw(ByteView(std::string_view("xy")));
  // true | false | "ab" | "" | raw "xy".
  EXPECT_EQ(ToHex(w.bytes()), std::string("01") + "00" + "02000000" + "6162" + "00000000" + "7879");
}

TEST(Codec, EncodesDoublesAsTheirBitPattern) {
  Writer w;
  w.F64(1.0);
  EXPECT_EQ(ToHex(w.bytes()), "000000000000f03f");
}

TEST(Codec, RoundTripsEveryFieldKind) {
  Bytes message = SampleMessage();
  Reader r(message);
  EXPECT_EQ(r.U8(), 0xfe);
  EXPECT_EQ(r.U32(), 0xdeadbeefu);
  EXPECT_EQ(r.U64(), 0x0123456789abcdefULL);
  EXPECT_EQ(r.I64(), -42);
  EXPECT_TRUE(r.Bool());
  EXPECT_FALSE(r.Bool());
  EXPECT_EQ(r.F64(), -1.5);
  EXPECT_EQ(r.Hash(), SomeHash());
  EXPECT_EQ(r.LengthPrefixed(10), ByteView(std::string_view("\x00\xff payload", 10)).ToBytes());
  EXPECT_EQ(r.String(64), "chain-7");
  ASSERT_EQ(r.ListLength(8), 2u);
  EXPECT_EQ(r.U64(), 1u);
  EXPECT_EQ(r.U64(), 2u);
  EXPECT_TRUE(r.Finish().ok()) << r.status().ToString();
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Codec, RoundTripsIntegerExtremes) {
  Writer w;
  w.U32(0);
  w.U32(std::numeric_limits<uint32_t>::max());
  w.U64(std::numeric_limits<uint64_t>::max());
  w.I64(std::numeric_limits<int64_t>::min());
  w.I64(std::numeric_limits<int64_t>::max());
  Bytes bytes = w.Take();
  Reader r(bytes);
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_EQ(r.U32(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(r.U64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r.I64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.I64(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(r.Finish().ok());
}

TEST(Codec, RoundTripsDoublesBitForBit) {
  const double values[] = {0.0,
                           -0.0,
                           1e-310,  // Subnormal.
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()};
  for (double v : values) {
    Writer w;
    w.F64(v);
    Bytes bytes = w.Take();
    Reader r(bytes);
    EXPECT_EQ(Bits(r.F64()), Bits(v)) << v;
    EXPECT_TRUE(r.Finish().ok());
  }
}

TEST(Codec, RoundTripsEmptyAndBinaryStrings) {
  std::string binary("\x00\x01\xff\x00", 4);
  Writer w;
  w.String("");
  w.String(binary);
  Bytes bytes = w.Take();
  Reader r(bytes);
  EXPECT_EQ(r.String(0), "");
  EXPECT_EQ(r.String(4), binary);
  EXPECT_TRUE(r.Finish().ok());
}

TEST(Codec, RejectsEveryTruncation) {
  Bytes message = SampleMessage();
  for (size_t cut = 0; cut < message.size(); ++cut) {
    Reader r(ByteView(message.data(), cut));
    r.U8();
    r.U32();
    r.U64();
    r.I64();
    r.Bool();
    r.Bool();
    r.F64();
    r.Hash();
    r.LengthPrefixed(10);
    r.String(64);
    uint32_t items = r.ListLength(8);
    for (uint32_t i = 0; i < items; ++i) r.U64();
    Status s = r.Finish();
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << "cut at " << cut;
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  }
}

TEST(Codec, RejectsTrailingBytes) {
  Bytes message = SampleMessage();
  message.push_back(0);
  Reader r(message);
  r.U8();
  r.U32();
  r.U64();
  r.I64();
  r.Bool();
  r.Bool();
  r.F64();
  r.Hash();
  r.LengthPrefixed(10);
  r.String(64);
  uint32_t items = r.ListLength(8);
  for (uint32_t i = 0; i < items; ++i) r.U64();
  ASSERT_TRUE(r.ok());
  Status s = r.Finish();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("1 trailing bytes"), std::string::npos) << s.message();
}

TEST(Codec, RejectsUnreadMessage) {
  Writer w;
  w.U64(7);
  Bytes bytes = w.Take();
  Reader r(bytes);
  r.U32();  // Reads only half of it.
  EXPECT_EQ(r.Finish().code(), StatusCode::kCorruption);
}

TEST(Codec, RejectsLengthPrefixOverTheLimit) {
  Writer w;
  w.String("12345");
  Bytes bytes = w.Take();
  {
    Reader r(bytes);
    EXPECT_EQ(r.String(5), "12345");  // Exactly at the limit is fine.
    EXPECT_TRUE(r.Finish().ok());
  }
  {
    Reader r(bytes);
    EXPECT_EQ(r.String(4), "");  // The bytes are all there, but too many.
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("exceeds the limit of 4 at byte 0"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.Finish().code(), StatusCode::kCorruption);
  }
}

TEST(Codec, RejectsHugeLengthPrefixWithoutAllocating) {
  // A 4 GiB length with a permissive limit: refused as truncated, not
  // allocated.
  Bytes bytes = FromHex("ffffffff00").value();
  Reader r(bytes);
  EXPECT_TRUE(r.LengthPrefixed(std::numeric_limits<size_t>::max()).empty());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(Codec, RejectsListLengthOverTheLimit) {
  Writer w;
  w.U32(9);
  Bytes bytes = w.Take();
  {
    Reader r(bytes);
    EXPECT_EQ(r.ListLength(9), 9u);
    EXPECT_TRUE(r.ok());
  }
  {
    Reader r(bytes);
    EXPECT_EQ(r.ListLength(8), 0u);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
}

TEST(Codec, RejectsNonCanonicalBool) {
  for (uint8_t b : {uint8_t{2}, uint8_t{0x80}, uint8_t{0xff}}) {
    Bytes bytes = {b};
    Reader r(bytes);
    r.Bool();
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << int{b};
    EXPECT_EQ(r.Finish().code(), StatusCode::kCorruption) << int{b};
  }
}

TEST(Codec, KeepsTheFirstErrorWithItsOffset) {
  Writer w;
  w.U32(1);
  w.U8(7);  // Not a bool.
  w.U8(1);
  Bytes bytes = w.Take();
  Reader r(bytes);
  EXPECT_EQ(r.U32(), 1u);
  r.Bool();
  // Everything after the first error is a no-op that returns zeros.
  EXPECT_EQ(r.U8(), 0);
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_EQ(r.Hash(), Hash256{});
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("got 7"), std::string::npos) << r.status().message();
  // The offset is where the offending field starts.
  EXPECT_NE(r.status().message().find("at byte 4"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.Finish().message(), r.status().message());
}

TEST(Codec, EmptyInputIsAnEmptyMessage) {
  Reader r(ByteView{});
  EXPECT_TRUE(r.Finish().ok());
  Reader r2(ByteView{});
  r2.U8();
  EXPECT_EQ(r2.Finish().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace cairn::util
