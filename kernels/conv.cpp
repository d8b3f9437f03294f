#include "kernels/conv.h"

#include <memory>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace cairn::kernels {
namespace {

constexpr int64_t kGrainElements = 16384;

int64_t GrainFor(int64_t elements_per_unit) {
  return elements_per_unit >= kGrainElements ? 1 : kGrainElements / (elements_per_unit < 1 ? 1 : elements_per_unit);
}

void CheckShape(const Conv2dShape& s) {
  CAIRN_ASSERT(s.batch >= 1 && s.in_channels >= 1 && s.out_channels >= 1 && s.stride >= 1 && s.pad >= 0);
  CAIRN_ASSERT(s.kernel_h >= 1 && s.kernel_w >= 1 && s.OutHeight() >= 1 && s.OutWidth() >= 1);
}

std::unique_ptr<float[]> ColBuffer(const Conv2dShape& s) {
  return std::unique_ptr<float[]>(new float[static_cast<size_t>(s.ColRows() * s.ColCols())]);
}

}  // namespace

void Im2Col(const Exec& exec, const Conv2dShape& s, const float* image, float* col) {
  CheckShape(s);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(s.ColRows(), exec.threads, GrainFor(s.ColCols()),
                      [&](int64_t lo, int64_t hi) { t.im2col(s, image, col, lo, hi); });
}

void Col2Im(const Exec& exec, const Conv2dShape& s, const float* col, float* image) {
  CheckShape(s);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(s.in_channels, exec.threads, GrainFor(s.kernel_h * s.kernel_w * s.ColCols()),
                      [&](int64_t lo, int64_t hi) { t.col2im(s, col, image, lo, hi); });
}

void Conv2dForward(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight, const float* bias,
                   float* y) {
  CheckShape(s);
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  auto col = ColBuffer(s);
  for (int64_t n = 0; n < s.batch; ++n) {
    Im2Col(exec, s, x + n * s.in_channels * s.height * s.width, col.get());
    float* out = y + n * s.out_channels * cols;
    if (bias != nullptr) {
      for (int64_t o = 0; o < s.out_channels; ++o) {
        for (int64_t q = 0; q < cols; ++q) out[o * cols + q] = bias[o];
      }
    }
    Gemm(exec, MatMul(s.out_channels, cols, rows, weight, false, col.get(), false, out,
                      /*accumulate=*/bias != nullptr));
  }
}

void Conv2dBackward(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight, const float* dy,
                    float* dx, float* dweight, float* dbias) {
  CheckShape(s);
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  const int64_t image = s.in_channels * s.height * s.width;
  auto col = ColBuffer(s);
  for (int64_t n = 0; n < s.batch; ++n) {
    const float* g = dy + n * s.out_channels * cols;
    Im2Col(exec, s, x + n * image, col.get());
    // dweight continues one chain over (n, q): accumulate after the first image.
    Gemm(exec, MatMul(s.out_channels, rows, cols, g, false, col.get(), /*transpose_b=*/true, dweight,
                      /*accumulate=*/n > 0));
    if (dx != nullptr) {
      Gemm(exec, MatMul(rows, cols, s.out_channels, weight, /*transpose_a=*/true, g, false, col.get()));
      Col2Im(exec, s, col.get(), dx + n * image);
    }
  }
  if (dbias != nullptr) BiasGradChannels(exec, dy, dbias, s.batch, s.out_channels, cols);
}

void MaxPool2x2Forward(const Exec& exec, const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h,
                       int64_t w) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(planes, exec.threads, GrainFor(h * w),
                      [&](int64_t lo, int64_t hi) { t.maxpool_forward(x, y, argmax, h, w, lo, hi); });
}

void MaxPool2x2Backward(const Exec& exec, const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h,
                        int64_t w) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(planes, exec.threads, GrainFor(h * w),
                      [&](int64_t lo, int64_t hi) { t.maxpool_backward(dy, argmax, dx, h, w, lo, hi); });
}

}  // namespace cairn::kernels
