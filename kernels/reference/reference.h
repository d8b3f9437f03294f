// The reference kernels: the specification every backend is tested against,
// bit for bit. Single-threaded, plain loops in exactly the documented order
// (docs/kernels.md), no tiling, no SIMD. Same contracts as the public
// kernels of the same name (gemm.h, elementwise.h, conv.h, norm.h, reduce.h,
// optim.h), without an Exec.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace cairn::kernels::reference {

void Gemm(const GemmArgs& args);

void Add(const float* a, const float* b, float* out, int64_t n);
void Mul(const float* a, const float* b, float* out, int64_t n);
void Scale(const float* x, float s, float* out, int64_t n);
void AddBiasRows(float* y, const float* bias, int64_t rows, int64_t cols);
void AddBiasChannels(float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial);
void SumRows(const float* x, float* out, int64_t rows, int64_t cols);
void BiasGradChannels(const float* dy, float* dbias, int64_t batch, int64_t channels, int64_t spatial);
void ReluForward(const float* x, float* y, int64_t n);
void ReluBackward(const float* y, const float* dy, float* dx, int64_t n);
void GeluForward(const float* x, float* y, int64_t n);
void GeluBackward(const float* x, const float* dy, float* dx, int64_t n);

void Im2Col(const Conv2dShape& shape, const float* image, float* col);
void Col2Im(const Conv2dShape& shape, const float* col, float* image);
void Conv2dForward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias, float* y);
void Conv2dBackward(const Conv2dShape& shape, const float* x, const float* weight, const float* dy, float* dx,
                    float* dweight, float* dbias);
void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h, int64_t w);
void MaxPool2x2Backward(const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h, int64_t w);

void LayerNormForward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t d);
void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                       float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d);
void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t d);
void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d);
void LogSoftmaxForward(const float* x, float* y, int64_t rows, int64_t d);
void LogSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d);
float CrossEntropyForward(const float* logits, const int64_t* labels, int64_t rows, int64_t classes);
void CrossEntropyBackward(const float* logits, const int64_t* labels, float dloss, float* dlogits, int64_t rows,
                          int64_t classes);

// The fixed reduction tree (reduce.h) over x[0..n), with the accumulator
// step acc + x, fmaf(x, x, acc) or fmaf(x, y, acc).
float Sum(const float* x, int64_t n);
float SumSquares(const float* x, int64_t n);
float Dot(const float* x, const float* y, int64_t n);
// The row maximum used by softmax: the largest element, +0 for a zero
// maximum (order-free), -inf for n = 0.
float RowMax(const float* x, int64_t n);

void SgdStep(const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n);
void AdamStep(const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n);

}  // namespace cairn::kernels::reference
