// ParallelFor: splits an index range over a fixed number of threads and
// waits for all of them. Used for CPU-bound, independent work such as
// verifying the signatures of a block's transactions.
#pragma once

#include <cstddef>
#include <functional>

namespace cairn::util {

// Calls fn(i) for every i in [0, count) on up to `threads` threads (the
// calling thread is one of them). fn must be safe to call concurrently for
// distinct i. Returns when every call has returned.
void ParallelFor(size_t count, unsigned threads, const std::function<void(size_t)>& fn);

// The number of hardware threads, at least 1.
unsigned HardwareThreads();

}  // namespace cairn::util
