// The reference is right, not only self-consistent: each kernel against
// double-precision math or finite differences, and the bit comparison can
// fail (one ulp of one input changes the output).

#include "kernels/reference/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/optim.h"
#include "test_util.h"

namespace cairn::kernels {
namespace {

using testing::RandomFloats;
using testing::SameBits;

constexpr uint32_t kSeed = 7;

TEST(KernelReference, GemmWithinTheFmaChainErrorBound) {
  std::mt19937 rng(kSeed);
  const int64_t m = 17, n = 23, k = 1000;
  const auto a = RandomFloats(rng, m * k), b = RandomFloats(rng, k * n);
  std::vector<float> c(m * n);
  GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.a_row_stride = k, g.b = b.data(), g.b_row_stride = n;
  g.c = c.data(), g.c_row_stride = n;
  reference::Gemm(g);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0, magnitude = 0;
      for (int64_t p = 0; p < k; ++p) {
        exact += static_cast<double>(a[i * k + p]) * b[p * n + j];
        magnitude += std::fabs(static_cast<double>(a[i * k + p]) * b[p * n + j]);
      }
      // A chain of k correctly rounded fmas: |error| <= k * 2^-24 * sum |a b|.
      EXPECT_LE(std::fabs(c[i * n + j] - exact), k * 0x1p-24 * magnitude) << i << "," << j;
    }
  }
}

TEST(KernelReference, SumsAreAccurate) {
  std::mt19937 rng(kSeed);
  const int64_t n = 1000003;
  const auto x = RandomFloats(rng, n);
  double exact = 0, squares = 0, magnitude = 0;
  for (float v : x) exact += v, squares += static_cast<double>(v) * v, magnitude += std::fabs(v);
  // A pairwise tree of depth ~log2(n) + 16: error <= depth * 2^-24 * sum |x|.
  EXPECT_LE(std::fabs(reference::Sum(x.data(), n) - exact), 40 * 0x1p-24 * magnitude);
  EXPECT_LE(std::fabs(reference::SumSquares(x.data(), n) - squares), 40 * 0x1p-24 * squares);
  EXPECT_EQ(reference::Sum(x.data(), 0), 0.0f);
}

