// BLAKE2b-256, the one hash function of cairn (content addresses, Merkle
// trees, transaction and block ids, state roots). Backed by libsodium.
#pragma once

#include <sodium.h>

#include "cairn/bytes.h"

namespace cairn::crypto {

// One-shot BLAKE2b with a 32-byte digest and no key.
Hash256 Blake2b256(ByteView data);

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
