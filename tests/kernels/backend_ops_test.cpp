// Every kernel on every CPU backend this machine has, at 1, 2, 3 and 8
// threads, against the single-threaded reference, bit for bit (ggml's
// test-backend-ops). Shapes include awkward sizes (1, 7, 257) and sizes that
// cross SIMD widths, GEMM micro-tiles, k-blocks and thread partitions.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/norm.h"
#include "kernels/optim.h"
#include "kernels/reduce.h"
#include "kernels/reference/reference.h"
#include "test_util.h"

namespace cairn::kernels {
namespace {

using testing::RandomFloats;
using testing::SameBits;

constexpr uint32_t kSeed = 20261201;
// 1, 7, 257: awkward; 65537 and 200003 split over threads (grain 16384).
const int64_t kSizes[] = {1, 7, 16, 257, 4099, 65537, 200003};

class BackendOps : public ::testing::TestWithParam<std::tuple<Backend, int>> {
 protected:
  void SetUp() override {
    exec_ = {std::get<0>(GetParam()), std::get<1>(GetParam())};
    if (!CpuSupports(exec_.backend)) {
      GTEST_SKIP() << "this CPU does not support the " << BackendName(exec_.backend) << " backend";
    }
  }
  Exec exec_;
  std::mt19937 rng_{kSeed};
};

struct GemmCase {
  int64_t m, n, k;
};

// op(A) row stride padded by `pad` so strides differ from the shape.
void CheckGemm(const Exec& exec, std::mt19937& rng, GemmCase c, bool ta, bool tb, bool accumulate, int64_t batch) {
  SCOPED_TRACE(::testing::Message() << "m=" << c.m << " n=" << c.n << " k=" << c.k << " ta=" << ta << " tb=" << tb
                                    << " acc=" << accumulate << " batch=" << batch);
  constexpr int64_t kPad = 3;
  GemmArgs g;
  g.m = c.m;
  g.n = c.n;
  g.k = c.k;
  const int64_t a_rows = ta ? c.k : c.m, a_cols = ta ? c.m : c.k;
  const int64_t b_rows = tb ? c.n : c.k, b_cols = tb ? c.k : c.n;
  const int64_t lda = a_cols + kPad, ldb = b_cols + kPad, ldc = c.n + kPad;
  g.a_row_stride = ta ? 1 : lda;
  g.a_col_stride = ta ? lda : 1;
  g.b_row_stride = tb ? 1 : ldb;
  g.b_col_stride = tb ? ldb : 1;
  g.c_row_stride = ldc;
  g.batch = batch;
  g.a_batch_stride = a_rows * lda;
  g.b_batch_stride = b_rows * ldb;
  g.c_batch_stride = c.m * ldc;
  g.accumulate = accumulate;
  const auto a = RandomFloats(rng, batch * g.a_batch_stride);
  const auto b = RandomFloats(rng, batch * g.b_batch_stride);
  const auto c0 = RandomFloats(rng, batch * g.c_batch_stride);
  g.a = a.data();
  g.b = b.data();
  auto expected = c0, actual = c0;
  g.c = expected.data();
  reference::Gemm(g);
  g.c = actual.data();
  Gemm(exec, g);
  EXPECT_TRUE(SameBits(expected, actual));
}

TEST_P(BackendOps, GemmAllTransposes) {
  const GemmCase cases[] = {{1, 1, 1},    {7, 7, 7},      {1, 257, 7}, {257, 1, 13}, {13, 29, 257},
                            {257, 33, 7}, {64, 128, 300}, {37, 70, 0}, {100, 1, 513}};
  for (const GemmCase& c : cases) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) CheckGemm(exec_, rng_, c, ta, tb, /*accumulate=*/false, /*batch=*/1);
    }
  }
}

