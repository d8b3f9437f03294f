// Elementwise kernels, bias broadcasting and per-column sums. Each output
// element depends only on its inputs at the same index (or one fixed
// sequential sum), so threads split the index range freely.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace cairn::kernels {

// out[i] = a[i] + b[i] / a[i] * b[i] / x[i] * s. out may alias an input.
void Add(const Exec& exec, const float* a, const float* b, float* out, int64_t n);
void Mul(const Exec& exec, const float* a, const float* b, float* out, int64_t n);
void Scale(const Exec& exec, const float* x, float s, float* out, int64_t n);

// y[r, j] += bias[j] for a rows x cols matrix.
void AddBiasRows(const Exec& exec, float* y, const float* bias, int64_t rows, int64_t cols);
// y[n, c, s] += bias[c] for an NCHW tensor with `spatial` = H*W.
void AddBiasChannels(const Exec& exec, float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial);

// out[j] = ((+0 + x[0, j]) + x[1, j]) + ... in increasing row order (bias
// gradient of a Linear, the sum behind a mean over tokens).
void SumRows(const Exec& exec, const float* x, float* out, int64_t rows, int64_t cols);
// dbias[c] = (+0 + S(0, c)) + S(1, c) + ... over the batch in order, where
// S(n, c) = Sum of dy[n, c, :] with the fixed tree of reduce.h.
void BiasGradChannels(const Exec& exec, const float* dy, float* dbias, int64_t batch, int64_t channels,
                      int64_t spatial);

// ReLU: y = x < 0 ? +0 : x. Backward from the OUTPUT: dx = y > 0 ? dy : +0.
void ReluForward(const Exec& exec, const float* x, float* y, int64_t n);
void ReluBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t n);

// GELU, erf form (torch's default): 0.5 x (1 + erf(x / sqrt 2)), with
// cairn's Erf and Exp (docs/kernels.md). Backward takes the forward input.
void GeluForward(const Exec& exec, const float* x, float* y, int64_t n);
void GeluBackward(const Exec& exec, const float* x, const float* dy, float* dx, int64_t n);

}  // namespace cairn::kernels
