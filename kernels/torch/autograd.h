// A thin libtorch adapter over the reproducible kernels: torch autograd
// Functions whose forward and backward are the kernels of cairn_kernels, so a
// libtorch model can train with bit-reproducible operators. Separate library
// (cairn_kernels_torch) so that the core stays torch-free.
//
// Tensors must be CPU float32 (labels int64), contiguous; these are
// programmer errors (CAIRN_ASSERT). Only the operators here are
// reproducible: anything else in a graph (ATen reductions such as mean or the
// backward of a broadcast add) must also come from cairn_kernels for a whole
// training step to be.
#pragma once

#include <torch/torch.h>

#include "kernels/backend.h"
#include "kernels/optim.h"

namespace cairn::kernels::autograd {

// x [batch, in], weight [out, in], bias [out] (may be undefined).
torch::Tensor Linear(const Exec& exec, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);
// x [N, C, H, W], weight [O, C, kh, kw], bias [O] (may be undefined).
torch::Tensor Conv2d(const Exec& exec, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     int64_t pad, int64_t stride);
torch::Tensor Relu(const Exec& exec, const torch::Tensor& x);
torch::Tensor Gelu(const Exec& exec, const torch::Tensor& x);
// x [N, C, H, W] -> [N, C, H/2, W/2].
torch::Tensor MaxPool2x2(const Exec& exec, const torch::Tensor& x);
// Over the last dimension.
torch::Tensor LayerNorm(const Exec& exec, const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                        double eps);
torch::Tensor Softmax(const Exec& exec, const torch::Tensor& x);
// a [batch, m, k] x b [batch, k, n] -> [batch, m, n].
torch::Tensor BatchedMatMul(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b);
// Mean cross-entropy of logits [rows, classes] against labels [rows] (int64).
torch::Tensor CrossEntropy(const Exec& exec, const torch::Tensor& logits, const torch::Tensor& labels);

// In-place optimizer updates of a parameter from its .grad().
void SgdStep(const Exec& exec, const SgdScalars& s, torch::Tensor& param, torch::Tensor& momentum_buf);
void AdamStep(const Exec& exec, const AdamScalars& s, torch::Tensor& param, torch::Tensor& m, torch::Tensor& v);

}  // namespace cairn::kernels::autograd
