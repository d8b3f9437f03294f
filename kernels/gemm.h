// Reproducible matrix products and the Linear layer built on them.
//
// Every C element is one sequential chain of correctly rounded fmaf over k
// (types.h, GemmArgs); threads and SIMD lanes split independent outputs only,
// so results are bit-identical for every backend and thread count.
#pragma once

#include <cstdint>

#include "kernels/backend.h"
#include "kernels/types.h"

namespace cairn::kernels {

// REQUIRES: shapes >= 0, batch >= 1, and C does not overlap A or B.
void Gemm(const Exec& exec, const GemmArgs& args);

// Arguments for contiguous row-major matrices: op(A) is m x k (A stored k x m
// when transpose_a), op(B) is k x n (B stored n x k when transpose_b), C is
// m x n.
GemmArgs MatMul(int64_t m, int64_t n, int64_t k, const float* a, bool transpose_a, const float* b, bool transpose_b,
                float* c, bool accumulate = false);

// y[batch, out] = x[batch, in] * weight[out, in]^T + bias[out] (torch Linear).
// Each y element's fma chain starts at bias[j] (or +0 when bias is null).
void LinearForward(const Exec& exec, const float* x, const float* weight, const float* bias, float* y, int64_t batch,
                   int64_t in, int64_t out);

// dx = dy * weight (skipped when dx is null), dweight = dy^T * x,
// dbias[j] = sequential sum over the batch of dy[:, j] (skipped when null).
void LinearBackward(const Exec& exec, const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                    float* dbias, int64_t batch, int64_t in, int64_t out);

}  // namespace cairn::kernels
