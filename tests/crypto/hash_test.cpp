// BLAKE2b against published vectors, and cairn's derived hashes (Blake2b256,
// TaggedHash, Hasher) against values computed independently.

#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "cairn/bytes.h"

namespace cairn::crypto {
namespace {

// Bytes 0, 1, ..., n-1 (mod 256): the inputs and keys of the BLAKE2 KATs.
Bytes Counting(size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i);
  return out;
}

TEST(Blake2b, MatchesRfc7693AppendixA) {
  // RFC 7693, Appendix A: BLAKE2b-512("abc").
  EXPECT_EQ(ToHex(Blake2b(ByteView(std::string_view("abc")), 64)),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(Blake2b, MatchesOfficialKeyedKat) {
  // Entries of blake2b-kat.txt from the BLAKE2 reference repository
  // (testvectors/): key = 00 01 .. 3f, input = 00 01 .. (n-1), 64-byte output.
  struct Vector {
    size_t input_bytes;
    const char* hash_hex;
  };
  const Vector kVectors[] = {
      {0,
       "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
       "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"},
      {1,
       "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
       "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"},
      {31,
       "eba51acffb4cea31db4b8d87e9bf7dd48fe97b0253ae67aa580f9ac4a9d941f2"
       "bea518ee286818cc9f633f2a3b9fb68e594b48cdd6d515bf1d52ba6c85a203a7"},
      {33,
       "5595e05c13a7ec4dc8f41fb70cb50a71bce17c024ff6de7af618d0cc4e9c32d9"
       "570d6d3ea45b86525491030c0d8f2b1836d5778c1ce735c17707df364d054347"},
      {127,  // One byte short of a full 128-byte block after the key block.
       "76d2d819c92bce55fa8e092ab1bf9b9eab237a25267986cacf2b8ee14d214d73"
       "0dc9a5aa2d7b596e86a1fd8fa0804c77402d2fcd45083688b218b1cdfa0dcbcb"},
      {255,  // The last entry: several blocks after the key block.
       "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e9248"
       "4be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461"},
  };
  const Bytes key = Counting(64);
  for (const Vector& v : kVectors) {
    EXPECT_EQ(ToHex(Blake2b(Counting(v.input_bytes), 64, key)), v.hash_hex)
        << "input of " << v.input_bytes << " bytes";
  }
}

TEST(Blake2b, DigestLengthIsPartOfTheHash) {
  // BLAKE2b's output length is a parameter of the hash, not a truncation.
  Bytes long_digest = Blake2b(ByteView(std::string_view("abc")), 64);
  Bytes short_digest = Blake2b(ByteView(std::string_view("abc")), 32);
  ASSERT_EQ(short_digest.size(), 32u);
  EXPECT_NE(short_digest, Bytes(long_digest.begin(), long_digest.begin() + 32));
}

// The digest_size=32 values below were computed when this test was written
// with Debian's /usr/bin/python3: hashlib.blake2b(data, digest_size=32).
TEST(Blake2b256, MatchesReferenceDigests) {
  EXPECT_EQ(Blake2b256(ByteView()).ToHex(),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(Blake2b256(ByteView(std::string_view("abc"))).ToHex(),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_EQ(
      Blake2b256(ByteView(std::string_view("The quick brown fox jumps over the lazy dog"))).ToHex(),
      "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9");
  EXPECT_EQ(Blake2b256(Counting(256)).ToHex(),
            "39a7eb9fedc19aabc83425c6755dd90e6f9d0c804964a1f4aaeea3b9fb599835");
}

TEST(Blake2b256, EqualsGeneralFunctionWith32Bytes) {
  for (size_t n : {0u, 1u, 127u, 128u, 129u, 1000u}) {
    Bytes data = Counting(n);
    EXPECT_EQ(ToHex(ByteView(Blake2b256(data).bytes)), ToHex(Blake2b(data, 32))) << n << " bytes";
  }
}

TEST(Hasher, IncrementalEqualsOneShot) {
  Bytes data = Counting(1000);
  // Split points on and around BLAKE2b's 128-byte block boundary.
  for (size_t split : {0u, 1u, 127u, 128u, 129u, 999u, 1000u}) {
    Hasher h;
    h.Update(ByteView(data.data(), split));
    h.Update(ByteView(data.data() + split, data.size() - split));
    EXPECT_EQ(h.Finish(), Blake2b256(data)) << "split at " << split;
  }
}

TEST(Hasher, KeyedModeMatchesReference) {
  // Computed with /usr/bin/python3: hashlib.blake2b(data, key=..., digest_size=32).
  Hasher h32(Counting(32));
  h32.Update(ByteView(std::string_view("abc")));
  EXPECT_EQ(h32.Finish().ToHex(),
            "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f");
  Hasher h16(Counting(16));
  EXPECT_EQ(h16.Finish().ToHex(),
            "037c7d740ea795902b5aebe210fafffff1f627f74010f8dc79c0d5b8a9fb5847");
}

TEST(Hasher, KeyChangesTheDigest) {
  Hasher keyed(Counting(32));
  keyed.Update(ByteView(std::string_view("abc")));
  EXPECT_NE(keyed.Finish(), Blake2b256(ByteView(std::string_view("abc"))));
}

TEST(TaggedHash, HashesLengthPrefixedTagThenData) {
  // BLAKE2b-256(u8(len(tag)) || tag || data); computed with /usr/bin/python3.
  EXPECT_EQ(TaggedHash("cairn/test", ByteView(std::string_view("payload"))).ToHex(),
            "b869b65ad58ef3c52c126589d88ba1adcb6e513ba1c6a9adfca3adc6bf7eb471");
}

TEST(TaggedHash, SeparatesDomains) {
  ByteView data(std::string_view("same bytes"));
  EXPECT_NE(TaggedHash("cairn/tx/v1", data), TaggedHash("cairn/block/v1", data));
  EXPECT_NE(TaggedHash("cairn/tx/v1", data), Blake2b256(data));
  // Moving bytes between the tag and the data must change the hash.
  EXPECT_NE(TaggedHash("ab", ByteView(std::string_view("c"))),
            TaggedHash("a", ByteView(std::string_view("bc"))));
}

}  // namespace
}  // namespace cairn::crypto
