// Ed25519 identities: public keys, signatures, and secret keys that never
// leave this process except into a 0600 key file.
#pragma once

#include <array>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::crypto {

struct PublicKey {
  std::array<uint8_t, 32> bytes{};

  std::string ToHex() const;
  static Result<PublicKey> FromHex(std::string_view hex);
  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const PublicKey& a, const PublicKey& b) { return a.bytes != b.bytes; }
  friend bool operator<(const PublicKey& a, const PublicKey& b) { return a.bytes < b.bytes; }
};

struct Signature {
  std::array<uint8_t, 64> bytes{};

  std::string ToHex() const;
  friend bool operator==(const Signature& a, const Signature& b) { return a.bytes == b.bytes; }
};

// An Ed25519 key pair. Move-only; the secret is wiped on destruction.
class KeyPair {
 public:
  // A fresh key from the OS's CSPRNG.
  static KeyPair Generate();
  // The key determined by a 32-byte seed (RFC 8032's "private key").
  static KeyPair FromSeed(const std::array<uint8_t, 32>& seed);

  KeyPair(KeyPair&& other) noexcept;
  KeyPair& operator=(KeyPair&& other) noexcept;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair();

  const PublicKey& public_key() const { return public_key_; }
  // Ed25519 signatures are deterministic: the same message always gives the
  // same signature, which lets anyone re-derive seeds computed from them.
  Signature Sign(ByteView message) const;
  std::array<uint8_t, 32> Seed() const;

 private:
  KeyPair() = default;
  PublicKey public_key_;
  std::array<uint8_t, 64> secret_{};  // libsodium's seed || public key.
};

// Strict RFC 8032 verification (libsodium rejects non-canonical encodings and
// small-order keys).
bool Verify(const PublicKey& key, ByteView message, const Signature& signature);

// Key files: a small text file holding the seed, written with mode 0600.
// Loading refuses a file that its group or others can read, like ssh does.
Status WriteKeyFile(const std::string& path, const KeyPair& key, bool overwrite);
Result<KeyPair> ReadKeyFile(const std::string& path);

}  // namespace cairn::crypto
