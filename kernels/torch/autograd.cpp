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
    torch::Tensor dx = torch::empty_like(x), dw = torch::empty_like(w);
    torch::Tensor db = ctx->saved_data["has_bias"].toBool() ? torch::empty({out}, x.options()) : torch::Tensor();
    LinearBackward(exec, F(x), F(w), F(dy), F(dx), F(dw), db.defined() ? F(db) : nullptr, batch, in, out);
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
    torch::Tensor dx = torch::empty_like(x), dw = torch::empty_like(w);
    torch::Tensor db =
        ctx->saved_data["has_bias"].toBool() ? torch::empty({s.out_channels}, x.options()) : torch::Tensor();
    Conv2dBackward(exec, s, F(x), F(w), F(dy), F(dx), F(dw), db.defined() ? F(db) : nullptr);
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
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b, int64_t backend,
                               int64_t threads) {
    const Exec exec{static_cast<Backend>(backend), static_cast<int>(threads)};
    CheckFloat(a);
    CheckFloat(b);
    CAIRN_ASSERT(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1));
    torch::Tensor c = torch::empty({a.size(0), a.size(1), b.size(2)}, a.options());
    Batched(exec, a, false, b, false, c);
    ctx->save_for_backward({a, b});
    SaveExec(ctx, exec);
    return c;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Exec exec = LoadExec(ctx);
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &a = saved[0], &b = saved[1];
    const torch::Tensor dc = grads[0].contiguous();
    torch::Tensor da = torch::empty_like(a), db = torch::empty_like(b);
    Batched(exec, dc, false, b, /*tb=*/true, da);  // dA = dC B^T
    Batched(exec, a, /*ta=*/true, dc, false, db);  // dB = A^T dC
    return {da, db, torch::Tensor(), torch::Tensor()};
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
torch::Tensor BatchedMatMul(const Exec& exec, const torch::Tensor& a, const torch::Tensor& b) {
  return BatchedMatMulFn::apply(a, b, B(exec), exec.threads);
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