TEST(KernelReference, SoftmaxRowsSumToOneAndMatchDouble) {
  std::mt19937 rng(kSeed);
  const int64_t rows = 50, d = 37;
  const auto x = RandomFloats(rng, rows * d, -30, 30);
  std::vector<float> y(rows * d), ly(rows * d);
  reference::SoftmaxForward(x.data(), y.data(), rows, d);
  reference::LogSoftmaxForward(x.data(), ly.data(), rows, d);
  for (int64_t r = 0; r < rows; ++r) {
    double max = -1e300, sum = 0, total = 0;
    for (int64_t j = 0; j < d; ++j) max = std::max(max, static_cast<double>(x[r * d + j]));
    for (int64_t j = 0; j < d; ++j) sum += std::exp(x[r * d + j] - max);
    for (int64_t j = 0; j < d; ++j) {
      const double p = std::exp(x[r * d + j] - max) / sum;
      // x - max is rounded (half an ulp of up to 60, ~2e-6 absolute), and exp
      // turns that into a relative error of the probability.
      EXPECT_NEAR(y[r * d + j], p, 1e-5 * p);
      EXPECT_NEAR(ly[r * d + j], std::log(p), 1e-5 * (1 + std::fabs(std::log(p))));
      total += y[r * d + j];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

// Central differences of a float function in double.
template <class F>
double Derivative(F f, std::vector<float>& x, size_t i, float h) {
  const float saved = x[i];
  x[i] = saved + h;
  const double up = f();
  x[i] = saved - h;
  const double down = f();
  x[i] = saved;
  return (up - down) / (2.0 * h);
}

TEST(KernelReference, CrossEntropyGradientMatchesFiniteDifferences) {
  std::mt19937 rng(kSeed);
  const int64_t rows = 4, classes = 10;
  auto logits = RandomFloats(rng, rows * classes, -3, 3);
  const std::vector<int64_t> labels = {3, 0, 9, 3};
  std::vector<float> grad(rows * classes);
  reference::CrossEntropyBackward(logits.data(), labels.data(), 1.0f, grad.data(), rows, classes);
  auto loss = [&] { return reference::CrossEntropyForward(logits.data(), labels.data(), rows, classes); };
  double exact = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double max = -1e300, sum = 0;
    for (int64_t j = 0; j < classes; ++j) max = std::max(max, static_cast<double>(logits[r * classes + j]));
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(logits[r * classes + j] - max);
    exact += (std::log(sum) + max - logits[r * classes + labels[r]]) / rows;
  }
  EXPECT_NEAR(loss(), exact, 1e-6 * exact);
  for (size_t i = 0; i < logits.size(); ++i) {
    EXPECT_NEAR(grad[i], Derivative(loss, logits, i, 1e-2f), 2e-4) << "logit " << i;
  }
}

TEST(KernelReference, LayerNormMatchesDoubleAndItsGradient) {
  std::mt19937 rng(kSeed);
  const int64_t rows = 3, d = 32;
  auto x = RandomFloats(rng, rows * d, -2, 4);
  const auto gamma = RandomFloats(rng, d), beta = RandomFloats(rng, d), w = RandomFloats(rng, rows * d);
  std::vector<float> y(rows * d), mean(rows), rstd(rows);
  reference::LayerNormForward(x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(), rstd.data(), rows, d);
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mu += x[r * d + j] / static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j) var += (x[r * d + j] - mu) * (x[r * d + j] - mu) / d;
    for (int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(y[r * d + j], (x[r * d + j] - mu) / std::sqrt(var + 1e-5) * gamma[j] + beta[j], 1e-5);
    }
  }
  // Loss = sum(y * w): dy = w.
  std::vector<float> dx(rows * d), dgamma(d), dbeta(d);
  reference::LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), w.data(), dx.data(), dgamma.data(),
                               dbeta.data(), rows, d);
  auto loss = [&] {
    std::vector<float> yy(rows * d), mm(rows), rr(rows);
    reference::LayerNormForward(x.data(), gamma.data(), beta.data(), 1e-5f, yy.data(), mm.data(), rr.data(), rows, d);
    double l = 0;
    for (size_t i = 0; i < yy.size(); ++i) l += static_cast<double>(yy[i]) * w[i];
    return l;
  };
  for (size_t i = 0; i < x.size(); i += 5) EXPECT_NEAR(dx[i], Derivative(loss, x, i, 1e-2f), 2e-2) << i;
  double dbeta0 = 0;
  for (int64_t r = 0; r < rows; ++r) dbeta0 += w[r * d];
  EXPECT_NEAR(dbeta[0], dbeta0, 1e-5);
}

