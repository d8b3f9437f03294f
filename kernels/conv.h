// Convolution as im2col + GEMM (and col2im for its input gradient), and 2x2
// max-pooling. Tensors are NCHW, contiguous.
#pragma once

#include <cstdint>

#include "kernels/backend.h"
#include "kernels/types.h"

namespace cairn::kernels {

// One image [C, H, W] -> col[(c*kh + ki)*kw + kj, oh*OW + ow] (0 in the
// padding). Pure data movement.
void Im2Col(const Exec& exec, const Conv2dShape& shape, const float* image, float* col);
// The adjoint: image[c, h, w] = +0, then for (c, ki, kj) in increasing order,
// for every output position, image[...] += col[...]. Each image element thus
// sums its contributions in increasing (ki, kj) order.
void Col2Im(const Exec& exec, const Conv2dShape& shape, const float* col, float* image);

// y[n] = weight[out, ColRows] * col(x[n]) with each fma chain starting at
// bias[o] (or +0 when bias is null). weight is torch's [out, in, kh, kw].
void Conv2dForward(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                   float* y);
// dweight = sum over n (in order, one continued fma chain over n then output
// position) of dy[n] * col(x[n])^T; dx[n] = Col2Im(weight^T * dy[n]) (skipped
// when dx is null); dbias as BiasGradChannels (skipped when null).
void Conv2dBackward(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight, const float* dy,
                    float* dx, float* dweight, float* dbias);

// 2x2 max-pool, stride 2, floor (a trailing odd row/column is dropped), over
// `planes` = N*C planes of h x w. The window is scanned (0,0), (0,1), (1,0),
// (1,1); a value replaces the running maximum when it is greater or NaN, so
// ties go to the FIRST maximum in that order. argmax (0..3) is recorded per
// output for the backward pass, which writes dy there and +0 elsewhere.
void MaxPool2x2Forward(const Exec& exec, const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h,
                       int64_t w);
void MaxPool2x2Backward(const Exec& exec, const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h,
                        int64_t w);

}  // namespace cairn::kernels
