#include "kernels/conv.h"

#include <algorithm>
#include <memory>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace cairn::kernels {
namespace {

constexpr int64_t kGrainElements = 16384;

// The buffers of one group of images (its columns, and its gathered dy or
// forward scratch) hold at most this many floats (2 MiB, about one core's
// L2): a batch that needs more is processed in groups of whole images, in
// order, which keeps every chain. Measured (CNN example, batch 64): groups
// of 4 to 16 images run alike, and the whole batch at once (18 MiB for the
// second layer) ran the backward pass twice as slowly as that, since the
// columns no longer stay in cache between im2col, GEMM and col2im.
constexpr int64_t kColumnFloatsMax = int64_t{512} << 10;

int64_t GrainFor(int64_t elements_per_unit) {
  return elements_per_unit >= kGrainElements ? 1 : kGrainElements / (elements_per_unit < 1 ? 1 : elements_per_unit);
}

void CheckShape(const Conv2dShape& s) {
  CAIRN_ASSERT(s.batch >= 1 && s.in_channels >= 1 && s.out_channels >= 1 && s.stride >= 1 && s.pad >= 0);
  CAIRN_ASSERT(s.kernel_h >= 1 && s.kernel_w >= 1 && s.OutHeight() >= 1 && s.OutWidth() >= 1);
}

std::unique_ptr<float[]> Floats(int64_t count) {
  return std::unique_ptr<float[]>(new float[static_cast<size_t>(count)]);
}

int64_t ImageSize(const Conv2dShape& s) { return s.in_channels * s.height * s.width; }

// Images [n0, n0 + count) of x side by side: col[r, i*cols + q] = column q of
// row r of image n0 + i (row stride count*cols). One parallel pass over all
// (image, row) pairs.
void Im2ColImages(const Exec& exec, const Conv2dShape& s, const float* x, int64_t n0, int64_t count, float* col) {
  const auto& t = cpu::TableFor(exec);
  const int64_t rows = s.ColRows(), cols = s.ColCols(), ld = count * cols;
  cpu::ParallelRanges(count * rows, exec.threads, GrainFor(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi;) {
      const int64_t i = u / rows, r0 = u % rows, r1 = std::min(rows, r0 + (hi - u));
      t.im2col(s, x + (n0 + i) * ImageSize(s), col + i * cols, ld, r0, r1);
      u += r1 - r0;
    }
  });
}

// The adjoint of Im2ColImages: dx of images [n0, n0 + count) from their
// columns side by side; each pixel's (ki, kj) order as in Col2Im.
void Col2ImImages(const Exec& exec, const Conv2dShape& s, const float* col, int64_t n0, int64_t count, float* dx) {
  const auto& t = cpu::TableFor(exec);
  const int64_t channels = s.in_channels, cols = s.ColCols(), ld = count * cols;
  cpu::ParallelRanges(count * channels, exec.threads, GrainFor(s.kernel_h * s.kernel_w * cols),
                      [&](int64_t lo, int64_t hi) {
                        for (int64_t u = lo; u < hi;) {
                          const int64_t i = u / channels, c0 = u % channels;
                          const int64_t c1 = std::min(channels, c0 + (hi - u));
                          t.col2im(s, col + i * cols, ld, dx + (n0 + i) * ImageSize(s), c0, c1);
                          u += c1 - c0;
                        }
                      });
}

// Every plane of y[n0, n0 + count) set to its channel's bias: the start of
// the forward chains.
void FillBias(const Exec& exec, const Conv2dShape& s, const float* bias, int64_t n0, int64_t count, float* y) {
  const int64_t channels = s.out_channels, cols = s.ColCols();
  cpu::ParallelRanges(count * channels, exec.threads, GrainFor(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      std::fill_n(y + (n0 * channels + plane) * cols, cols, bias[plane % channels]);
    }
  });
}

// dy of images [n0, n0 + count) as one [out_channels, count*cols] matrix
// (the layout of the columns), so that dweight is one GEMM whose k runs
// over (image, position) in order. Pure data movement.
void GatherOutputs(const Exec& exec, const Conv2dShape& s, const float* dy, int64_t n0, int64_t count, float* out) {
  const int64_t channels = s.out_channels, cols = s.ColCols();
  cpu::ParallelRanges(count * channels, exec.threads, GrainFor(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t i = u / channels, o = u % channels;
      std::copy_n(dy + ((n0 + i) * channels + o) * cols, cols, out + o * count * cols + i * cols);
    }
  });
}

// weight [out, rows] * columns [rows, count*cols], each image's product
// written straight into its NCHW planes: a batched GEMM over the images of
// the group (one call, one parallel region), chains over k = rows.
void ForwardBatchedGemm(const Exec& exec, const Conv2dShape& s, const float* weight, const float* col, int64_t count,
                        bool accumulate, float* y) {
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  GemmArgs g = MatMul(s.out_channels, cols, rows, weight, false, col, false, y, accumulate);
  g.b_row_stride = count * cols;
  g.batch = count;
  g.b_batch_stride = cols;
  g.c_batch_stride = s.out_channels * cols;
  Gemm(exec, g);
}