// Narrow outputs (n = 1..17, and m = 1..17 for the flipped orientation),
// where the dispatcher may compute C^T or read A in place: every transpose,
// a row count with a partial micro-tile, and k across a k-block.
TEST_P(BackendOps, GemmNarrow) {
  for (int64_t narrow = 1; narrow <= 17; ++narrow) {
    for (int64_t k : {9, 300}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          CheckGemm(exec_, rng_, {130, narrow, k}, ta, tb, /*accumulate=*/narrow % 2 == 0, /*batch=*/1);
          CheckGemm(exec_, rng_, {narrow, 70, k}, ta, tb, /*accumulate=*/false, /*batch=*/1);
        }
      }
    }
  }
}

TEST_P(BackendOps, GemmAccumulateAndBatched) {
  CheckGemm(exec_, rng_, {7, 257, 31}, false, true, /*accumulate=*/true, 1);
  CheckGemm(exec_, rng_, {28, 28, 16}, false, true, false, /*batch=*/4);  // attention q k^T
  CheckGemm(exec_, rng_, {28, 16, 28}, false, false, true, /*batch=*/3);  // attention p v
  CheckGemm(exec_, rng_, {0, 5, 5}, false, false, false, 2);
}

// C written transposed (column stride != 1), as a caller storing C^T would.
TEST_P(BackendOps, GemmStridedOutput) {
  for (GemmCase c : {GemmCase{7, 257, 9}, GemmCase{64, 10, 128}, GemmCase{30, 40, 50}}) {
    SCOPED_TRACE(::testing::Message() << "m=" << c.m << " n=" << c.n << " k=" << c.k);
    const auto a = RandomFloats(rng_, c.m * c.k), b = RandomFloats(rng_, c.k * c.n);
    const auto c0 = RandomFloats(rng_, c.m * c.n);
    GemmArgs g = MatMul(c.m, c.n, c.k, a.data(), false, b.data(), false, nullptr, /*accumulate=*/true);
    g.c_row_stride = 1;
    g.c_col_stride = c.m;
    auto expected = c0, actual = c0;
    g.c = expected.data();
    reference::Gemm(g);
    g.c = actual.data();
    Gemm(exec_, g);
    EXPECT_TRUE(SameBits(expected, actual));
  }
}

TEST_P(BackendOps, GemmLargeSquare) { CheckGemm(exec_, rng_, {300, 290, 520}, false, false, false, 1); }

TEST_P(BackendOps, Linear) {
  for (auto [batch, in, out] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 257, 10}, {64, 784, 128}}) {
    SCOPED_TRACE(::testing::Message() << batch << "x" << in << "->" << out);
    const auto x = RandomFloats(rng_, batch * in), w = RandomFloats(rng_, out * in), bias = RandomFloats(rng_, out);
    const auto dy = RandomFloats(rng_, batch * out);
    std::vector<float> y1(batch * out), y2(batch * out);
    GemmArgs g = MatMul(batch, out, in, x.data(), false, w.data(), true, y1.data(), true);
    for (int64_t r = 0; r < batch; ++r) {
      for (int64_t j = 0; j < out; ++j) y1[r * out + j] = bias[j];
    }
    reference::Gemm(g);
    LinearForward(exec_, x.data(), w.data(), bias.data(), y2.data(), batch, in, out);
    EXPECT_TRUE(SameBits(y1, y2));
    std::vector<float> dx1(batch * in), dw1(out * in), db1(out), dx2(batch * in), dw2(out * in), db2(out);
    reference::Gemm(MatMul(batch, in, out, dy.data(), false, w.data(), false, dx1.data()));
    reference::Gemm(MatMul(out, in, batch, dy.data(), true, x.data(), false, dw1.data()));
    reference::SumRows(dy.data(), db1.data(), batch, out);
    LinearBackward(exec_, x.data(), w.data(), dy.data(), dx2.data(), dw2.data(), db2.data(), batch, in, out);
    EXPECT_TRUE(SameBits(dx1, dx2));
    EXPECT_TRUE(SameBits(dw1, dw2));
    EXPECT_TRUE(SameBits(db1, db2));
  }
}

