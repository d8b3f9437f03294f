#include "kernels/gemm.h"

#include <algorithm>
#include <memory>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise.h"

namespace cairn::kernels {
namespace {

int64_t RoundUp(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

// The backend's cache blocks, cut down to the matrix and then halved until
// every thread has about two tiles (a tiling never changes the bits).
GemmTiling ChooseTiling(const cpu::KernelTable& t, const GemmArgs& g, int threads) {
  GemmTiling tiling;
  tiling.kc = t.gemm_kc;
  tiling.mc = std::min(t.gemm_mc, RoundUp(g.m, t.gemm_mr));
  tiling.nc = std::min(t.gemm_nc, RoundUp(g.n, t.gemm_nr));
  auto count = [&] { return g.batch * ((g.m + tiling.mc - 1) / tiling.mc) * ((g.n + tiling.nc - 1) / tiling.nc); };
  constexpr int64_t kTilesPerThreadMin = 2;
  while (threads > 1 && count() < kTilesPerThreadMin * threads) {
    if (tiling.nc > t.gemm_nr) {
      tiling.nc = RoundUp(tiling.nc / 2, t.gemm_nr);
    } else if (tiling.mc > t.gemm_mr) {
      tiling.mc = RoundUp(tiling.mc / 2, t.gemm_mr);
    } else {
      break;
    }
  }
  tiling.tiles_m = (g.m + tiling.mc - 1) / tiling.mc;
  tiling.tiles_n = (g.n + tiling.nc - 1) / tiling.nc;
  return tiling;
}

}  // namespace

void Gemm(const Exec& exec, const GemmArgs& g) {
  CAIRN_ASSERT(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 1);
  CAIRN_ASSERT(g.c != nullptr || g.m == 0 || g.n == 0);
  if (g.m == 0 || g.n == 0) return;
  const cpu::KernelTable& table = cpu::TableFor(exec);
  const GemmTiling tiling = ChooseTiling(table, g, exec.threads);
  cpu::ParallelRanges(tiling.Tiles(g.batch), exec.threads, /*grain=*/1, [&](int64_t begin, int64_t end) {
    // Uninitialised on purpose: packing writes every element it reads back.
    std::unique_ptr<float[]> pack_a(new float[static_cast<size_t>(tiling.mc * tiling.kc)]);
    std::unique_ptr<float[]> pack_b(new float[static_cast<size_t>(tiling.kc * tiling.nc)]);
    table.gemm_tiles(g, tiling, begin, end, pack_a.get(), pack_b.get());
  });
}

GemmArgs MatMul(int64_t m, int64_t n, int64_t k, const float* a, bool transpose_a, const float* b,
                bool transpose_b, float* c, bool accumulate) {
  GemmArgs g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.a_row_stride = transpose_a ? 1 : k;
  g.a_col_stride = transpose_a ? m : 1;
  g.b = b;
  g.b_row_stride = transpose_b ? 1 : n;
  g.b_col_stride = transpose_b ? k : 1;
  g.c = c;
  g.c_row_stride = n;
  g.accumulate = accumulate;
  return g;
}

void LinearForward(const Exec& exec, const float* x, const float* weight, const float* bias, float* y,
                   int64_t batch, int64_t in, int64_t out) {
  if (bias != nullptr) {
    cpu::ParallelRanges(batch, exec.threads, /*grain=*/64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t j = 0; j < out; ++j) y[r * out + j] = bias[j];
      }
    });
  }
  Gemm(exec, MatMul(batch, out, in, x, /*transpose_a=*/false, weight, /*transpose_b=*/true, y,
                    /*accumulate=*/bias != nullptr));
}

void LinearBackward(const Exec& exec, const float* x, const float* weight, const float* dy, float* dx,
                    float* dweight, float* dbias, int64_t batch, int64_t in, int64_t out) {
  if (dx != nullptr) Gemm(exec, MatMul(batch, in, out, dy, false, weight, false, dx));
  Gemm(exec, MatMul(out, in, batch, dy, /*transpose_a=*/true, x, /*transpose_b=*/false, dweight));
  if (dbias != nullptr) SumRows(exec, dy, dbias, batch, out);
}

}  // namespace cairn::kernels
