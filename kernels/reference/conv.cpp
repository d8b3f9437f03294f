#include <cstddef>
#include <vector>

#include "kernels/reference/formulas.h"
#include "kernels/reference/reference.h"

namespace cairn::kernels::reference {

void Im2Col(const Conv2dShape& s, const float* image, float* col) {
  const int64_t oh = s.OutHeight(), ow = s.OutWidth();
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t ki = 0; ki < s.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < s.kernel_w; ++kj) {
        float* row = col + ((c * s.kernel_h + ki) * s.kernel_w + kj) * oh * ow;
        for (int64_t y = 0; y < oh; ++y) {
          for (int64_t x = 0; x < ow; ++x) {
            const int64_t h = y * s.stride - s.pad + ki, w = x * s.stride - s.pad + kj;
            const bool inside = h >= 0 && h < s.height && w >= 0 && w < s.width;
            row[y * ow + x] = inside ? image[(c * s.height + h) * s.width + w] : 0.0f;
          }
        }
      }
    }
  }
}

void Col2Im(const Conv2dShape& s, const float* col, float* image) {
  const int64_t oh = s.OutHeight(), ow = s.OutWidth();
  for (int64_t i = 0; i < s.in_channels * s.height * s.width; ++i) image[i] = 0.0f;
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t ki = 0; ki < s.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < s.kernel_w; ++kj) {
        const float* row = col + ((c * s.kernel_h + ki) * s.kernel_w + kj) * oh * ow;
        for (int64_t y = 0; y < oh; ++y) {
          for (int64_t x = 0; x < ow; ++x) {
            const int64_t h = y * s.stride - s.pad + ki, w = x * s.stride - s.pad + kj;
            if (h >= 0 && h < s.height && w >= 0 && w < s.width) {
              image[(c * s.height + h) * s.width + w] += row[y * ow + x];
            }
          }
        }
      }
    }
  }
}

void Conv2dForward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y) {
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  std::vector<float> col(static_cast<size_t>(rows * cols));
  for (int64_t n = 0; n < s.batch; ++n) {
    Im2Col(s, x + n * s.in_channels * s.height * s.width, col.data());
    float* out = y + n * s.out_channels * cols;
    for (int64_t o = 0; o < s.out_channels; ++o) {
      for (int64_t q = 0; q < cols; ++q) out[o * cols + q] = bias != nullptr ? bias[o] : 0.0f;
    }
    Gemm({.m = s.out_channels,
          .n = cols,
          .k = rows,
          .a = weight,
          .a_row_stride = rows,
          .a_col_stride = 1,
          .b = col.data(),
          .b_row_stride = cols,
          .b_col_stride = 1,
          .c = out,
          .c_row_stride = cols,
          .accumulate = true});
  }
}

void Conv2dBackward(const Conv2dShape& s, const float* x, const float* weight, const float* dy, float* dx,
                    float* dweight, float* dbias) {
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  const int64_t image = s.in_channels * s.height * s.width;
  std::vector<float> col(static_cast<size_t>(rows * cols));
  for (int64_t n = 0; n < s.batch; ++n) {
    const float* g = dy + n * s.out_channels * cols;
    Im2Col(s, x + n * image, col.data());
    // dweight[o, r] continues one chain over (n, q): accumulate after n = 0.
    Gemm({.m = s.out_channels,
          .n = rows,
          .k = cols,
          .a = g,
          .a_row_stride = cols,
          .a_col_stride = 1,
          .b = col.data(),
          .b_row_stride = 1,
          .b_col_stride = cols,
          .c = dweight,
          .c_row_stride = rows,
          .accumulate = n > 0});
    if (dx != nullptr) {
      Gemm({.m = rows,
            .n = cols,
            .k = s.out_channels,
            .a = weight,
            .a_row_stride = 1,
            .a_col_stride = rows,
            .b = g,
            .b_row_stride = cols,
            .b_col_stride = 1,
            .c = col.data(),
            .c_row_stride = cols});
      Col2Im(s, col.data(), dx + n * image);
    }
  }
  if (dbias != nullptr) BiasGradChannels(dy, dbias, s.batch, s.out_channels, cols);
}

void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h, int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        const float* top = x + (p * h + 2 * i) * w + 2 * j;
        const float window[4] = {top[0], top[1], top[w], top[w + 1]};
        float best = window[0];
        uint8_t at = 0;
        for (uint8_t q = 1; q < 4; ++q) {
          if (window[q] > best || S::IsNan(window[q])) {
            best = window[q];
            at = q;
          }
        }
        y[(p * oh + i) * ow + j] = best;
        argmax[(p * oh + i) * ow + j] = at;
      }
    }
  }
}

void MaxPool2x2Backward(const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h, int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  for (int64_t i = 0; i < planes * h * w; ++i) dx[i] = 0.0f;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        const uint8_t at = argmax[(p * oh + i) * ow + j];
        dx[(p * h + 2 * i + at / 2) * w + 2 * j + at % 2] = dy[(p * oh + i) * ow + j];
      }
    }
  }
}

}  // namespace cairn::kernels::reference
