#include "kernels/reference/formulas.h"
#include "kernels/reference/reference.h"

namespace cairn::kernels::reference {

void Add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
void Mul(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}
void Scale(const float* x, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
}

void AddBiasRows(float* y, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] += bias[j];
  }
}

void AddBiasChannels(float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      float* plane = y + (n * channels + c) * spatial;
      for (int64_t s = 0; s < spatial; ++s) plane[s] += bias[c];
    }
  }
}

void SumRows(const float* x, float* out, int64_t rows, int64_t cols) {
  for (int64_t j = 0; j < cols; ++j) {
    float acc = 0.0f;
    for (int64_t r = 0; r < rows; ++r) acc += x[r * cols + j];
    out[j] = acc;
  }
}

void BiasGradChannels(const float* dy, float* dbias, int64_t batch, int64_t channels, int64_t spatial) {
  for (int64_t c = 0; c < channels; ++c) {
    float acc = 0.0f;
    for (int64_t n = 0; n < batch; ++n) acc += Sum(dy + (n * channels + c) * spatial, spatial);
    dbias[c] = acc;
  }
}

void ReluForward(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = ReluElement<S>(x[i]);
}
void ReluBackward(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = ReluGradElement<S>(y[i], dy[i]);
}
void GeluForward(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = GeluElement<S>(x[i]);
}
void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = GeluGradElement<S>(x[i], dy[i]);
}

}  // namespace cairn::kernels::reference