TEST_P(BackendOps, Elementwise) {
  for (int64_t n : kSizes) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const auto a = RandomFloats(rng_, n, -6, 6), b = RandomFloats(rng_, n, -6, 6);
    std::vector<float> e(n), g(n);
    reference::Add(a.data(), b.data(), e.data(), n);
    Add(exec_, a.data(), b.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::Mul(a.data(), b.data(), e.data(), n);
    Mul(exec_, a.data(), b.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::Scale(a.data(), 0.3f, e.data(), n);
    Scale(exec_, a.data(), 0.3f, g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::ReluForward(a.data(), e.data(), n);
    ReluForward(exec_, a.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::ReluBackward(a.data(), b.data(), e.data(), n);
    ReluBackward(exec_, a.data(), b.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::GeluForward(a.data(), e.data(), n);
    GeluForward(exec_, a.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
    reference::GeluBackward(a.data(), b.data(), e.data(), n);
    GeluBackward(exec_, a.data(), b.data(), g.data(), n);
    EXPECT_TRUE(SameBits(e, g));
  }
}

TEST_P(BackendOps, BiasAndColumnSums) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 257}, {257, 7}, {64, 128}, {3000, 10}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << cols);
    const auto x = RandomFloats(rng_, rows * cols), bias = RandomFloats(rng_, cols);
    auto e = x, g = x;
    reference::AddBiasRows(e.data(), bias.data(), rows, cols);
    AddBiasRows(exec_, g.data(), bias.data(), rows, cols);
    EXPECT_TRUE(SameBits(e, g));
    std::vector<float> se(cols), sg(cols);
    reference::SumRows(x.data(), se.data(), rows, cols);
    SumRows(exec_, x.data(), sg.data(), rows, cols);
    EXPECT_TRUE(SameBits(se, sg));
    // The same buffer as NCHW: batch = rows / 1, channels = 1.. cols, spatial.
    const int64_t channels = cols, batch = 1 + rows % 3, spatial = rows / batch;
    const auto y = RandomFloats(rng_, batch * channels * spatial);
    auto ye = y, yg = y;
    reference::AddBiasChannels(ye.data(), bias.data(), batch, channels, spatial);
    AddBiasChannels(exec_, yg.data(), bias.data(), batch, channels, spatial);
    EXPECT_TRUE(SameBits(ye, yg));
    std::vector<float> de(channels), dg(channels);
    reference::BiasGradChannels(y.data(), de.data(), batch, channels, spatial);
    BiasGradChannels(exec_, y.data(), dg.data(), batch, channels, spatial);
    EXPECT_TRUE(SameBits(de, dg));
  }
}

TEST_P(BackendOps, Reductions) {
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{255}, int64_t{257}, int64_t{4099}, int64_t{1000003}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const auto x = RandomFloats(rng_, n);
    const float e1 = reference::Sum(x.data(), n), g1 = Sum(exec_, x.data(), n);
    EXPECT_EQ(testing::BitsOf(e1), testing::BitsOf(g1)) << e1 << " vs " << g1;
    const float e2 = reference::SumSquares(x.data(), n), g2 = SumSquares(exec_, x.data(), n);
    EXPECT_EQ(testing::BitsOf(e2), testing::BitsOf(g2)) << e2 << " vs " << g2;
  }
}

