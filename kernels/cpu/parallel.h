// How the public kernels split work over threads: a fixed partition of
// independent outputs into contiguous ranges. Because every output is
// computed by one fixed sequence of operations, any partition gives the same
// bits; the partition only decides which thread does the work.
#pragma once

#include <cstdint>
#include <functional>

#include "kernels/backend.h"
#include "kernels/cpu/table.h"

namespace cairn::kernels::cpu {

// The table of exec.backend. REQUIRES: CpuSupports(exec.backend) and
// 1 <= exec.threads <= kThreadsMax.
const KernelTable& TableFor(const Exec& exec);

// Splits [0, count) into parts = min(threads, ceil(count / grain))
// contiguous ranges [count*i/parts, count*(i+1)/parts) and calls
// fn(begin, end) for each, on up to `parts` threads of a process-wide worker
// pool (the caller is one; workers persist between calls). Every call
// runs under the canonical floating-point environment: round to nearest
// even, no flush-to-zero, no denormals-are-zero (MXCSR 0x1F80), restored
// afterwards, so a caller that changed MXCSR cannot change the bits.
void ParallelRanges(int64_t count, int threads, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace cairn::kernels::cpu
