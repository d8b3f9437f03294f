// Row-wise kernels: LayerNorm, softmax, log-softmax and cross-entropy over
// the last dimension of a rows x d matrix. Rows are independent (threads
// split rows); within a row every sum uses the fixed tree of reduce.h.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace cairn::kernels {

// mean = Sum(x)/d; c = x - mean; var = SumSquares(c)/d; rstd = 1/Sqrt(var + eps);
// xhat = c * rstd; y = fma(xhat, gamma, beta). mean and rstd are saved per
// row for the backward pass.
void LayerNormForward(const Exec& exec, const float* x, const float* gamma, const float* beta, float eps, float* y,
                      float* mean, float* rstd, int64_t rows, int64_t d);
// g = dy * gamma; a = Sum(g)/d; b = Dot(g, xhat)/d; dx = (fnma(xhat, b, g - a)) * rstd;
// dgamma[j] / dbeta[j]: fma / add chains over rows in increasing order.
void LayerNormBackward(const Exec& exec, const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d);

// m = row max (+0 for a zero maximum); e = Exp(x - m); y = e / Sum(e).
void SoftmaxForward(const Exec& exec, const float* x, float* y, int64_t rows, int64_t d);
// dx = y * (dy - Dot(dy, y)).
void SoftmaxBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t rows, int64_t d);

// y = (x - m) - Log(Sum(Exp(x - m))).
void LogSoftmaxForward(const Exec& exec, const float* x, float* y, int64_t rows, int64_t d);
// dx = fnma(Exp(y), Sum(dy), dy) = dy - exp(y) * sum(dy).
void LogSoftmaxBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t rows, int64_t d);

// Mean over rows of -log_softmax(logits)[label]: per row
// loss_r = Log(Sum(Exp(x - m))) - (x[label] - m), then Sum(loss)/rows.
// REQUIRES: 0 <= labels[r] < classes.
float CrossEntropyForward(const Exec& exec, const float* logits, const int64_t* labels, int64_t rows, int64_t classes);
// dlogits = (Exp(x - m) / Sum(Exp(x - m)) - onehot) * (dloss / rows).
void CrossEntropyBackward(const Exec& exec, const float* logits, const int64_t* labels, float dloss, float* dlogits,
                          int64_t rows, int64_t classes);

}  // namespace cairn::kernels