TEST_P(BackendOps, LayerNorm) {
  for (auto [rows, d] : {std::pair<int64_t, int64_t>{1, 1}, {7, 7}, {3, 257}, {896, 32}, {5, 600}, {3000, 32}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << d);
    const auto x = RandomFloats(rng_, rows * d, -3, 5), gamma = RandomFloats(rng_, d), beta = RandomFloats(rng_, d);
    const auto dy = RandomFloats(rng_, rows * d);
    std::vector<float> ye(rows * d), me(rows), re(rows), yg(rows * d), mg(rows), rg(rows);
    reference::LayerNormForward(x.data(), gamma.data(), beta.data(), 1e-5f, ye.data(), me.data(), re.data(), rows, d);
    LayerNormForward(exec_, x.data(), gamma.data(), beta.data(), 1e-5f, yg.data(), mg.data(), rg.data(), rows, d);
    EXPECT_TRUE(SameBits(ye, yg));
    EXPECT_TRUE(SameBits(me, mg));
    EXPECT_TRUE(SameBits(re, rg));
    std::vector<float> dxe(rows * d), dge(d), dbe(d), dxg(rows * d), dgg(d), dbg(d);
    reference::LayerNormBackward(x.data(), gamma.data(), me.data(), re.data(), dy.data(), dxe.data(), dge.data(),
                                 dbe.data(), rows, d);
    LayerNormBackward(exec_, x.data(), gamma.data(), me.data(), re.data(), dy.data(), dxg.data(), dgg.data(),
                      dbg.data(), rows, d);
    EXPECT_TRUE(SameBits(dxe, dxg));
    EXPECT_TRUE(SameBits(dge, dgg));
    EXPECT_TRUE(SameBits(dbe, dbg));
  }
}

TEST_P(BackendOps, SoftmaxAndLogSoftmax) {
  for (auto [rows, d] : {std::pair<int64_t, int64_t>{1, 1}, {7, 7}, {3, 257}, {64, 28}, {2, 5000}, {300, 257}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << d);
    const auto x = RandomFloats(rng_, rows * d, -20, 20), dy = RandomFloats(rng_, rows * d);
    std::vector<float> e(rows * d), g(rows * d), de(rows * d), dg(rows * d);
    reference::SoftmaxForward(x.data(), e.data(), rows, d);
    SoftmaxForward(exec_, x.data(), g.data(), rows, d);
    EXPECT_TRUE(SameBits(e, g));
    reference::SoftmaxBackward(e.data(), dy.data(), de.data(), rows, d);
    SoftmaxBackward(exec_, e.data(), dy.data(), dg.data(), rows, d);
    EXPECT_TRUE(SameBits(de, dg));
    reference::LogSoftmaxForward(x.data(), e.data(), rows, d);
    LogSoftmaxForward(exec_, x.data(), g.data(), rows, d);
    EXPECT_TRUE(SameBits(e, g));
    reference::LogSoftmaxBackward(e.data(), dy.data(), de.data(), rows, d);
    LogSoftmaxBackward(exec_, e.data(), dy.data(), dg.data(), rows, d);
    EXPECT_TRUE(SameBits(de, dg));
  }
}

TEST_P(BackendOps, CrossEntropy) {
  for (auto [rows, classes] : {std::pair<int64_t, int64_t>{1, 1}, {7, 7}, {64, 10}, {3, 257}, {1000, 10}, {5000, 10}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << classes);
    const auto logits = RandomFloats(rng_, rows * classes, -8, 8);
    std::vector<int64_t> labels(rows);
    std::uniform_int_distribution<int64_t> pick(0, classes - 1);
    for (auto& l : labels) l = pick(rng_);
    const float e = reference::CrossEntropyForward(logits.data(), labels.data(), rows, classes);
    const float g = CrossEntropyForward(exec_, logits.data(), labels.data(), rows, classes);
    EXPECT_EQ(testing::BitsOf(e), testing::BitsOf(g)) << e << " vs " << g;
    std::vector<float> de(rows * classes), dg(rows * classes);
    reference::CrossEntropyBackward(logits.data(), labels.data(), 1.0f, de.data(), rows, classes);
    CrossEntropyBackward(exec_, logits.data(), labels.data(), 1.0f, dg.data(), rows, classes);
    EXPECT_TRUE(SameBits(de, dg));
  }
}

