// The CUDA twin against the reference, bit for bit. Skipped (with the
// reason) where no CUDA device is present; compiled and linked everywhere
// nvcc is.

#include "kernels/cuda/cuda.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/optim.h"
#include "kernels/reference/reference.h"
#include "test_util.h"

namespace cairn::kernels {
namespace {

using testing::RandomFloats;
using testing::SameBits;

// A device copy of a host vector, freed on destruction.
class DeviceVec {
 public:
  explicit DeviceVec(const std::vector<float>& host) : n_(static_cast<int64_t>(host.size())) {
    Result<float*> p = cuda::Allocate(n_);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return;
    p_ = *p;
    EXPECT_TRUE(cuda::Upload(p_, host.data(), n_).ok());
  }
  explicit DeviceVec(int64_t n) : DeviceVec(std::vector<float>(static_cast<size_t>(n))) {}
  ~DeviceVec() {
    if (p_ != nullptr) {
      EXPECT_TRUE(cuda::Free(p_).ok());
    }
  }
  DeviceVec(const DeviceVec&) = delete;
  DeviceVec& operator=(const DeviceVec&) = delete;
  float* get() const { return p_; }
  std::vector<float> Host() const {
    std::vector<float> h(static_cast<size_t>(n_));
    EXPECT_TRUE(cuda::Download(h.data(), p_, n_).ok());
    return h;
  }

 private:
  int64_t n_;
  float* p_ = nullptr;
};

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status device = cuda::DeviceStatus();
    if (!device.ok()) GTEST_SKIP() << "CUDA twin not run: " << device.message();
  }
  std::mt19937 rng_{99};
};

TEST_F(CudaKernels, Gemm) {
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 257, 13}, {64, 128, 784}}) {
    for (bool tb : {false, true}) {
      const auto a = RandomFloats(rng_, m * k), b = RandomFloats(rng_, k * n), c0 = RandomFloats(rng_, m * n);
      DeviceVec da(a), db(b), dc(c0);
      std::vector<float> expected = c0;
      reference::Gemm(MatMul(m, n, k, a.data(), false, b.data(), tb, expected.data(), /*accumulate=*/true));
      ASSERT_TRUE(cuda::Gemm(MatMul(m, n, k, da.get(), false, db.get(), tb, dc.get(), true)).ok());
      EXPECT_TRUE(SameBits(expected, dc.Host()));
    }
  }
}

TEST_F(CudaKernels, ElementwiseAndOptimizers) {
  const int64_t n = 4099;
  const auto a = RandomFloats(rng_, n, -6, 6), b = RandomFloats(rng_, n, -6, 6);
  DeviceVec da(a), db(b), out(n);
  std::vector<float> e(n);
  reference::GeluForward(a.data(), e.data(), n);
  ASSERT_TRUE(cuda::GeluForward(da.get(), out.get(), n).ok());
  EXPECT_TRUE(SameBits(e, out.Host()));
  reference::GeluBackward(a.data(), b.data(), e.data(), n);
  ASSERT_TRUE(cuda::GeluBackward(da.get(), db.get(), out.get(), n).ok());
  EXPECT_TRUE(SameBits(e, out.Host()));
  reference::ReluForward(a.data(), e.data(), n);
  ASSERT_TRUE(cuda::ReluForward(da.get(), out.get(), n).ok());
  EXPECT_TRUE(SameBits(e, out.Host()));
  reference::Add(a.data(), b.data(), e.data(), n);
  ASSERT_TRUE(cuda::Add(da.get(), db.get(), out.get(), n).ok());
  EXPECT_TRUE(SameBits(e, out.Host()));

  const AdamScalars s = MakeAdamScalars({.lr = 0.003, .beta2 = 0.98, .weight_decay = 0.01, .decoupled = true}, 5);
  auto p = a, m = RandomFloats(rng_, n, -0.1f, 0.1f), v = RandomFloats(rng_, n, 0, 0.01f);
  DeviceVec dp(p), dm(m), dv(v);
  reference::AdamStep(s, p.data(), b.data(), m.data(), v.data(), n);
  ASSERT_TRUE(cuda::AdamStep(s, dp.get(), db.get(), dm.get(), dv.get(), n).ok());
  EXPECT_TRUE(SameBits(p, dp.Host()));
  EXPECT_TRUE(SameBits(m, dm.Host()));
  EXPECT_TRUE(SameBits(v, dv.Host()));
}

