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
// Computed as one im2col of a group of images (their columns side by side)
// and one GEMM per group (ConvImagesPerGroup); the chains are the per-image
// ones whatever the group.
void Conv2dForward(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                   float* y);
// dweight = sum over n (in order, one continued fma chain over n then output
// position) of dy[n] * col(x[n])^T; dx[n] = Col2Im(weight^T * dy[n]) (skipped
// when dx is null); dbias as BiasGradChannels (skipped when null). Grouped
// like Conv2dForward: one GEMM per product per group of images.
void Conv2dBackward(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight, const float* dy,
                    float* dx, float* dweight, float* dbias);

// The images per group the two functions above use: the whole batch unless
// its buffers (columns and gathered dy) would exceed 2 MiB.
int64_t ConvImagesPerGroup(const Conv2dShape& shape);
// Whether Conv2dForward computes a group as ONE GEMM into scratch, copied
// into NCHW afterwards (small planes), or as a batched GEMM over the
// group's images writing their planes directly. Either way the same chains.
bool ConvForwardIsOneGemmPerGroup(const Conv2dShape& shape);
// The same with an explicit group size (>= 1). Every group size gives the
// same bits; exposed so that the tests can show it.
void Conv2dForwardGrouped(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight,
                          const float* bias, float* y, int64_t images_per_group);
void Conv2dBackwardGrouped(const Exec& exec, const Conv2dShape& shape, const float* x, const float* weight,
                           const float* dy, float* dx, float* dweight, float* dbias, int64_t images_per_group);

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
