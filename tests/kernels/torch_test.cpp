// The libtorch adapter: autograd through the reproducible kernels gives the
// same bits on every backend and thread count, for whole training steps of
// small MLP, CNN and attention blocks, and agrees with ATen numerically.

#include <gtest/gtest.h>

#include <cmath>
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

// A pre-norm encoder layer and its head, as src/train/models.cpp builds it
// for a repro job: every tensor used once (Fork where it branches), every
// gradient a kernel's. Returns the gradients of all its inputs and weights.
// `aten` computes the same with ATen operators, for the numerical check.
std::vector<torch::Tensor> EncoderGrads(const Exec& exec, bool aten) {
  torch::manual_seed(11);
  const int64_t batch = 3, tokens = 5, d = 8, heads = 2, dh = d / heads;
  auto x = torch::randn({batch * tokens, 4}).requires_grad_();
  auto we = (torch::randn({d, 4}) * 0.3).requires_grad_();
  auto position = (torch::randn({tokens, d}) * 0.1).requires_grad_();
  auto gamma = (torch::ones({d}) + 0.1 * torch::randn({d})).requires_grad_();
  auto beta = (0.1 * torch::randn({d})).requires_grad_();
  auto wqkv = (torch::randn({3 * d, d}) * 0.3).requires_grad_();
  auto wo = (torch::randn({d, d}) * 0.3).requires_grad_();
  auto wh = (torch::randn({3, d}) * 0.3).requires_grad_();
  const auto labels = torch::tensor({0, 2, 1}, torch::kInt64);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  torch::Tensor loss;
  if (aten) {
    auto h = torch::linear(x, we).view({batch, tokens, d}) + position;
    auto n = torch::layer_norm(h, {d}, gamma, beta, 1e-5);
    auto parts = torch::linear(n, wqkv).view({batch, tokens, 3, heads, dh}).permute({2, 0, 3, 1, 4});
    auto p = torch::softmax(torch::matmul(parts[0], parts[1].transpose(-2, -1)) * scale, -1);
    auto o = torch::matmul(p, parts[2]).permute({0, 2, 1, 3}).reshape({batch, tokens, d});
    auto y = torch::gelu(h + torch::linear(o, wo));
    loss = torch::nn::functional::cross_entropy(torch::linear(y.mean(1), wh), labels);
  } else {
    auto h = AddRowBias(exec, Linear(exec, x, we, torch::Tensor()).view({batch, tokens * d}), position)
                 .view({batch * tokens, d});
    auto [skip, branch] = Fork(exec, h);
    auto qkv = SplitHeads(Linear(exec, LayerNorm(exec, branch, gamma, beta, 1e-5), wqkv, torch::Tensor()), batch,
                          tokens, heads);
    auto p = Softmax(exec, Scale(exec, BatchedMatMul(exec, qkv[0], qkv[1], /*transpose_b=*/true), scale));
    auto o = BatchedMatMul(exec, p, qkv[2])
                 .view({batch, heads, tokens, dh})
                 .permute({0, 2, 1, 3})
                 .reshape({batch * tokens, d});
    auto y = Gelu(exec, Add(exec, skip, Linear(exec, o, wo, torch::Tensor())));
    loss = CrossEntropy(exec, Linear(exec, MeanRows(exec, y.view({batch, tokens, d})), wh, torch::Tensor()), labels);
  }
  loss.backward();
  return {x.grad(), we.grad(), position.grad(), gamma.grad(), beta.grad(), wqkv.grad(), wo.grad(), wh.grad()};
}

TEST(KernelsTorch, EncoderLayerGradientsAreBitIdenticalAndMatchAten) {
  const auto reference = EncoderGrads({Backend::kScalar, 1}, /*aten=*/false);
  for (const Exec& e : Execs()) {
    const auto got = EncoderGrads(e, /*aten=*/false);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(SameBits(reference[i], got[i])) << BackendName(e.backend) << " x" << e.threads << " grad " << i;
    }
  }
  const auto aten = EncoderGrads({Backend::kScalar, 1}, /*aten=*/true);
  for (size_t i = 0; i < aten.size(); ++i) {
    EXPECT_TRUE(torch::allclose(reference[i], aten[i], 1e-4, 1e-5))
        << "grad " << i << ": largest difference " << (reference[i] - aten[i]).abs().max().item<float>();
  }
}

TEST(KernelsTorch, GlueOperatorsComputeTheDocumentedValues) {
  const Exec exec{BestCpuBackend(), 2};
  torch::manual_seed(4);
  // Fork: the gradient of x is the sum of its two consumers' gradients.
  auto x = torch::randn({6, 5}).requires_grad_();
  auto [a, b] = Fork(exec, x);
  auto ga = torch::randn({6, 5}), gb = torch::randn({6, 5});
  torch::autograd::backward({a, b}, {ga, gb});
  EXPECT_TRUE(torch::equal(x.grad(), ga + gb));
  // SplitHeads: exactly the permuted slices, and back.
  auto qkv = torch::randn({2 * 3, 3 * 2 * 4}).requires_grad_();
  auto parts = SplitHeads(qkv, /*batch=*/2, /*tokens=*/3, /*heads=*/2);
  auto expected = qkv.detach().view({2, 3, 3, 2, 4}).permute({2, 0, 3, 1, 4});
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(parts[i], expected[i].reshape({4, 3, 4})));
  (parts[0] * 1 + parts[1] * 2 + parts[2] * 3).sum().backward();
  auto grad = qkv.grad().view({2, 3, 3, 2, 4});
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(grad.select(2, i), torch::full({2, 3, 2, 4}, i + 1.0f)));
  // MeanRows: SumRows times float(1 / rows).
  auto t = torch::randn({2, 7, 3});
  auto mean = MeanRows(exec, t);
  const float inverse = static_cast<float>(1.0 / 7.0);
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      float sum = 0.0f;
      for (int64_t r = 0; r < 7; ++r) sum += t[i][r][j].item<float>();
      EXPECT_EQ(mean[i][j].item<float>(), sum * inverse);
    }
  }
  // AddRowBias: the bias gradient is the sum over rows, shaped like the bias.
  auto rows = torch::randn({4, 6}).requires_grad_();
  auto bias = torch::randn({2, 3}).requires_grad_();
  auto dy = torch::randn({4, 6});
  AddRowBias(exec, rows, bias).backward(dy);
  EXPECT_TRUE(torch::equal(rows.grad(), dy));
  EXPECT_TRUE(torch::allclose(bias.grad(), dy.sum(0).view({2, 3}), 1e-6, 1e-6));
  EXPECT_EQ(bias.grad().sizes(), bias.sizes());
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
