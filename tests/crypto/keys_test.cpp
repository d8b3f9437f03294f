// Ed25519 keys against RFC 8032's published vectors, strict verification, and
// the key files a node operator keeps on disk.

#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "cairn/bytes.h"
#include "support/temp_dir.h"
#include "util/file.h"

namespace cairn::crypto {
namespace {

using cairn::testing::TempDir;

Bytes Hex(std::string_view hex) {
  auto bytes = FromHex(hex);
  CAIRN_ASSERT(bytes.ok());
  return std::move(bytes).value();
}

template <size_t N>
std::array<uint8_t, N> HexArray(std::string_view hex) {
  Bytes bytes = Hex(hex);
  CAIRN_ASSERT(bytes.size() == N);
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), bytes.data(), N);
  return out;
}

// RFC 8032 section 7.1 (Ed25519). "SECRET KEY" is the 32-byte seed.
struct Rfc8032Vector {
  const char* name;
  const char* seed_hex;
  const char* public_key_hex;
  const char* message_hex;
  const char* signature_hex;
};

const Rfc8032Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     // The 1023-byte message.
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
     "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
     "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
     "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
     "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
     "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
     "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
     "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
     "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
     "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
     "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
     "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
     "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
     "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
     "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
     "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
     "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
     "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
     "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
     "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
     "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
     "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
     "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
     "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
     "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
     "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
     "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
};

TEST(Ed25519, DerivesRfc8032PublicKeysFromSeeds) {
  for (const auto& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    KeyPair key = KeyPair::FromSeed(HexArray<32>(v.seed_hex));
    EXPECT_EQ(key.public_key().ToHex(), v.public_key_hex);
    EXPECT_EQ(ToHex(ByteView(key.Seed())), v.seed_hex);
  }
}

TEST(Ed25519, SignsRfc8032MessagesByteForByte) {
  for (const auto& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    KeyPair key = KeyPair::FromSeed(HexArray<32>(v.seed_hex));
    EXPECT_EQ(key.Sign(Hex(v.message_hex)).ToHex(), v.signature_hex);
  }
}

TEST(Ed25519, VerifiesRfc8032Signatures) {
  for (const auto& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    PublicKey key{HexArray<32>(v.public_key_hex)};
    Signature signature{HexArray<64>(v.signature_hex)};
    EXPECT_TRUE(Verify(key, Hex(v.message_hex), signature));
  }
}

TEST(Ed25519, RejectsTamperedMessage) {
  for (const auto& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    PublicKey key{HexArray<32>(v.public_key_hex)};
    Signature signature{HexArray<64>(v.signature_hex)};
    Bytes message = Hex(v.message_hex);
    Bytes longer = message;
    longer.push_back(0);
    EXPECT_FALSE(Verify(key, longer, signature));
    if (!message.empty()) {
      Bytes shorter(message.begin(), message.end() - 1);
      EXPECT_FALSE(Verify(key, shorter, signature));
      for (size_t i : {size_t{0}, message.size() / 2, message.size() - 1}) {
        Bytes flipped = message;
        flipped[i] ^= 0x01;
        EXPECT_FALSE(Verify(key, flipped, signature)) << "bit flipped in message byte " << i;
      }
    }
  }
}

TEST(Ed25519, RejectsTamperedSignature) {
  for (const auto& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    PublicKey key{HexArray<32>(v.public_key_hex)};
    Bytes message = Hex(v.message_hex);
    // Every byte of R (0..31) and S (32..63) is covered by the check.
    for (size_t i = 0; i < 64; ++i) {
      Signature signature{HexArray<64>(v.signature_hex)};
      signature.bytes[i] ^= 0x01;
      EXPECT_FALSE(Verify(key, message, signature)) << "bit flipped in signature byte " << i;
    }
  }
}

