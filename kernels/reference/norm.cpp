#include <cstddef>
#include <vector>

#include "cairn/assert.h"
#include "kernels/reference/formulas.h"
#include "kernels/reference/reference.h"

namespace cairn::kernels::reference {
namespace {

// The fixed tree of reduce.h with accumulator step `step(acc, i)`.
template <class Step>
float TreeReduce(int64_t n, Step step) {
  std::vector<float> partials;
  for (int64_t begin = 0; begin < n; begin += kReduceBlockElements) {
    float acc[kReduceLanes] = {};
    for (int64_t i = begin; i < n && i < begin + kReduceBlockElements; ++i) {
      float& a = acc[(i - begin) % kReduceLanes];
      a = step(a, i);
    }
    partials.push_back(PairwiseCombine(acc, kReduceLanes));
  }
  return PairwiseCombine(partials.data(), static_cast<int64_t>(partials.size()));
}

}  // namespace

float Sum(const float* x, int64_t n) {
  return TreeReduce(n, [&](float acc, int64_t i) { return acc + x[i]; });
}
float SumSquares(const float* x, int64_t n) {
  return TreeReduce(n, [&](float acc, int64_t i) { return S::Fma(x[i], x[i], acc); });
}
float Dot(const float* x, const float* y, int64_t n) {
  return TreeReduce(n, [&](float acc, int64_t i) { return S::Fma(x[i], y[i], acc); });
}

float RowMax(const float* x, int64_t n) {
  float m = -__builtin_inff();
  for (int64_t i = 0; i < n; ++i) m = S::Max(x[i], m);
  return m + 0.0f;  // -0 -> +0: which zero won must not depend on the order
}

void LayerNormForward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t d) {
  std::vector<float> c(static_cast<size_t>(d));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    const float mu = Sum(xr, d) / static_cast<float>(d);
    for (int64_t j = 0; j < d; ++j) c[j] = xr[j] - mu;
    const float var = SumSquares(c.data(), d) / static_cast<float>(d);
    const float rs = 1.0f / S::Sqrt(var + eps);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = S::Fma(c[j] * rs, gamma[j], beta[j]);
    mean[r] = mu;
    rstd[r] = rs;
  }
}

void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                       float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d) {
  std::vector<float> g(static_cast<size_t>(d)), xhat(static_cast<size_t>(d));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < d; ++j) {
      xhat[j] = (x[r * d + j] - mean[r]) * rstd[r];
      g[j] = dy[r * d + j] * gamma[j];
    }
    const float a = Sum(g.data(), d) / static_cast<float>(d);
    const float b = Dot(g.data(), xhat.data(), d) / static_cast<float>(d);
    for (int64_t j = 0; j < d; ++j) dx[r * d + j] = S::Fnma(xhat[j], b, g[j] - a) * rstd[r];
  }
  for (int64_t j = 0; j < d; ++j) {
    float dg = 0.0f, db = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float xh = (x[r * d + j] - mean[r]) * rstd[r];
      dg = S::Fma(dy[r * d + j], xh, dg);
      db = db + dy[r * d + j];
    }
    dgamma[j] = dg;
    dbeta[j] = db;
  }
}

void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const float m = RowMax(x + r * d, d);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = Exp<S>(x[r * d + j] - m);
    const float sum = Sum(y + r * d, d);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = y[r * d + j] / sum;
  }
}

void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const float dot = Dot(dy + r * d, y + r * d, d);
    for (int64_t j = 0; j < d; ++j) dx[r * d + j] = y[r * d + j] * (dy[r * d + j] - dot);
  }
}

void LogSoftmaxForward(const float* x, float* y, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const float m = RowMax(x + r * d, d);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = Exp<S>(x[r * d + j] - m);
    const float lse = Log<S>(Sum(y + r * d, d));
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = (x[r * d + j] - m) - lse;
  }
}

void LogSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const float sum = Sum(dy + r * d, d);
    for (int64_t j = 0; j < d; ++j) dx[r * d + j] = S::Fnma(Exp<S>(y[r * d + j]), sum, dy[r * d + j]);
  }
}

float CrossEntropyForward(const float* logits, const int64_t* labels, int64_t rows, int64_t classes) {
  std::vector<float> e(static_cast<size_t>(classes)), losses(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = logits + r * classes;
    CAIRN_ASSERT(labels[r] >= 0 && labels[r] < classes);
    const float m = RowMax(xr, classes);
    for (int64_t j = 0; j < classes; ++j) e[j] = Exp<S>(xr[j] - m);
    losses[r] = Log<S>(Sum(e.data(), classes)) - (xr[labels[r]] - m);
  }
  return Sum(losses.data(), rows) / static_cast<float>(rows);
}

void CrossEntropyBackward(const float* logits, const int64_t* labels, float dloss, float* dlogits, int64_t rows,
                          int64_t classes) {
  const float scale = dloss / static_cast<float>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = logits + r * classes;
    float* gr = dlogits + r * classes;
    CAIRN_ASSERT(labels[r] >= 0 && labels[r] < classes);
    const float m = RowMax(xr, classes);
    for (int64_t j = 0; j < classes; ++j) gr[j] = Exp<S>(xr[j] - m);
    const float sum = Sum(gr, classes);
    for (int64_t j = 0; j < classes; ++j) {
      gr[j] = (gr[j] / sum - (j == labels[r] ? 1.0f : 0.0f)) * scale;
    }
  }
}

}  // namespace cairn::kernels::reference
