// The CPU backends as tables of range functions. Each entry computes a
// contiguous range of independent outputs (elements, rows, columns, planes,
// GEMM tiles or reduction blocks); the public kernels (../*.cpp) split the
// full range over threads and call the entry of the selected backend.
//
// The backend translation units are compiled with their own ISA flags and
// include only this header and <immintrin.h>-level headers, so no inline
// function compiled for AVX-512 can leak into code that runs elsewhere.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace cairn::kernels::cpu {

// One GEMM micro-kernel: micro-tile mr x nr and default cache blocks (mc,
// nc multiples of mr, nr). tiles() computes tiles [begin, end) of `tiling`;
// pack_a holds mc*kc floats and pack_b kc*nc floats (one pair per thread).
struct GemmVariant {
  int64_t mr, nr, mc, nc, kc;
  double cost;  // relative time per padded output element (fewer FMAs per load cost more)
  void (*tiles)(const GemmArgs& g, const GemmTiling& t, int64_t begin, int64_t end, float* pack_a, float* pack_b);
};

struct KernelTable {
  const char* name;

  // GEMM micro-kernels: [0] wide (few rows, two vectors of columns),
  // [1] narrow (more rows, one vector), [2] small (few rows, one vector)
  // for thin and tiny matrices.
  static constexpr int kGemmVariants = 3;
  GemmVariant gemm[kGemmVariants];

  // Elements [begin, end).
  void (*add)(const float* a, const float* b, float* out, int64_t begin, int64_t end);
  void (*mul)(const float* a, const float* b, float* out, int64_t begin, int64_t end);
  void (*scale)(const float* x, float s, float* out, int64_t begin, int64_t end);
  void (*relu_forward)(const float* x, float* y, int64_t begin, int64_t end);
  void (*relu_backward)(const float* y, const float* dy, float* dx, int64_t begin, int64_t end);
  void (*gelu_forward)(const float* x, float* y, int64_t begin, int64_t end);
  void (*gelu_backward)(const float* x, const float* dy, float* dx, int64_t begin, int64_t end);
  void (*sgd)(const SgdScalars& s, float* p, const float* g, float* buf, int64_t begin, int64_t end);
  void (*adam)(const AdamScalars& s, float* p, const float* g, float* m, float* v, int64_t begin, int64_t end);

  // Rows [begin, end) of a rows x cols matrix; planes [begin, end) of N*C.
  void (*add_bias_rows)(float* y, const float* bias, int64_t cols, int64_t begin, int64_t end);
  void (*add_bias_planes)(float* y, const float* bias, int64_t channels, int64_t spatial, int64_t begin, int64_t end);
  // Columns [begin, end); channels [begin, end).
  void (*sum_rows)(const float* x, float* out, int64_t rows, int64_t cols, int64_t begin, int64_t end);
  void (*bias_grad_channels)(const float* dy, float* dbias, int64_t batch, int64_t channels, int64_t spatial,
                             int64_t begin, int64_t end);

  // Reduction blocks [begin, end) of x[0..n): partials[b] = block b's value.
  void (*sum_blocks)(const float* x, int64_t n, float* partials, int64_t begin, int64_t end);
  void (*sum_squares_blocks)(const float* x, int64_t n, float* partials, int64_t begin, int64_t end);

  // im2col rows [begin, end) of one image; col2im channels [begin, end);
  // max-pool planes [begin, end). `ld` is the row stride of col (ColCols()
  // for one image, a multiple of it when col holds several images side by side).
  void (*im2col)(const Conv2dShape& s, const float* image, float* col, int64_t ld, int64_t begin, int64_t end);
  void (*col2im)(const Conv2dShape& s, const float* col, int64_t ld, float* image, int64_t begin, int64_t end);
  void (*maxpool_forward)(const float* x, float* y, uint8_t* argmax, int64_t h, int64_t w, int64_t begin, int64_t end);
  void (*maxpool_backward)(const float* dy, const uint8_t* argmax, float* dx, int64_t h, int64_t w, int64_t begin,
                           int64_t end);

  // Rows [begin, end) of a rows x d matrix (layernorm_backward_cols: columns).
  void (*layernorm_forward)(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                            float* rstd, int64_t d, int64_t begin, int64_t end);
  void (*layernorm_backward_rows)(const float* x, const float* gamma, const float* mean, const float* rstd,
                                  const float* dy, float* dx, int64_t d, int64_t begin, int64_t end);
  void (*layernorm_backward_cols)(const float* x, const float* mean, const float* rstd, const float* dy, float* dgamma,
                                  float* dbeta, int64_t rows, int64_t d, int64_t begin, int64_t end);
  void (*softmax_forward)(const float* x, float* y, int64_t d, int64_t begin, int64_t end);
  void (*softmax_backward)(const float* y, const float* dy, float* dx, int64_t d, int64_t begin, int64_t end);
  void (*log_softmax_forward)(const float* x, float* y, int64_t d, int64_t begin, int64_t end);
  void (*log_softmax_backward)(const float* y, const float* dy, float* dx, int64_t d, int64_t begin, int64_t end);
  void (*cross_entropy_rows)(const float* logits, const int64_t* labels, int64_t classes, float* losses, int64_t begin,
                             int64_t end);
  void (*cross_entropy_backward)(const float* logits, const int64_t* labels, float scale, float* dlogits,
                                 int64_t classes, int64_t begin, int64_t end);
};

const KernelTable& ScalarTable();
const KernelTable& Avx2Table();    // x86-64 builds only
const KernelTable& Avx512Table();  // x86-64 builds only

// Rows longer than this many reduction blocks are refused (row kernels keep
// their block partials on the stack): 262144 elements.
inline constexpr int64_t kRowBlocksMax = 1024;

}  // namespace cairn::kernels::cpu