TEST_F(CudaKernels, RowsAndReductions) {
  const int64_t rows = 64, d = 257;
  const auto x = RandomFloats(rng_, rows * d, -10, 10), gamma = RandomFloats(rng_, d), beta = RandomFloats(rng_, d);
  DeviceVec dx(x), dgamma(gamma), dbeta(beta), y(rows * d), mean(rows), rstd(rows);
  std::vector<float> ye(rows * d), me(rows), re(rows);
  reference::LayerNormForward(x.data(), gamma.data(), beta.data(), 1e-5f, ye.data(), me.data(), re.data(), rows, d);
  ASSERT_TRUE(
      cuda::LayerNormForward(dx.get(), dgamma.get(), dbeta.get(), 1e-5f, y.get(), mean.get(), rstd.get(), rows, d)
          .ok());
  EXPECT_TRUE(SameBits(ye, y.Host()));
  reference::LogSoftmaxForward(x.data(), ye.data(), rows, d);
  ASSERT_TRUE(cuda::LogSoftmaxForward(dx.get(), y.get(), rows, d).ok());
  EXPECT_TRUE(SameBits(ye, y.Host()));

  std::vector<int64_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = (r * 7) % d;
  Result<int64_t*> dl = cuda::AllocateLabels(rows);
  ASSERT_TRUE(dl.ok());
  ASSERT_TRUE(cuda::UploadLabels(*dl, labels.data(), rows).ok());
  Result<float> loss = cuda::CrossEntropyForward(dx.get(), *dl, rows, d);
  ASSERT_TRUE(loss.ok());
  EXPECT_EQ(testing::BitsOf(*loss), testing::BitsOf(reference::CrossEntropyForward(x.data(), labels.data(), rows, d)));
  EXPECT_TRUE(cuda::Free(*dl).ok());

  Result<float> sum = cuda::Sum(dx.get(), rows * d);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(testing::BitsOf(*sum), testing::BitsOf(reference::Sum(x.data(), rows * d)));
}

TEST_F(CudaKernels, Conv2dAndMaxPool) {
  const Conv2dShape s{.batch = 2,
                      .in_channels = 8,
                      .height = 14,
                      .width = 14,
                      .out_channels = 16,
                      .kernel_h = 3,
                      .kernel_w = 3,
                      .pad = 1,
                      .stride = 1};
  const int64_t xs = 2 * 8 * 14 * 14, ys = 2 * 16 * 14 * 14;
  const auto x = RandomFloats(rng_, xs), w = RandomFloats(rng_, 16 * 72), b = RandomFloats(rng_, 16);
  const auto dy = RandomFloats(rng_, ys);
  DeviceVec dx_in(x), dw_in(w), db_in(b), ddy(dy), y(ys), dx(xs), dw(16 * 72), db(16);
  std::vector<float> ye(ys), dxe(xs), dwe(16 * 72), dbe(16);
  reference::Conv2dForward(s, x.data(), w.data(), b.data(), ye.data());
  ASSERT_TRUE(cuda::Conv2dForward(s, dx_in.get(), dw_in.get(), db_in.get(), y.get()).ok());
  EXPECT_TRUE(SameBits(ye, y.Host()));
  reference::Conv2dBackward(s, x.data(), w.data(), dy.data(), dxe.data(), dwe.data(), dbe.data());
  ASSERT_TRUE(cuda::Conv2dBackward(s, dx_in.get(), dw_in.get(), ddy.get(), dx.get(), dw.get(), db.get()).ok());
  EXPECT_TRUE(SameBits(dxe, dx.Host()));
  EXPECT_TRUE(SameBits(dwe, dw.Host()));
  EXPECT_TRUE(SameBits(dbe, db.Host()));

  const int64_t planes = 32, pooled = planes * 7 * 7;
  std::vector<float> pe(pooled);
  std::vector<uint8_t> ae(pooled), ag(pooled);
  reference::MaxPool2x2Forward(ye.data(), pe.data(), ae.data(), planes, 14, 14);
  DeviceVec pooled_out(pooled);
  Result<uint8_t*> argmax = cuda::AllocateBytes(pooled);
  ASSERT_TRUE(argmax.ok());
  ASSERT_TRUE(cuda::MaxPool2x2Forward(y.get(), pooled_out.get(), *argmax, planes, 14, 14).ok());
  EXPECT_TRUE(SameBits(pe, pooled_out.Host()));
  ASSERT_TRUE(cuda::DownloadBytes(ag.data(), *argmax, pooled).ok());
  EXPECT_EQ(ae, ag);
  EXPECT_TRUE(cuda::Free(*argmax).ok());
}

}  // namespace
}  // namespace cairn::kernels
