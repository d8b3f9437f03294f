// Always-on assertions for programmer errors. They stay active in release
// builds: a broken invariant in a ledger must stop the process, not corrupt
// state. Never use them to validate input from a peer, a file or a user;
// return a Status instead.
#pragma once

namespace cairn::detail {
[[noreturn]] void AssertFail(const char* expr, const char* file, int line);
}  // namespace cairn::detail

#define CAIRN_ASSERT(expr) \
  ((expr) ? (void)0 : ::cairn::detail::AssertFail(#expr, __FILE__, __LINE__))
