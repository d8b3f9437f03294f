#include "crypto/hash.h"

#include "crypto/sodium_init.h"

namespace cairn::crypto {

Hash256 Blake2b256(ByteView data) {
  EnsureSodium();
  Hash256 out;
  crypto_generichash(out.bytes.data(), out.bytes.size(), data.data, data.size, nullptr, 0);
  return out;
}

Bytes Blake2b(ByteView data, size_t digest_bytes, ByteView key) {
  EnsureSodium();
  CAIRN_ASSERT(digest_bytes >= crypto_generichash_BYTES_MIN &&
               digest_bytes <= crypto_generichash_BYTES_MAX);
  CAIRN_ASSERT(key.size == 0 || (key.size >= crypto_generichash_KEYBYTES_MIN &&
                                 key.size <= crypto_generichash_KEYBYTES_MAX));
  Bytes out(digest_bytes);
  int rc = crypto_generichash(out.data(), out.size(), data.data, data.size,
                              key.size == 0 ? nullptr : key.data, key.size);
  CAIRN_ASSERT(rc == 0);
  return out;
}

Hash256 TaggedHash(std::string_view domain, ByteView data) {
  Hasher h;
  // Length-prefix the tag so ("ab", "c...") and ("a", "bc...") cannot collide.
  uint8_t tag_length = static_cast<uint8_t>(domain.size());
  CAIRN_ASSERT(domain.size() < 256);
  h.Update(ByteView(&tag_length, 1));
  h.Update(ByteView(domain));
  h.Update(data);
  return h.Finish();
}

Hasher::Hasher() {
  EnsureSodium();
  crypto_generichash_init(&state_, nullptr, 0, 32);
}

Hasher::Hasher(ByteView key) {
  EnsureSodium();
  CAIRN_ASSERT(key.size >= crypto_generichash_KEYBYTES_MIN &&
               key.size <= crypto_generichash_KEYBYTES_MAX);
  crypto_generichash_init(&state_, key.data, key.size, 32);
}

void Hasher::Update(ByteView data) {
  CAIRN_ASSERT(!finished_);
  crypto_generichash_update(&state_, data.data, data.size);
}

Hash256 Hasher::Finish() {
  CAIRN_ASSERT(!finished_);
  finished_ = true;
  Hash256 out;
  crypto_generichash_final(&state_, out.bytes.data(), out.bytes.size());
  return out;
}

}  // namespace cairn::crypto
