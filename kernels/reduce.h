// Reductions in a fixed tree: blocks of 256 elements, each with 16
// accumulators (element i to accumulator i % 16, in increasing i), the 16
// and then the per-block partials combined pairwise (v[i] = v[2i] + v[2i+1],
// repeated). The tree depends on n only, not on threads or SIMD width.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace cairn::kernels {

// Accumulator step acc = acc + x.
float Sum(const Exec& exec, const float* x, int64_t n);
// Accumulator step acc = fmaf(x, x, acc) (squared norms).
float SumSquares(const Exec& exec, const float* x, int64_t n);

}  // namespace cairn::kernels
