#pragma once

namespace cairn::crypto {
// Initialises libsodium once per process (thread-safe, idempotent). Aborts if
// libsodium cannot initialise: no key or hash can be trusted without it.
void EnsureSodium();
}  // namespace cairn::crypto
