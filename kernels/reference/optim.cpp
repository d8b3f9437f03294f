#include "kernels/reference/formulas.h"
#include "kernels/reference/reference.h"

namespace cairn::kernels::reference {

void SgdStep(const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float buf = momentum_buf != nullptr ? momentum_buf[i] : 0.0f;
    SgdElement<S>(s, param[i], grad[i], buf);
    if (momentum_buf != nullptr) momentum_buf[i] = buf;
  }
}

void AdamStep(const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) AdamElement<S>(s, param[i], grad[i], m[i], v[i]);
}

}  // namespace cairn::kernels::reference
