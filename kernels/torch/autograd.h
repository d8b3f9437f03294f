// A thin libtorch adapter over the reproducible kernels: torch autograd
// Functions whose forward and backward are the kernels of cairn_kernels, so a
// libtorch model can train with bit-reproducible operators. Separate library
// (cairn_kernels_torch) so that the core stays torch-free.
//
// Tensors must be CPU float32 (labels int64), contiguous; these are
// programmer errors (CAIRN_ASSERT). Only the operators here are
// reproducible: anything else in a graph (ATen reductions such as mean or the
// backward of a broadcast add) must also come from cairn_kernels for a whole
// training step to be. So must the autograd engine's own arithmetic: it adds
// up the gradients of a tensor that feeds two consumers, so a graph that is
// reproducible by construction uses every tensor once and splits it with
// Fork where it must branch (src/train/models.cpp's repro models do).
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
// a [batch, m, k] x b [batch, k, n] -> [batch, m, n]; with transpose_b, b is
// stored [batch, n, k] and the product is a * b^T (attention's q k^T).
torch::Tensor BatchedMatMul(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b, bool transpose_b = false);
// Mean cross-entropy of logits [rows, classes] against labels [rows] (int64).
torch::Tensor CrossEntropy(const Exec& exec, const torch::Tensor& logits, const torch::Tensor& labels);

// Two handles on x for two consumers: its backward adds their gradients with
// kernels::Add (one addition per element), where the autograd engine would
// otherwise add them with ATen.
std::pair<torch::Tensor, torch::Tensor> Fork(const Exec& exec, const torch::Tensor& x);
// a + b, same shapes (a residual connection). Backward: dy to both.
torch::Tensor Add(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b);
// x * s, with s rounded to float once. Backward: dy * s.
torch::Tensor Scale(const Exec& exec, const torch::Tensor& x, double s);
// x [rows, cols] + bias broadcast over the rows (bias has cols elements, any
// shape: learned positions [tokens, d] over x [batch, tokens * d]).
// Backward: dbias = SumRows(dy) (rows in increasing order), dx = dy.
torch::Tensor AddRowBias(const Exec& exec, const torch::Tensor& x, const torch::Tensor& bias);
// x [batch, rows, cols] -> [batch, cols]: SumRows of each item, then Scale by
// float(1 / rows) (a mean over tokens). Backward: dx[b, r, :] = dy[b, :] * float(1 / rows).
torch::Tensor MeanRows(const Exec& exec, const torch::Tensor& x);
// qkv [batch * tokens, 3 * heads * dh] (a fused projection: q, k, v, each
// heads x dh) -> q, k, v, each [batch * heads, tokens, dh] contiguous. Pure
// data movement, forward and backward (no arithmetic, so no rounding).
std::vector<torch::Tensor> SplitHeads(const torch::Tensor& qkv, int64_t batch, int64_t tokens, int64_t heads);

// In-place optimizer updates of a parameter from its .grad().
void SgdStep(const Exec& exec, const SgdScalars& s, torch::Tensor& param, torch::Tensor& momentum_buf);
void AdamStep(const Exec& exec, const AdamScalars& s, torch::Tensor& param, torch::Tensor& m, torch::Tensor& v);

}  // namespace cairn::kernels::autograd