TEST_P(BackendOps, Conv2d) {
  // The CNN example's two layers, and awkward ones (odd sizes, stride 2, 1x1).
  const Conv2dShape shapes[] = {
      {.batch = 2,
       .in_channels = 1,
       .height = 28,
       .width = 28,
       .out_channels = 8,
       .kernel_h = 3,
       .kernel_w = 3,
       .pad = 1,
       .stride = 1},
      {.batch = 3,
       .in_channels = 8,
       .height = 14,
       .width = 14,
       .out_channels = 16,
       .kernel_h = 3,
       .kernel_w = 3,
       .pad = 1,
       .stride = 1},
      {.batch = 1,
       .in_channels = 3,
       .height = 7,
       .width = 9,
       .out_channels = 5,
       .kernel_h = 3,
       .kernel_w = 2,
       .pad = 0,
       .stride = 2},
      {.batch = 2,
       .in_channels = 7,
       .height = 1,
       .width = 1,
       .out_channels = 1,
       .kernel_h = 1,
       .kernel_w = 1,
       .pad = 0,
       .stride = 1},
  };
  for (const Conv2dShape& s : shapes) {
    SCOPED_TRACE(::testing::Message() << "conv " << s.in_channels << "->" << s.out_channels << " " << s.height << "x"
                                      << s.width);
    const int64_t xs = s.batch * s.in_channels * s.height * s.width;
    const int64_t ys = s.batch * s.out_channels * s.ColCols();
    const auto x = RandomFloats(rng_, xs), w = RandomFloats(rng_, s.out_channels * s.ColRows());
    const auto bias = RandomFloats(rng_, s.out_channels), dy = RandomFloats(rng_, ys);
    std::vector<float> ye(ys), yg(ys);
    reference::Conv2dForward(s, x.data(), w.data(), bias.data(), ye.data());
    Conv2dForward(exec_, s, x.data(), w.data(), bias.data(), yg.data());
    EXPECT_TRUE(SameBits(ye, yg));
    std::vector<float> dxe(xs), dwe(w.size()), dbe(s.out_channels), dxg(xs), dwg(w.size()), dbg(s.out_channels);
    reference::Conv2dBackward(s, x.data(), w.data(), dy.data(), dxe.data(), dwe.data(), dbe.data());
    Conv2dBackward(exec_, s, x.data(), w.data(), dy.data(), dxg.data(), dwg.data(), dbg.data());
    EXPECT_TRUE(SameBits(dxe, dxg));
    EXPECT_TRUE(SameBits(dwe, dwg));
    EXPECT_TRUE(SameBits(dbe, dbg));
  }
}

