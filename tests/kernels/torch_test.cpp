// The libtorch adapter: autograd through the reproducible kernels gives the
// same bits on every backend and thread count, for whole training steps of
// small MLP, CNN and attention blocks, and agrees with ATen numerically.

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/torch/autograd.h"

namespace cairn::kernels::autograd {
namespace {

std::vector<Exec> Execs() {
  std::vector<Exec> execs = {{Backend::kScalar, 1}};
  for (Backend b : {Backend::kAvx2, Backend::kAvx512}) {
    if (CpuSupports(b)) execs.push_back({b, 2}), execs.push_back({b, 3});
  }
  return execs;
}

bool SameBits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), a.numel() * 4) == 0;
}

// Parameters after `steps` SGD steps of a 2-layer MLP on fixed data.
std::vector<torch::Tensor> TrainMlp(const Exec& exec, int steps) {
  torch::manual_seed(5);
  auto w1 = (torch::randn({32, 784}) * 0.05).requires_grad_();
  auto b1 = torch::zeros({32}).requires_grad_();
  auto w2 = (torch::randn({10, 32}) * 0.1).requires_grad_();
  auto b2 = torch::zeros({10}).requires_grad_();
  const auto x = torch::rand({64, 784});
  const auto labels = torch::randint(0, 10, {64}, torch::kInt64);
  std::vector<torch::Tensor> params = {w1, b1, w2, b2}, buffers;
  for (auto& p : params) buffers.push_back(torch::zeros_like(p));
  const SgdScalars s = MakeSgdScalars({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
  for (int step = 0; step < steps; ++step) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    auto h = Relu(exec, Linear(exec, x, w1, b1));
    auto loss = CrossEntropy(exec, Linear(exec, h, w2, b2), labels);
    loss.backward();
    for (size_t i = 0; i < params.size(); ++i) SgdStep(exec, s, params[i], buffers[i]);
  }
  std::vector<torch::Tensor> out;
  for (auto& p : params) out.push_back(p.detach().clone());
  return out;
}

TEST(KernelsTorch, MlpTrainingIsBitIdenticalAcrossBackendsAndThreads) {
  const auto reference = TrainMlp({Backend::kScalar, 1}, 5);
  for (const Exec& e : Execs()) {
    const auto got = TrainMlp(e, 5);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(SameBits(reference[i], got[i])) << BackendName(e.backend) << " x" << e.threads << " param " << i;
    }
  }
}

// Gradients of a conv block and an attention block.
std::vector<torch::Tensor> CnnAndAttentionGrads(const Exec& exec) {
  torch::manual_seed(9);
  auto x = torch::randn({2, 1, 8, 8}).requires_grad_();
  auto cw = (torch::randn({4, 1, 3, 3}) * 0.3).requires_grad_();
  auto cb = torch::randn({4}).requires_grad_();
  auto hw = (torch::randn({5, 64}) * 0.1).requires_grad_();
  auto y = MaxPool2x2(exec, Relu(exec, Conv2d(exec, x, cw, cb, /*pad=*/1, /*stride=*/1)));
  auto logits = Linear(exec, y.reshape({2, 64}), hw, torch::Tensor());
  auto loss = CrossEntropy(exec, logits, torch::tensor({1, 3}, torch::kInt64));

  auto t = torch::randn({3, 7, 16}).requires_grad_();
  auto g = torch::ones({16}).requires_grad_();
  auto be = torch::zeros({16}).requires_grad_();
  auto n = LayerNorm(exec, t, g, be, 1e-5);
  auto p = Softmax(exec, BatchedMatMul(exec, n, n.transpose(1, 2).contiguous()));
  auto o = Gelu(exec, BatchedMatMul(exec, p, n));
  auto total = loss + (o * o).sum();  // ATen sum: deterministic here (one thread, fixed size)
  total.backward();
  return {x.grad(), cw.grad(), cb.grad(), hw.grad(), t.grad(), g.grad(), be.grad()};
}

TEST(KernelsTorch, ConvAndAttentionGradientsAreBitIdentical) {
  torch::set_num_threads(1);
  const auto reference = CnnAndAttentionGrads({Backend::kScalar, 1});
  for (const Exec& e : Execs()) {
    const auto got = CnnAndAttentionGrads(e);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(SameBits(reference[i], got[i])) << BackendName(e.backend) << " x" << e.threads << " grad " << i;
    }
  }
}

TEST(KernelsTorch, AgreesWithAtenNumerically) {
  torch::manual_seed(3);
  const Exec exec{BestCpuBackend(), 2};
  auto x = torch::randn({16, 40}), w = torch::randn({12, 40}), b = torch::randn({12});
  EXPECT_TRUE(torch::allclose(Linear(exec, x, w, b), torch::linear(x, w, b), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(Gelu(exec, x), torch::gelu(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(Softmax(exec, x), torch::softmax(x, -1), 1e-5, 1e-7));
  auto img = torch::randn({2, 3, 9, 9}), cw = torch::randn({4, 3, 3, 3});
  EXPECT_TRUE(torch::allclose(Conv2d(exec, img, cw, torch::Tensor(), 1, 1),
                              torch::conv2d(img, cw, {}, /*stride=*/1, /*padding=*/1), 1e-4, 1e-4));
  auto labels = torch::randint(0, 12, {16}, torch::kInt64);
  auto logits = torch::randn({16, 12});
  EXPECT_NEAR(CrossEntropy(exec, logits, labels).item<float>(),
              torch::nn::functional::cross_entropy(logits, labels).item<float>(), 1e-5);
}

}  // namespace
}  // namespace cairn::kernels::autograd
