#include "crypto/sodium_init.h"

#include <sodium.h>

#include "cairn/assert.h"

namespace cairn::crypto {
void EnsureSodium() {
  static const bool initialised = [] { return sodium_init() >= 0; }();
  CAIRN_ASSERT(initialised);
}
}  // namespace cairn::crypto
