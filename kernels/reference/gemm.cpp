#include "cairn/assert.h"
#include "kernels/reference/formulas.h"
#include "kernels/reference/reference.h"

namespace cairn::kernels::reference {

void Gemm(const GemmArgs& g) {
  CAIRN_ASSERT(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 1);
  for (int64_t t = 0; t < g.batch; ++t) {
    const float* a = g.a + t * g.a_batch_stride;
    const float* b = g.b + t * g.b_batch_stride;
    float* c = g.c + t * g.c_batch_stride;
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        float acc = g.accumulate ? c[i * g.c_row_stride + j * g.c_col_stride] : 0.0f;
        for (int64_t p = 0; p < g.k; ++p) {
          acc = S::Fma(a[i * g.a_row_stride + p * g.a_col_stride], b[p * g.b_row_stride + j * g.b_col_stride], acc);
        }
        c[i * g.c_row_stride + j * g.c_col_stride] = acc;
      }
    }
  }
}

}  // namespace cairn::kernels::reference