TEST(Ed25519, RejectsSignatureUnderAnotherKey) {
  for (size_t i = 0; i < std::size(kRfc8032Vectors); ++i) {
    const auto& v = kRfc8032Vectors[i];
    const auto& other = kRfc8032Vectors[(i + 1) % std::size(kRfc8032Vectors)];
    SCOPED_TRACE(v.name);
    PublicKey other_key{HexArray<32>(other.public_key_hex)};
    Signature signature{HexArray<64>(v.signature_hex)};
    EXPECT_FALSE(Verify(other_key, Hex(v.message_hex), signature));
    PublicKey flipped_key{HexArray<32>(v.public_key_hex)};
    flipped_key.bytes[0] ^= 0x01;
    EXPECT_FALSE(Verify(flipped_key, Hex(v.message_hex), signature));
  }
}

TEST(Ed25519, RejectsMalleatedSignatureWithNonCanonicalS) {
  // S' = S + L (the group order) satisfies the verification equation too;
  // a strict verifier must refuse it, or anyone could re-encode a signed
  // transaction into a second valid one.
  const auto& v = kRfc8032Vectors[0];
  PublicKey key{HexArray<32>(v.public_key_hex)};
  Signature signature{HexArray<64>(v.signature_hex)};
  const Bytes order = Hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {  // Little-endian S += L.
    unsigned sum = signature.bytes[32 + i] + order[i] + carry;
    signature.bytes[32 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  EXPECT_FALSE(Verify(key, Bytes(), signature));
}

TEST(Ed25519, RejectsSmallOrderKeyForgery) {
  // With the identity point as public key and as R, and S = 0, the
  // verification equation [S]B = R + [k]A holds for every message. A strict
  // verifier must refuse the small-order key.
  PublicKey identity;
  identity.bytes[0] = 1;
  Signature forged;
  forged.bytes[0] = 1;
  EXPECT_FALSE(Verify(identity, ByteView(std::string_view("pay me")), forged));
}

TEST(Ed25519, GeneratedKeysSignAndVerify) {
  KeyPair a = KeyPair::Generate();
  KeyPair b = KeyPair::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  ByteView message(std::string_view("checkpoint 7"));
  Signature signature = a.Sign(message);
  EXPECT_TRUE(Verify(a.public_key(), message, signature));
  EXPECT_FALSE(Verify(b.public_key(), message, signature));
  // Deterministic signatures: the same message signs to the same bytes.
  EXPECT_EQ(a.Sign(message), signature);
  // A key rebuilt from its seed is the same key.
  KeyPair again = KeyPair::FromSeed(a.Seed());
  EXPECT_EQ(again.public_key(), a.public_key());
  EXPECT_EQ(again.Sign(message), signature);
}

TEST(Ed25519, MovedKeyStillSigns) {
  KeyPair original = KeyPair::FromSeed(HexArray<32>(kRfc8032Vectors[1].seed_hex));
  KeyPair moved(std::move(original));
  EXPECT_EQ(moved.Sign(Hex("72")).ToHex(), kRfc8032Vectors[1].signature_hex);
  KeyPair assigned = KeyPair::Generate();
  assigned = std::move(moved);
  EXPECT_EQ(assigned.Sign(Hex("72")).ToHex(), kRfc8032Vectors[1].signature_hex);
}

TEST(PublicKey, HexRoundTrip) {
  const std::string hex = kRfc8032Vectors[0].public_key_hex;
  auto key = PublicKey::FromHex(hex);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->ToHex(), hex);
}

TEST(PublicKey, FromHexRejectsMalformedInput) {
  const std::string hex = kRfc8032Vectors[0].public_key_hex;
  EXPECT_EQ(PublicKey::FromHex(hex.substr(0, 62)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromHex(hex + "00").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromHex("zz" + hex.substr(2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromHex("").status().code(), StatusCode::kInvalidArgument);
}

class KeyFileTest : public ::testing::Test {
 protected:
  // The RFC 8032 TEST 1 key, so file contents are predictable.
  KeyPair Key() const { return KeyPair::FromSeed(HexArray<32>(kRfc8032Vectors[0].seed_hex)); }

  std::string ReadText(const std::string& path) const {
    auto bytes = util::ReadFile(path, 1 << 16);
    CAIRN_ASSERT(bytes.ok());
    return std::string(bytes->begin(), bytes->end());
  }
  void WriteText(const std::string& path, const std::string& text) const {
    ASSERT_TRUE(util::WriteFileAtomic(path, ByteView(text), 0600).ok());
  }
  // Replaces the first occurrence of `from` in the file by `to`.
  void Edit(const std::string& path, const std::string& from, const std::string& to) const {
    std::string text = ReadText(path);
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    WriteText(path, text);
  }

  TempDir dir_;
  std::string path_ = dir_.File("node.key");
};

TEST_F(KeyFileTest, IsWrittenWithOwnerOnlyMode) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyFileTest, RoundTripsTheKey) {
  KeyPair key = KeyPair::Generate();
  ASSERT_TRUE(WriteKeyFile(path_, key, /*overwrite=*/false).ok());
  auto loaded = ReadKeyFile(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(loaded->Seed(), key.Seed());
  ByteView message(std::string_view("block 12"));
  EXPECT_EQ(loaded->Sign(message), key.Sign(message));
}

TEST_F(KeyFileTest, RecordsPublicKeyAndSeedInHex) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  std::string text = ReadText(path_);
  EXPECT_NE(text.find(kRfc8032Vectors[0].public_key_hex), std::string::npos) << text;
  EXPECT_NE(text.find(kRfc8032Vectors[0].seed_hex), std::string::npos) << text;
}

TEST_F(KeyFileTest, RefusesFilesOthersCanRead) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(::testing::Message() << "mode " << std::oct << mode);
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    auto loaded = ReadKeyFile(path_);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kPermissionDenied);
    EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos)
        << loaded.status().message();
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);  // Owner read-only is fine.
  EXPECT_TRUE(ReadKeyFile(path_).ok());
}

