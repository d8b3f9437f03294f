#include "crypto/keys.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstring>
#include <sstream>

#include "crypto/sodium_init.h"
#include "util/file.h"

namespace cairn::crypto {

std::string PublicKey::ToHex() const { return cairn::ToHex(ByteView(bytes)); }

Result<PublicKey> PublicKey::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgument("a public key is 64 hex digits, got " + std::to_string(hex.size()));
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, cairn::FromHex(hex));
  PublicKey key;
  std::memcpy(key.bytes.data(), raw.data(), 32);
  return key;
}

std::string Signature::ToHex() const { return cairn::ToHex(ByteView(bytes)); }

KeyPair KeyPair::Generate() {
  EnsureSodium();
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  KeyPair key = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

KeyPair KeyPair::FromSeed(const std::array<uint8_t, 32>& seed) {
  EnsureSodium();
  KeyPair key;
  crypto_sign_seed_keypair(key.public_key_.bytes.data(), key.secret_.data(), seed.data());
  return key;
}

KeyPair::KeyPair(KeyPair&& other) noexcept : public_key_(other.public_key_), secret_(other.secret_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_ = other.secret_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

Signature KeyPair::Sign(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data, message.size, secret_.data());
  return sig;
}

std::array<uint8_t, 32> KeyPair::Seed() const {
  std::array<uint8_t, 32> seed;
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_.data());
  return seed;
}

bool Verify(const PublicKey& key, ByteView message, const Signature& signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.bytes.data(), message.data, message.size,
                                     key.bytes.data()) == 0;
}

namespace {
constexpr size_t kKeyFileBytesMax = 4096;
constexpr char kKeyFileHeader[] = "# cairn Ed25519 identity. Keep it secret: anyone with this file can sign as you.";
}  // namespace

Status WriteKeyFile(const std::string& path, const KeyPair& key, bool overwrite) {
  if (!overwrite && util::FileExists(path)) {
    return AlreadyExists(path + " already exists; refusing to overwrite a key (pass --force to replace it)");
  }
  auto seed = key.Seed();
  std::string text = std::string(kKeyFileHeader) + "\ntype = \"ed25519\"\npublic_key = \"" +
                     key.public_key().ToHex() + "\"\nseed = \"" + ToHex(ByteView(seed)) + "\"\n";
  sodium_memzero(seed.data(), seed.size());
  Status s = util::WriteFileAtomic(path, ByteView(text), 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

Result<KeyPair> ReadKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return NotFound("key file " + path + " does not exist (create one with `cairn keys new --out " + path + "`)");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", st.st_mode & 0777);
    return PermissionDenied("key file " + path + " has mode " + mode +
                            ": others can read it. Run `chmod 600 " + path + "` and rotate the key if it leaked");
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, util::ReadFile(path, kKeyFileBytesMax));
  std::string text(raw.begin(), raw.end());
  sodium_memzero(raw.data(), raw.size());
  std::string seed_hex, public_hex, type;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return Corruption("key file " + path + ": line without '=': cannot parse");
    std::string name = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    auto trim = [](std::string& s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.erase(s.begin());
      while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r')) s.pop_back();
    };
    trim(name);
    trim(value);
    if (name == "seed") seed_hex = value;
    else if (name == "public_key") public_hex = value;
    else if (name == "type") type = value;
  }
  sodium_memzero(text.data(), text.size());
  if (type != "ed25519") return Corruption("key file " + path + ": type must be \"ed25519\"");
  if (seed_hex.size() != 64) return Corruption("key file " + path + ": seed must be 64 hex digits");
  auto seed_bytes = FromHex(seed_hex);
  sodium_memzero(seed_hex.data(), seed_hex.size());
  if (!seed_bytes.ok()) return Corruption("key file " + path + ": seed: " + seed_bytes.status().message());
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), seed_bytes->data(), 32);
  sodium_memzero(seed_bytes->data(), seed_bytes->size());
  KeyPair key = KeyPair::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!public_hex.empty() && public_hex != key.public_key().ToHex()) {
    return Corruption("key file " + path + ": public_key does not match the seed; the file was edited or damaged");
  }
  return key;
}

}  // namespace cairn::crypto
