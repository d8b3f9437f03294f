#include "kernels/torch/autograd.h"

#include "cairn/assert.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/norm.h"

namespace cairn::kernels::autograd {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

void CheckFloat(const torch::Tensor& t) {
  CAIRN_ASSERT(t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous());
}

// An Exec travels through the autograd context as two ints.
void SaveExec(AutogradContext* ctx, const Exec& exec) {
  ctx->saved_data["backend"] = static_cast<int64_t>(exec.backend);
  ctx->saved_data["threads"] = static_cast<int64_t>(exec.threads);
}
Exec LoadExec(AutogradContext* ctx) {
  return {static_cast<Backend>(ctx->saved_data["backend"].toInt()),
          static_cast<int>(ctx->saved_data["threads"].toInt())};
}

float* F(torch::Tensor& t) { return t.data_ptr<float>(); }
const float* F(const torch::Tensor& t) { return t.data_ptr<float>(); }

struct LinearFn : torch::autograd::Function<LinearFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    CheckFloat(w);
    const int64_t batch = x.size(0), in = x.size(1), out = w.size(0);
    CAIRN_ASSERT(w.size(1) == in);
    torch::Tensor y = torch::empty({batch, out}, x.options());
    const bool has_bias = b.numel() > 0;
    CAIRN_ASSERT(!has_bias || (b.is_contiguous() && b.numel() == out));
    LinearForward(exec, F(x), F(w), has_bias ? F(b) : nullptr, F(y), batch, in, out);
    ctx->save_for_backward({x, w});
    ctx->saved_data["has_bias"] = has_bias;
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Exec exec = LoadExec(ctx);
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const torch::Tensor dy = grads[0].contiguous();
    const int64_t batch = x.size(0), in = x.size(1), out = w.size(0);
    // A first layer's input (the batch) needs no gradient: skip that GEMM.
    torch::Tensor dx = ctx->needs_input_grad(0) ? torch::empty_like(x) : torch::Tensor();
    torch::Tensor dw = torch::empty_like(w);
    torch::Tensor db = ctx->saved_data["has_bias"].toBool() ? torch::empty({out}, x.options()) : torch::Tensor();
    LinearBackward(exec, F(x), F(w), F(dy), dx.defined() ? F(dx) : nullptr, F(dw), db.defined() ? F(db) : nullptr,
                   batch, in, out);
    return {dx, dw, db, torch::Tensor(), torch::Tensor()};
  }
};