// The group's product as ONE GEMM, weight [out, rows] * columns
// [rows, count*cols] into scratch [out, count*cols] (chains from the bias
// there), then copied into the images' NCHW planes.
void ForwardGemmThenScatter(const Exec& exec, const Conv2dShape& s, const float* weight, const float* bias,
                            const float* col, int64_t n0, int64_t count, float* scratch, float* y) {
  const int64_t out = s.out_channels, cols = s.ColCols(), width = count * cols;
  if (bias != nullptr) {
    cpu::ParallelRanges(out, exec.threads, GrainFor(width), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) std::fill_n(scratch + o * width, width, bias[o]);
    });
  }
  Gemm(exec, MatMul(out, width, s.ColRows(), weight, false, col, false, scratch, /*accumulate=*/bias != nullptr));
  cpu::ParallelRanges(count * out, exec.threads, GrainFor(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t i = u / out, o = u % out;
      std::copy_n(scratch + o * width + i * cols, cols, y + ((n0 + i) * out + o) * cols);
    }
  });
}

// Planes smaller than this are convolved as one GEMM per group plus a copy
// (ForwardGemmThenScatter) rather than a batched GEMM: a small plane's
// per-image product has few column panels, so padding its last panel and
// the per-item tiles cost more than copying the output once. Measured on
// the CNN example: conv2 (196 positions) 12% (AVX-512) and 5% (AVX2) faster
// that way, conv1 (784) 8-12% slower.
constexpr int64_t kScatterPlaneMax = 512;

}  // namespace

bool ConvForwardIsOneGemmPerGroup(const Conv2dShape& s) { return s.ColCols() < kScatterPlaneMax; }

int64_t ConvImagesPerGroup(const Conv2dShape& s) {
  const int64_t per_image = (s.ColRows() + s.out_channels) * s.ColCols();
  return std::clamp<int64_t>(kColumnFloatsMax / std::max<int64_t>(per_image, 1), 1, s.batch);
}

void Im2Col(const Exec& exec, const Conv2dShape& s, const float* image, float* col) {
  CheckShape(s);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(s.ColRows(), exec.threads, GrainFor(s.ColCols()),
                      [&](int64_t lo, int64_t hi) { t.im2col(s, image, col, s.ColCols(), lo, hi); });
}

void Col2Im(const Exec& exec, const Conv2dShape& s, const float* col, float* image) {
  CheckShape(s);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(s.in_channels, exec.threads, GrainFor(s.kernel_h * s.kernel_w * s.ColCols()),
                      [&](int64_t lo, int64_t hi) { t.col2im(s, col, s.ColCols(), image, lo, hi); });
}

void Conv2dForward(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight, const float* bias,
                   float* y) {
  Conv2dForwardGrouped(exec, s, x, weight, bias, y, ConvImagesPerGroup(s));
}

void Conv2dForwardGrouped(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight,
                          const float* bias, float* y, int64_t images_per_group) {
  CheckShape(s);
  CAIRN_ASSERT(images_per_group >= 1);
  const int64_t group = std::min(images_per_group, s.batch), cols = s.ColCols();
  const bool one_gemm = ConvForwardIsOneGemmPerGroup(s);
  auto col = Floats(s.ColRows() * group * cols);
  auto scratch = one_gemm ? Floats(s.out_channels * group * cols) : nullptr;
  for (int64_t n0 = 0; n0 < s.batch; n0 += group) {
    const int64_t count = std::min(group, s.batch - n0);
    Im2ColImages(exec, s, x, n0, count, col.get());
    if (one_gemm) {
      ForwardGemmThenScatter(exec, s, weight, bias, col.get(), n0, count, scratch.get(), y);
      continue;
    }
    if (bias != nullptr) FillBias(exec, s, bias, n0, count, y);
    ForwardBatchedGemm(exec, s, weight, col.get(), count, /*accumulate=*/bias != nullptr,
                       y + n0 * s.out_channels * cols);
  }
}

void Conv2dBackward(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight, const float* dy,
                    float* dx, float* dweight, float* dbias) {
  Conv2dBackwardGrouped(exec, s, x, weight, dy, dx, dweight, dbias, ConvImagesPerGroup(s));
}

void Conv2dBackwardGrouped(const Exec& exec, const Conv2dShape& s, const float* x, const float* weight, const float* dy,
                           float* dx, float* dweight, float* dbias, int64_t images_per_group) {
  CheckShape(s);
  CAIRN_ASSERT(images_per_group >= 1);
  const int64_t group = std::min(images_per_group, s.batch);
  const int64_t rows = s.ColRows(), cols = s.ColCols(), out = s.out_channels;
  auto col = Floats(rows * group * cols);
  auto g = Floats(out * group * cols);
  for (int64_t n0 = 0; n0 < s.batch; n0 += group) {
    const int64_t count = std::min(group, s.batch - n0), width = count * cols;
    Im2ColImages(exec, s, x, n0, count, col.get());
    GatherOutputs(exec, s, dy, n0, count, g.get());
    // dweight is one chain over (n, q) in that order: k runs over the group's
    // images side by side, and later groups continue the chains.
    Gemm(exec, MatMul(out, rows, width, g.get(), false, col.get(), /*transpose_b=*/true, dweight,
                      /*accumulate=*/n0 > 0));
    if (dx != nullptr) {
      Gemm(exec, MatMul(rows, width, out, weight, /*transpose_a=*/true, g.get(), false, col.get()));
      Col2ImImages(exec, s, col.get(), n0, count, dx);
    }
  }
  if (dbias != nullptr) BiasGradChannels(exec, dy, dbias, s.batch, out, cols);
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