TEST_F(KeyFileTest, RefusesToOverwriteWithoutFlag) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  KeyPair other = KeyPair::Generate();
  Status s = WriteKeyFile(path_, other, /*overwrite=*/false);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  auto still = ReadKeyFile(path_);
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(still->public_key(), Key().public_key());

  ASSERT_TRUE(WriteKeyFile(path_, other, /*overwrite=*/true).ok());
  auto replaced = ReadKeyFile(path_);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->public_key(), other.public_key());
}

TEST_F(KeyFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadKeyFile(path_).status().code(), StatusCode::kNotFound);
}

TEST_F(KeyFileTest, SeedNotMatchingPublicKeyIsCorruption) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  // Change one digit of the seed, as a damaged disk or a bad edit would.
  std::string seed = kRfc8032Vectors[0].seed_hex;
  std::string damaged = seed;
  damaged[10] = damaged[10] == '0' ? '1' : '0';
  Edit(path_, seed, damaged);
  auto loaded = ReadKeyFile(path_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_NE(loaded.status().message().find("public_key does not match the seed"), std::string::npos)
      << loaded.status().message();
  EXPECT_NE(loaded.status().message().find(path_), std::string::npos) << loaded.status().message();
}

TEST_F(KeyFileTest, MalformedSeedIsCorruption) {
  const std::string seed = kRfc8032Vectors[0].seed_hex;
  const std::string bad_seeds[] = {
      "zz" + seed.substr(2),  // Not hex.
      seed.substr(0, 62),     // Too short.
      seed + "00",            // Too long.
  };
  for (const std::string& bad : bad_seeds) {
    SCOPED_TRACE(bad);
    ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/true).ok());
    Edit(path_, "seed = \"" + seed + "\"", "seed = \"" + bad + "\"");
    auto loaded = ReadKeyFile(path_);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
    EXPECT_NE(loaded.status().message().find("seed"), std::string::npos)
        << loaded.status().message();
  }
}

TEST_F(KeyFileTest, WrongKeyTypeIsCorruption) {
  ASSERT_TRUE(WriteKeyFile(path_, Key(), /*overwrite=*/false).ok());
  Edit(path_, "\"ed25519\"", "\"secp256k1\"");
  auto loaded = ReadKeyFile(path_);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace cairn::crypto