struct Conv2dFn : torch::autograd::Function<Conv2dFn> {
  static Conv2dShape Shape(const torch::Tensor& x, const torch::Tensor& w, int64_t pad, int64_t stride) {
    return {.batch = x.size(0),
            .in_channels = x.size(1),
            .height = x.size(2),
            .width = x.size(3),
            .out_channels = w.size(0),
            .kernel_h = w.size(2),
            .kernel_w = w.size(3),
            .pad = pad,
            .stride = stride};
  }
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, int64_t pad, int64_t stride, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    CheckFloat(w);
    const Conv2dShape s = Shape(x, w, pad, stride);
    CAIRN_ASSERT(w.size(1) == s.in_channels);
    torch::Tensor y = torch::empty({s.batch, s.out_channels, s.OutHeight(), s.OutWidth()}, x.options());
    const bool has_bias = b.numel() > 0;
    CAIRN_ASSERT(!has_bias || (b.is_contiguous() && b.numel() == s.out_channels));
    Conv2dForward(exec, s, F(x), F(w), has_bias ? F(b) : nullptr, F(y));
    ctx->save_for_backward({x, w});
    ctx->saved_data["has_bias"] = has_bias;
    ctx->saved_data["pad"] = pad;
    ctx->saved_data["stride"] = stride;
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Exec exec = LoadExec(ctx);
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const Conv2dShape s = Shape(x, w, ctx->saved_data["pad"].toInt(), ctx->saved_data["stride"].toInt());
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx = ctx->needs_input_grad(0) ? torch::empty_like(x) : torch::Tensor();
    torch::Tensor dw = torch::empty_like(w);
    torch::Tensor db =
        ctx->saved_data["has_bias"].toBool() ? torch::empty({s.out_channels}, x.options()) : torch::Tensor();
    Conv2dBackward(exec, s, F(x), F(w), F(dy), dx.defined() ? F(dx) : nullptr, F(dw), db.defined() ? F(db) : nullptr);
    return {dx, dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct ReluFn : torch::autograd::Function<ReluFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    torch::Tensor y = torch::empty_like(x);
    ReluForward(exec, F(x), F(y), x.numel());
    ctx->save_for_backward({y});
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor y = ctx->get_saved_variables()[0];
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx = torch::empty_like(y);
    ReluBackward(LoadExec(ctx), F(y), F(dy), F(dx), y.numel());
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

struct GeluFn : torch::autograd::Function<GeluFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    torch::Tensor y = torch::empty_like(x);
    GeluForward(exec, F(x), F(y), x.numel());
    ctx->save_for_backward({x});
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx = torch::empty_like(x);
    GeluBackward(LoadExec(ctx), F(x), F(dy), F(dx), x.numel());
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

struct MaxPoolFn : torch::autograd::Function<MaxPoolFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    torch::Tensor y = torch::empty({n, c, h / 2, w / 2}, x.options());
    torch::Tensor argmax = torch::empty({n, c, h / 2, w / 2}, x.options().dtype(torch::kUInt8));
    MaxPool2x2Forward(exec, F(x), F(y), argmax.data_ptr<uint8_t>(), n * c, h, w);
    ctx->save_for_backward({argmax});
    ctx->saved_data["shape"] = x.sizes().vec();
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor argmax = ctx->get_saved_variables()[0];
    const std::vector<int64_t> shape = ctx->saved_data["shape"].toIntVector();
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx = torch::empty(shape, dy.options());
    MaxPool2x2Backward(LoadExec(ctx), F(dy), argmax.data_ptr<uint8_t>(), F(dx), shape[0] * shape[1], shape[2],
                       shape[3]);
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

struct LayerNormFn : torch::autograd::Function<LayerNormFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& gamma,
                               const torch::Tensor& beta, double eps, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    CheckFloat(gamma);
    CheckFloat(beta);
    const int64_t d = x.size(-1), rows = x.numel() / d;
    torch::Tensor y = torch::empty_like(x), mean = torch::empty({rows}, x.options()),
                  rstd = torch::empty({rows}, x.options());
    LayerNormForward(exec, F(x), F(gamma), F(beta), static_cast<float>(eps), F(y), F(mean), F(rstd), rows, d);
    ctx->save_for_backward({x, gamma, mean, rstd});
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &gamma = saved[1], &mean = saved[2], &rstd = saved[3];
    const torch::Tensor dy = grads[0].contiguous();
    const int64_t d = x.size(-1), rows = x.numel() / d;
    torch::Tensor dx = torch::empty_like(x), dgamma = torch::empty_like(gamma), dbeta = torch::empty_like(gamma);
    LayerNormBackward(LoadExec(ctx), F(x), F(gamma), F(mean), F(rstd), F(dy), F(dx), F(dgamma), F(dbeta), rows, d);
    return {dx, dgamma, dbeta, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct SoftmaxFn : torch::autograd::Function<SoftmaxFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    const int64_t d = x.size(-1), rows = x.numel() / d;
    torch::Tensor y = torch::empty_like(x);
    SoftmaxForward(exec, F(x), F(y), rows, d);
    ctx->save_for_backward({y});
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor y = ctx->get_saved_variables()[0];
    const torch::Tensor dy = grads[0].contiguous();
    const int64_t d = y.size(-1), rows = y.numel() / d;
    torch::Tensor dx = torch::empty_like(y);
    SoftmaxBackward(LoadExec(ctx), F(y), F(dy), F(dx), rows, d);
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

// C[t] = A[t] * B[t] for contiguous [batch, rows, cols] tensors, with
// optional transposes of the stored matrices.
void Batched(const Exec& exec, const torch::Tensor& a, bool ta, const torch::Tensor& b, bool tb, torch::Tensor& c) {
  const int64_t batch = c.size(0), m = c.size(1), n = c.size(2), k = ta ? a.size(1) : a.size(2);
  GemmArgs g = MatMul(m, n, k, F(a), ta, F(b), tb, F(c));
  g.batch = batch;
  g.a_batch_stride = m * k;
  g.b_batch_stride = k * n;
  g.c_batch_stride = m * n;
  Gemm(exec, g);
}

struct BatchedMatMulFn : torch::autograd::Function<BatchedMatMulFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b, bool transpose_b,
                               int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(a);
    CheckFloat(b);
    const int64_t k = transpose_b ? b.size(2) : b.size(1), n = transpose_b ? b.size(1) : b.size(2);
    CAIRN_ASSERT(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == k);
    torch::Tensor c = torch::empty({a.size(0), a.size(1), n}, a.options());
    Batched(exec, a, false, b, transpose_b, c);
    ctx->save_for_backward({a, b});
    ctx->saved_data["transpose_b"] = transpose_b;
    SaveExec(ctx, exec);
    return c;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Exec exec = LoadExec(ctx);
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &a = saved[0], &b = saved[1];
    const torch::Tensor dc = grads[0].contiguous();
    torch::Tensor da = torch::empty_like(a), db = torch::empty_like(b);
    if (ctx->saved_data["transpose_b"].toBool()) {
      Batched(exec, dc, false, b, false, da);        // C = A B^T: dA = dC B
      Batched(exec, dc, /*ta=*/true, a, false, db);  // dB = dC^T A
    } else {
      Batched(exec, dc, false, b, /*tb=*/true, da);  // dA = dC B^T
      Batched(exec, a, /*ta=*/true, dc, false, db);  // dB = A^T dC
    }
    return {da, db, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct ForkFn : torch::autograd::Function<ForkFn> {
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    CheckFloat(x);
    SaveExec(ctx, {static_cast<Backend>(backend), static_cast<int>(threads)});
    // An input returned unchanged becomes a new view with this node as its
    // gradient function (custom_function.cpp), once per output.
    return {x, x};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    torch::Tensor dx;
    if (!grads[0].defined() || !grads[1].defined()) {
      dx = grads[0].defined() ? grads[0] : grads[1];
    } else {
      const torch::Tensor a = grads[0].contiguous(), b = grads[1].contiguous();
      dx = torch::empty_like(a);
      kernels::Add(LoadExec(ctx), F(a), F(b), F(dx), a.numel());
    }
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

struct AddFn : torch::autograd::Function<AddFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b, int64_t backend,
                               int64_t threads) {
    CheckFloat(a);
    CheckFloat(b);
    CAIRN_ASSERT(a.sizes() == b.sizes());
    (void)ctx;
    torch::Tensor y = torch::empty_like(a);
    kernels::Add({static_cast<Backend>(backend), static_cast<int>(threads)}, F(a), F(b), F(y), a.numel());
    return y;
  }
  static tensor_list backward(AutogradContext*, tensor_list grads) {
    return {grads[0], grads[0], torch::Tensor(), torch::Tensor()};
  }
};

struct ScaleFn : torch::autograd::Function<ScaleFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double s, int64_t backend,
                               int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    torch::Tensor y = torch::empty_like(x);
    kernels::Scale(exec, F(x), static_cast<float>(s), F(y), x.numel());
    ctx->saved_data["s"] = s;
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx = torch::empty_like(dy);
    kernels::Scale(LoadExec(ctx), F(dy), static_cast<float>(ctx->saved_data["s"].toDouble()), F(dx), dy.numel());
    return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct AddRowBiasFn : torch::autograd::Function<AddRowBiasFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& bias, int64_t backend,
                               int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    CheckFloat(bias);
    CAIRN_ASSERT(x.dim() == 2 && bias.numel() == x.size(1));
    torch::Tensor y = x.clone();  // A copy: exact.
    AddBiasRows(exec, F(y), F(bias), x.size(0), x.size(1));
    ctx->saved_data["bias_shape"] = bias.sizes().vec();
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dbias = torch::empty(ctx->saved_data["bias_shape"].toIntVector(), dy.options());
    SumRows(LoadExec(ctx), F(dy), F(dbias), dy.size(0), dy.size(1));
    return {dy, dbias, torch::Tensor(), torch::Tensor()};
  }
};

// The float nearest 1/rows: what MeanRows multiplies by.
float Reciprocal(int64_t rows) { return static_cast<float>(1.0 / static_cast<double>(rows)); }

struct MeanRowsFn : torch::autograd::Function<MeanRowsFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(x);
    CAIRN_ASSERT(x.dim() == 3);
    const int64_t batch = x.size(0), rows = x.size(1), cols = x.size(2);
    torch::Tensor sums = torch::empty({batch, cols}, x.options());
    for (int64_t b = 0; b < batch; ++b) SumRows(exec, F(x) + b * rows * cols, F(sums) + b * cols, rows, cols);
    torch::Tensor y = torch::empty_like(sums);
    kernels::Scale(exec, F(sums), Reciprocal(rows), F(y), y.numel());
    ctx->saved_data["rows"] = rows;
    SaveExec(ctx, exec);
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor scaled = torch::empty_like(dy);
    kernels::Scale(LoadExec(ctx), F(dy), Reciprocal(rows), F(scaled), dy.numel());
    // Broadcast over the rows: copies of one product each.
    torch::Tensor dx = scaled.unsqueeze(1).expand({dy.size(0), rows, dy.size(1)}).contiguous();
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

// [batch * tokens, 3 * heads * dh] <-> three [batch * heads, tokens, dh].
struct SplitHeadsFn : torch::autograd::Function<SplitHeadsFn> {
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& qkv, int64_t batch, int64_t tokens,
                             int64_t heads) {
    CheckFloat(qkv);
    CAIRN_ASSERT(qkv.dim() == 2 && qkv.size(0) == batch * tokens && qkv.size(1) % (3 * heads) == 0);
    const int64_t dh = qkv.size(1) / (3 * heads);
    const torch::Tensor parts = qkv.view({batch, tokens, 3, heads, dh}).permute({2, 0, 3, 1, 4});
    ctx->saved_data["shape"] = std::vector<int64_t>{batch, tokens, heads, dh};
    tensor_list out;
    for (int64_t i = 0; i < 3; ++i) out.push_back(parts[i].reshape({batch * heads, tokens, dh}).contiguous());
    return out;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const std::vector<int64_t> shape = ctx->saved_data["shape"].toIntVector();
    const int64_t batch = shape[0], tokens = shape[1], heads = shape[2], dh = shape[3];
    torch::Tensor dqkv = torch::empty({batch, tokens, 3, heads, dh}, grads[0].options());
    torch::Tensor parts = dqkv.permute({2, 0, 3, 1, 4});
    for (int64_t i = 0; i < 3; ++i) {
      if (grads[i].defined()) {
        parts[i].copy_(grads[i].reshape({batch, heads, tokens, dh}));
      } else {
        parts[i].zero_();
      }
    }
    return {dqkv.view({batch * tokens, 3 * heads * dh}), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct CrossEntropyFn : torch::autograd::Function<CrossEntropyFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& labels,
                               int64_t backend, int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(logits);
    CAIRN_ASSERT(labels.scalar_type() == torch::kInt64 && labels.is_contiguous() && labels.numel() == logits.size(0));
    const float loss = CrossEntropyForward(exec, F(logits), labels.data_ptr<int64_t>(), logits.size(0), logits.size(1));
    ctx->save_for_backward({logits, labels});
    SaveExec(ctx, exec);
    return torch::full({}, loss, logits.options());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &logits = saved[0], &labels = saved[1];
    torch::Tensor dlogits = torch::empty_like(logits);
    CrossEntropyBackward(LoadExec(ctx), F(logits), labels.data_ptr<int64_t>(), grads[0].item<float>(), F(dlogits),
                         logits.size(0), logits.size(1));
    return {dlogits, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

int64_t B(const Exec& e) { return static_cast<int64_t>(e.backend); }

// autograd::Function cannot take an undefined tensor: "no bias" travels as
// an empty one.
torch::Tensor BiasOrEmpty(const torch::Tensor& bias, const torch::Tensor& like) {
  return bias.defined() ? bias : torch::empty({0}, like.options());
}

}  // namespace

torch::Tensor Linear(const Exec& exec, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return LinearFn::apply(x, weight, BiasOrEmpty(bias, x), B(exec), exec.threads);
}
torch::Tensor Conv2d(const Exec& exec, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     int64_t pad, int64_t stride) {
  return Conv2dFn::apply(x, weight, BiasOrEmpty(bias, x), pad, stride, B(exec), exec.threads);
}
torch::Tensor Relu(const Exec& exec, const torch::Tensor& x) { return ReluFn::apply(x, B(exec), exec.threads); }
torch::Tensor Gelu(const Exec& exec, const torch::Tensor& x) { return GeluFn::apply(x, B(exec), exec.threads); }
torch::Tensor MaxPool2x2(const Exec& exec, const torch::Tensor& x) {
  return MaxPoolFn::apply(x, B(exec), exec.threads);
}
torch::Tensor LayerNorm(const Exec& exec, const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                        double eps) {
  return LayerNormFn::apply(x, gamma, beta, eps, B(exec), exec.threads);
}
torch::Tensor Softmax(const Exec& exec, const torch::Tensor& x) { return SoftmaxFn::apply(x, B(exec), exec.threads); }
torch::Tensor BatchedMatMul(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b, bool transpose_b) {
  return BatchedMatMulFn::apply(a, b, transpose_b, B(exec), exec.threads);
}
std::pair<torch::Tensor, torch::Tensor> Fork(const Exec& exec, const torch::Tensor& x) {
  tensor_list out = ForkFn::apply(x, B(exec), exec.threads);
  return {out[0], out[1]};
}
torch::Tensor Add(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b) {
  return AddFn::apply(a, b, B(exec), exec.threads);
}
torch::Tensor Scale(const Exec& exec, const torch::Tensor& x, double s) {
  return ScaleFn::apply(x, s, B(exec), exec.threads);
}
torch::Tensor AddRowBias(const Exec& exec, const torch::Tensor& x, const torch::Tensor& bias) {
  return AddRowBiasFn::apply(x, bias, B(exec), exec.threads);
}
torch::Tensor MeanRows(const Exec& exec, const torch::Tensor& x) { return MeanRowsFn::apply(x, B(exec), exec.threads); }
std::vector<torch::Tensor> SplitHeads(const torch::Tensor& qkv, int64_t batch, int64_t tokens, int64_t heads) {
  return SplitHeadsFn::apply(qkv, batch, tokens, heads);
}
torch::Tensor CrossEntropy(const Exec& exec, const torch::Tensor& logits, const torch::Tensor& labels) {
  return CrossEntropyFn::apply(logits, labels, B(exec), exec.threads);
}

void SgdStep(const Exec& exec, const SgdScalars& s, torch::Tensor& param, torch::Tensor& momentum_buf) {
  torch::NoGradGuard no_grad;
  CheckFloat(param);
  const torch::Tensor grad = param.grad().contiguous();
  kernels::SgdStep(exec, s, F(param), F(grad), momentum_buf.defined() ? F(momentum_buf) : nullptr, param.numel());
}

void AdamStep(const Exec& exec, const AdamScalars& s, torch::Tensor& param, torch::Tensor& m, torch::Tensor& v) {
  torch::NoGradGuard no_grad;
  CheckFloat(param);
  const torch::Tensor grad = param.grad().contiguous();
  kernels::AdamStep(exec, s, F(param), F(grad), F(m), F(v), param.numel());
}

}  // namespace cairn::kernels::autograd