// The convolution runs one im2col over a group of images side by side and
// one GEMM per product; the reference runs one GEMM per image. Same chains,
// so the same bits, for batches of 1 and 7 and every group size (7 = 3+3+1).
TEST_P(BackendOps, Conv2dBatchedIsPerImage) {
  const Conv2dShape layers[] = {
      // The CNN example's layers (configs/jobs/cnn.toml, 32 and 64 channels).
      {.in_channels = 1, .height = 28, .width = 28, .out_channels = 32, .kernel_h = 3, .kernel_w = 3, .pad = 1},
      {.in_channels = 32, .height = 14, .width = 14, .out_channels = 64, .kernel_h = 3, .kernel_w = 3, .pad = 1},
      // Odd sizes, stride 2, no padding.
      {.in_channels = 3, .height = 9, .width = 11, .out_channels = 5, .kernel_h = 3, .kernel_w = 2, .stride = 2},
      // Images big enough that the default groups are 2 images (7 = 2+2+2+1).
      {.in_channels = 1, .height = 300, .width = 300, .out_channels = 1, .kernel_h = 1, .kernel_w = 1},
  };
  for (Conv2dShape s : layers) {
    for (int64_t batch : {1, 7}) {
      s.batch = batch;
      const int64_t xs = s.batch * s.in_channels * s.height * s.width;
      const int64_t ys = s.batch * s.out_channels * s.ColCols();
      const auto x = RandomFloats(rng_, xs), w = RandomFloats(rng_, s.out_channels * s.ColRows());
      const auto bias = RandomFloats(rng_, s.out_channels), dy = RandomFloats(rng_, ys);
      std::vector<float> ye(ys), ye_nobias(ys), dxe(xs), dwe(w.size()), dbe(s.out_channels);
      reference::Conv2dForward(s, x.data(), w.data(), bias.data(), ye.data());
      reference::Conv2dForward(s, x.data(), w.data(), nullptr, ye_nobias.data());
      reference::Conv2dBackward(s, x.data(), w.data(), dy.data(), dxe.data(), dwe.data(), dbe.data());
      const int64_t default_group = ConvImagesPerGroup(s);
      EXPECT_TRUE(default_group >= 1 && default_group <= batch);
      if (batch == 7 && s.height == 300) {
        EXPECT_EQ(default_group, 2);
      }
      for (int64_t group : {int64_t{1}, int64_t{3}, batch, default_group}) {
        SCOPED_TRACE(::testing::Message() << "conv " << s.in_channels << "->" << s.out_channels << " " << s.height
                                          << "x" << s.width << " batch " << batch << " group " << group);
        std::vector<float> y(ys), dx(xs), dw(w.size()), db(s.out_channels);
        Conv2dForwardGrouped(exec_, s, x.data(), w.data(), bias.data(), y.data(), group);
        EXPECT_TRUE(SameBits(ye, y));
        Conv2dForwardGrouped(exec_, s, x.data(), w.data(), nullptr, y.data(), group);
        EXPECT_TRUE(SameBits(ye_nobias, y));
        Conv2dBackwardGrouped(exec_, s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), group);
        EXPECT_TRUE(SameBits(dxe, dx));
        EXPECT_TRUE(SameBits(dwe, dw));
        EXPECT_TRUE(SameBits(dbe, db));
        std::vector<float> dw_only(w.size());
        Conv2dBackwardGrouped(exec_, s, x.data(), w.data(), dy.data(), nullptr, dw_only.data(), nullptr, group);
        EXPECT_TRUE(SameBits(dwe, dw_only));
      }
    }
  }
}

TEST_P(BackendOps, MaxPool) {
  for (auto [planes, h, w] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 2, 2}, {3, 7, 7}, {64, 28, 28}, {5, 1, 9}, {256, 14, 14}}) {
    SCOPED_TRACE(::testing::Message() << planes << "x" << h << "x" << w);
    auto x = RandomFloats(rng_, planes * h * w);
    for (size_t i = 0; i < x.size(); i += 5) x[i] = 0.5f;  // ties
    const int64_t ys = planes * (h / 2) * (w / 2);
    std::vector<float> ye(ys), yg(ys);
    std::vector<uint8_t> ae(ys), ag(ys);
    reference::MaxPool2x2Forward(x.data(), ye.data(), ae.data(), planes, h, w);
    MaxPool2x2Forward(exec_, x.data(), yg.data(), ag.data(), planes, h, w);
    EXPECT_TRUE(SameBits(ye, yg));
    EXPECT_EQ(ae, ag);
    // NaNs (the last one in a window wins), signed-zero ties, infinities.
    auto special = x;
    for (size_t i = 0; i < special.size(); ++i) {
      if (i % 11 == 3 || i % 17 == 8) special[i] = __builtin_nanf("");
      if (i % 7 == 1) special[i] = -0.0f;
      if (i % 7 == 2) special[i] = 0.0f;
      if (i % 13 == 4) special[i] = i % 2 == 0 ? __builtin_inff() : -__builtin_inff();
    }
    reference::MaxPool2x2Forward(special.data(), ye.data(), ae.data(), planes, h, w);
    MaxPool2x2Forward(exec_, special.data(), yg.data(), ag.data(), planes, h, w);
    EXPECT_TRUE(SameBits(ye, yg));
    EXPECT_EQ(ae, ag);
    const auto dy = RandomFloats(rng_, ys);
    std::vector<float> dxe(x.size()), dxg(x.size());
    reference::MaxPool2x2Backward(dy.data(), ae.data(), dxe.data(), planes, h, w);
    MaxPool2x2Backward(exec_, dy.data(), ag.data(), dxg.data(), planes, h, w);
    EXPECT_TRUE(SameBits(dxe, dxg));
  }
}

