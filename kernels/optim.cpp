#include "kernels/optim.h"

#include <cmath>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"

namespace cairn::kernels {
namespace {
constexpr int64_t kGrainElements = 16384;
}  // namespace

double PowInt(double base, int64_t exponent) {
  CAIRN_ASSERT(exponent >= 0);
  double result = 1.0;
  for (double square = base; exponent > 0; exponent >>= 1) {
    if ((exponent & 1) != 0) result *= square;
    square *= square;
  }
  return result;
}

SgdScalars MakeSgdScalars(const SgdOptions& o) {
  return {.lr = static_cast<float>(o.lr),
          .momentum = static_cast<float>(o.momentum),
          .weight_decay = static_cast<float>(o.weight_decay),
          .nesterov = o.nesterov};
}

AdamScalars MakeAdamScalars(const AdamOptions& o, int64_t step) {
  CAIRN_ASSERT(step >= 1);
  const double bias1 = 1.0 - PowInt(o.beta1, step);
  const double bias2 = 1.0 - PowInt(o.beta2, step);
  AdamScalars s;
  s.beta1 = static_cast<float>(o.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  s.step_size = static_cast<float>(o.lr / bias1);
  s.bias2_sqrt = static_cast<float>(std::sqrt(bias2));  // IEEE sqrt: correctly rounded
  s.eps = static_cast<float>(o.eps);
  s.decoupled = o.decoupled;
  s.weight_decay = o.decoupled ? 0.0f : static_cast<float>(o.weight_decay);
  s.decay_factor = o.decoupled ? static_cast<float>(1.0 - o.lr * o.weight_decay) : 1.0f;
  return s;
}

void SgdStep(const Exec& exec, const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n) {
  CAIRN_ASSERT(momentum_buf != nullptr || s.momentum == 0.0f);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements,
                      [&](int64_t lo, int64_t hi) { t.sgd(s, param, grad, momentum_buf, lo, hi); });
}

void AdamStep(const Exec& exec, const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements,
                      [&](int64_t lo, int64_t hi) { t.adam(s, param, grad, m, v, lo, hi); });
}

}  // namespace cairn::kernels
