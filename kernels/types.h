// Plain argument structs shared by every backend. Torch-free and
// dependency-free on purpose: the SIMD and CUDA translation units include it.
#pragma once

#include <cstdint>

// Lets the CUDA twin call these small accessors in device code.
#if defined(__CUDACC__)
#define CAIRN_KERNELS_HOST_DEVICE __host__ __device__
#else
#define CAIRN_KERNELS_HOST_DEVICE
#endif

namespace cairn::kernels {

// A (batched) matrix product C = A * B, or C += A * B with `accumulate`.
// Element (i, p) of A is a[i * a_row_stride + p * a_col_stride], element
// (p, j) of B is b[p * b_row_stride + j * b_col_stride], element (i, j) of C
// is c[i * c_row_stride + j * c_col_stride]; batch item t offsets a, b and c by t times
// their batch strides. Strides express transposes and permuted views.
//
// Each C element is ONE chain of correctly rounded fused multiply-adds over
// p = 0, 1, ..., k-1 in increasing order, starting from +0 (or from the old
// C element when `accumulate`): acc = fmaf(A(i,p), B(p,j), acc).
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t a_row_stride = 0, a_col_stride = 1;
  const float* b = nullptr;
  int64_t b_row_stride = 0, b_col_stride = 1;
  float* c = nullptr;
  int64_t c_row_stride = 0, c_col_stride = 1;
  bool accumulate = false;
  int64_t batch = 1;
  int64_t a_batch_stride = 0, b_batch_stride = 0, c_batch_stride = 0;
};

// How a GEMM is cut into independent output tiles (mc x nc blocks of C,
// k-blocked by kc). Any tiling, micro-kernel or orientation gives the same
// bits; it only moves work.
struct GemmTiling {
  int64_t mc = 0, nc = 0, kc = 0;
  int64_t tiles_m = 0, tiles_n = 0;
  CAIRN_KERNELS_HOST_DEVICE int64_t Tiles(int64_t batch) const { return batch * tiles_m * tiles_n; }
};

// A 2-D convolution over NCHW tensors (torch's Conv2d with groups = 1).
struct Conv2dShape {
  int64_t batch = 1, in_channels = 1, height = 1, width = 1;
  int64_t out_channels = 1, kernel_h = 1, kernel_w = 1;
  int64_t pad = 0, stride = 1;  // the same on both axes; zero padding
  CAIRN_KERNELS_HOST_DEVICE int64_t OutHeight() const { return (height + 2 * pad - kernel_h) / stride + 1; }
  CAIRN_KERNELS_HOST_DEVICE int64_t OutWidth() const { return (width + 2 * pad - kernel_w) / stride + 1; }
  // Rows of the column matrix: in_channels * kernel_h * kernel_w.
  CAIRN_KERNELS_HOST_DEVICE int64_t ColRows() const { return in_channels * kernel_h * kernel_w; }
  CAIRN_KERNELS_HOST_DEVICE int64_t ColCols() const { return OutHeight() * OutWidth(); }
};

// Hyper-parameters of one optimizer step, already reduced to the float
// scalars the per-element formula uses (see optim.h for how they are derived
// from the double-precision job values).
struct SgdScalars {
  float lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
};

struct AdamScalars {
  float beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0;
  float step_size = 0;   // lr / (1 - beta1^t)
  float bias2_sqrt = 0;  // sqrt(1 - beta2^t)
  float eps = 0;
  float weight_decay = 0;  // L2 term added to the gradient (Adam only)
  float decay_factor = 1;  // 1 - lr * wd, multiplied into p first (AdamW only)
  bool decoupled = false;  // AdamW
};

}  // namespace cairn::kernels