TEST_P(BackendOps, Optimizers) {
  for (int64_t n : kSizes) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const auto p0 = RandomFloats(rng_, n), g0 = RandomFloats(rng_, n), m0 = RandomFloats(rng_, n, -0.1f, 0.1f);
    const auto v0 = RandomFloats(rng_, n, 0.0f, 0.01f);
    for (bool nesterov : {false, true}) {
      const SgdScalars s = MakeSgdScalars({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = nesterov});
      auto pe = p0, be = m0, pg = p0, bg = m0;
      reference::SgdStep(s, pe.data(), g0.data(), be.data(), n);
      SgdStep(exec_, s, pg.data(), g0.data(), bg.data(), n);
      EXPECT_TRUE(SameBits(pe, pg));
      EXPECT_TRUE(SameBits(be, bg));
    }
    const SgdScalars plain = MakeSgdScalars({.lr = 0.1});
    auto pe = p0, pg = p0;
    reference::SgdStep(plain, pe.data(), g0.data(), nullptr, n);
    SgdStep(exec_, plain, pg.data(), g0.data(), nullptr, n);
    EXPECT_TRUE(SameBits(pe, pg));
    for (bool decoupled : {false, true}) {
      for (int64_t step : {1, 2, 300}) {
        const AdamScalars s = MakeAdamScalars(
            {.lr = 0.003, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-8, .weight_decay = 0.01, .decoupled = decoupled},
            step);
        auto pa = p0, ma = m0, va = v0, pb = p0, mb = m0, vb = v0;
        reference::AdamStep(s, pa.data(), g0.data(), ma.data(), va.data(), n);
        AdamStep(exec_, s, pb.data(), g0.data(), mb.data(), vb.data(), n);
        EXPECT_TRUE(SameBits(pa, pb));
        EXPECT_TRUE(SameBits(ma, mb));
        EXPECT_TRUE(SameBits(va, vb));
      }
    }
  }
}

// Special values go through the same formulas: infinities, zeros of both
// signs, denormals and huge magnitudes (NaN payloads are not compared).
TEST_P(BackendOps, SpecialValues) {
  std::vector<float> x = {0.0f,   -0.0f, 1e-40f, -1e-40f, 1e-45f,           3e38f,
                          -3e38f, 88.7f, 88.73f, -86.4f,  -86.6f,           -100.0f,
                          100.0f, 4.0f,  -4.0f,  3.99f,   __builtin_inff(), -__builtin_inff(),
                          1.0f,   -1.0f};
  while (x.size() % 37 != 0) x.push_back(static_cast<float>(x.size()) * -0.37f);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> e(n), g(n);
  reference::GeluForward(x.data(), e.data(), n);
  GeluForward(exec_, x.data(), g.data(), n);
  EXPECT_TRUE(SameBits(e, g));
  reference::ReluForward(x.data(), e.data(), n);
  ReluForward(exec_, x.data(), g.data(), n);
  EXPECT_TRUE(SameBits(e, g));
  reference::SoftmaxForward(x.data() + 7, e.data(), 1, 9);  // finite, huge and tiny logits
  SoftmaxForward(exec_, x.data() + 7, g.data(), 1, 9);
  EXPECT_TRUE(SameBits(e, g));
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<Backend, int>>& info) {
  return std::string(BackendName(std::get<0>(info.param))) + "_threads" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendOps,
                         ::testing::Combine(::testing::Values(Backend::kScalar, Backend::kAvx2, Backend::kAvx512),
                                            ::testing::Values(1, 2, 3, 8)),
                         ParamName);

}  // namespace
}  // namespace cairn::kernels