TEST(KernelReference, GeluMatchesTheErfFormulaAndItsGradient) {
  std::vector<float> x = {-5.0f, -2.5f, -1.0f, -0.3f, 0.0f, 0.01f, 0.7f, 1.5f, 3.0f, 6.0f};
  std::vector<float> y(x.size()), dx(x.size()), ones(x.size(), 1.0f);
  reference::GeluForward(x.data(), y.data(), static_cast<int64_t>(x.size()));
  reference::GeluBackward(x.data(), ones.data(), dx.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    EXPECT_NEAR(y[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 2e-6 * (1 + std::fabs(v)));
    const double grad = 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    EXPECT_NEAR(dx[i], grad, 2e-6) << x[i];
  }
}

TEST(KernelReference, AdamMatchesTorchFormulasInDouble) {
  const AdamOptions o{.lr = 0.002, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .decoupled = true};
  float p = 0.5f, g = -0.25f, m = 0.01f, v = 0.002f;
  double pd = p, md = m, vd = v;
  const int64_t step = 7;
  reference::AdamStep(MakeAdamScalars(o, step), &p, &g, &m, &v, 1);
  pd *= 1 - o.lr * o.weight_decay;
  md = o.beta1 * md + (1 - o.beta1) * g;
  vd = o.beta2 * vd + (1 - o.beta2) * g * g;
  const double denom = std::sqrt(vd) / std::sqrt(1 - std::pow(o.beta2, step)) + o.eps;
  pd -= o.lr / (1 - std::pow(o.beta1, step)) * md / denom;
  EXPECT_NEAR(m, md, 1e-7);
  EXPECT_NEAR(v, vd, 1e-9);
  EXPECT_NEAR(p, pd, 1e-6);
  EXPECT_DOUBLE_EQ(PowInt(0.9, 10), 0.9 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9 + 0.0 * 0);
}

TEST(KernelReference, SgdNesterovMatchesTorchFormulas) {
  const SgdScalars s = MakeSgdScalars({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  float p = 1.0f, g = 0.5f, buf = 0.0f;
  reference::SgdStep(s, &p, &g, &buf, 1);  // first step: buf = g + wd p
  EXPECT_FLOAT_EQ(buf, 0.51f);
  EXPECT_FLOAT_EQ(p, 1.0f - 0.1f * (0.51f + 0.9f * 0.51f));
}

TEST(KernelReference, MaxPoolTiesGoToTheFirstMaximum) {
  const std::vector<float> x = {1, 3, 3, 3,  //
                                3, 0, 3, 2};
  std::vector<float> y(2);
  std::vector<uint8_t> at(2);
  reference::MaxPool2x2Forward(x.data(), y.data(), at.data(), 1, 2, 4);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(at[0], 1);  // (0,1) before (1,0)
  EXPECT_EQ(at[1], 0);  // (0,0) of the second window
}

TEST(KernelReference, ConvolutionMatchesTheDirectSum) {
  std::mt19937 rng(kSeed);
  const Conv2dShape s{.batch = 2,
                      .in_channels = 3,
                      .height = 6,
                      .width = 5,
                      .out_channels = 4,
                      .kernel_h = 3,
                      .kernel_w = 3,
                      .pad = 1,
                      .stride = 1};
  const auto x = RandomFloats(rng, 2 * 3 * 6 * 5), w = RandomFloats(rng, 4 * 27), b = RandomFloats(rng, 4);
  std::vector<float> y(2 * 4 * 30);
  reference::Conv2dForward(s, x.data(), w.data(), b.data(), y.data());
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t o = 0; o < 4; ++o) {
      for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 5; ++j) {
          double acc = b[o];
          for (int64_t c = 0; c < 3; ++c) {
            for (int64_t ki = 0; ki < 3; ++ki) {
              for (int64_t kj = 0; kj < 3; ++kj) {
                const int64_t h = i + ki - 1, v = j + kj - 1;
                if (h < 0 || h >= 6 || v < 0 || v >= 5) continue;
                acc += static_cast<double>(w[((o * 3 + c) * 3 + ki) * 3 + kj]) * x[((n * 3 + c) * 6 + h) * 5 + v];
              }
            }
          }
          EXPECT_NEAR(y[((n * 4 + o) * 6 + i) * 5 + j], acc, 1e-5);
        }
      }
    }
  }
}

// The comparison is not vacuous: one ulp in one input moves some output bit.
TEST(KernelReference, OneUlpInOneInputChangesTheOutput) {
  std::mt19937 rng(kSeed);
  const int64_t m = 8, n = 8, k = 64;
  auto a = RandomFloats(rng, m * k);
  const auto b = RandomFloats(rng, k * n);
  GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.a_row_stride = k, g.b = b.data(), g.b_row_stride = n;
  g.c_row_stride = n;
  std::vector<float> before(m * n), after(m * n);
  g.c = before.data();
  reference::Gemm(g);
  a[3 * k + 5] = std::nextafter(a[3 * k + 5], 10.0f);
  g.c = after.data();
  reference::Gemm(g);
  EXPECT_FALSE(SameBits(before, after));

  auto logits = RandomFloats(rng, 64);
  std::vector<float> s1(64), s2(64);
  reference::SoftmaxForward(logits.data(), s1.data(), 1, 64);
  logits[17] = std::nextafter(logits[17], -10.0f);
  reference::SoftmaxForward(logits.data(), s2.data(), 1, 64);
  EXPECT_FALSE(SameBits(s1, s2));
}

}  // namespace
}  // namespace cairn::kernels
