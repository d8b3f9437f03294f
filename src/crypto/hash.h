// BLAKE2b-256, the one hash function of cairn (content addresses, Merkle
// trees, transaction and block ids, state roots). Backed by libsodium.
#pragma once

#include <sodium.h>

#include "cairn/bytes.h"

namespace cairn::crypto {

// One-shot BLAKE2b with a 32-byte digest and no key.
Hash256 Blake2b256(ByteView data);

// One-shot BLAKE2b with any digest length libsodium supports and an optional
// key (BLAKE2b's MAC mode). For interoperability and the published test
// vectors; cairn's own hashes use Blake2b256 and TaggedHash.
// REQUIRES: crypto_generichash_BYTES_MIN <= digest_bytes <= crypto_generichash_BYTES_MAX
//           (16..64), and key is empty or crypto_generichash_KEYBYTES_MIN..MAX (16..64) bytes.
Bytes Blake2b(ByteView data, size_t digest_bytes, ByteView key = {});

// BLAKE2b-256 of `domain` followed by `data`. Every hashed object type uses a
// distinct domain tag ("cairn/tx/v1", ...) so that bytes of one type can
// never be passed off as another.
Hash256 TaggedHash(std::string_view domain, ByteView data);

// Incremental BLAKE2b-256. Not thread-safe; one instance per stream.
class Hasher {
 public:
  Hasher();
  // A keyed hasher (BLAKE2b's MAC mode); key is 16..64 bytes.
  explicit Hasher(ByteView key);
  void Update(ByteView data);
  Hash256 Finish();

 private:
  crypto_generichash_state state_;
  bool finished_ = false;
};

}  // namespace cairn::crypto
