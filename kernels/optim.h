// Optimizer updates matching torch.optim's formulas (SGD with momentum,
// Nesterov and weight decay; Adam; AdamW), elementwise over a parameter.
//
// The job gives hyper-parameters as doubles; Make*Scalars turns them into
// the float scalars of the per-element formula with documented double
// arithmetic (beta^t by square-and-multiply, IEEE sqrt), so every backend
// and device uses the same scalars.
#pragma once

#include <cstdint>

#include "kernels/backend.h"
#include "kernels/types.h"

namespace cairn::kernels {

struct SgdOptions {
  double lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
};
SgdScalars MakeSgdScalars(const SgdOptions& options);
// momentum_buf starts at zero (the first step then sets it to the gradient);
// it may be null when momentum is 0.
void SgdStep(const Exec& exec, const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n);

struct AdamOptions {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW
};
// REQUIRES: step >= 1 (the 1-based count of this update).
AdamScalars MakeAdamScalars(const AdamOptions& options, int64_t step);
void AdamStep(const Exec& exec, const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n);

// base^exponent in double by square-and-multiply over the exponent's bits
// from the least significant (no libm pow). REQUIRES: exponent >= 0.
double PowInt(double base, int64_t exponent);

}  // namespace cairn::kernels
