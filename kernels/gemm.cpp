#include "kernels/gemm.h"

#include <algorithm>
#include <vector>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise.h"

namespace cairn::kernels {
namespace {

int64_t RoundUp(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

// The variant's cache blocks, cut down to the matrix and then halved until
// every thread has about two tiles.
GemmTiling ChooseTiling(const cpu::GemmVariant& v, const GemmArgs& g, int threads) {
  GemmTiling tiling;
  tiling.kc = std::min(v.kc, std::max<int64_t>(g.k, 1));
  tiling.mc = std::min(v.mc, RoundUp(g.m, v.mr));
  tiling.nc = std::min(v.nc, RoundUp(g.n, v.nr));
  auto count = [&] { return g.batch * ((g.m + tiling.mc - 1) / tiling.mc) * ((g.n + tiling.nc - 1) / tiling.nc); };
  constexpr int64_t kTilesPerThreadMin = 2;
  while (threads > 1 && count() < kTilesPerThreadMin * threads) {
    if (tiling.nc > v.nr) {
      tiling.nc = RoundUp(tiling.nc / 2, v.nr);
    } else if (tiling.mc > v.mr) {
      tiling.mc = RoundUp(tiling.mc / 2, v.mr);
    } else {
      break;
    }
  }
  tiling.tiles_m = (g.m + tiling.mc - 1) / tiling.mc;
  tiling.tiles_n = (g.n + tiling.nc - 1) / tiling.nc;
  return tiling;
}

// C^T = B^T A^T: the same products in the same k order for every element,
// so the same bits; it lets a thin C (few columns) use full micro-tiles.
GemmArgs Transposed(const GemmArgs& g) {
  GemmArgs t = g;
  t.m = g.n;
  t.n = g.m;
  t.a = g.b;
  t.a_row_stride = g.b_col_stride;
  t.a_col_stride = g.b_row_stride;
  t.a_batch_stride = g.b_batch_stride;
  t.b = g.a;
  t.b_row_stride = g.a_col_stride;
  t.b_col_stride = g.a_row_stride;
  t.b_batch_stride = g.a_batch_stride;
  t.c_row_stride = g.c_col_stride;
  t.c_col_stride = g.c_row_stride;
  return t;
}

// Relative cost of computing C^T: C is stored element by element and both
// packs transpose. 1.6 measured best on the example shapes (AVX-512): it
// keeps C^T for 10-column heads and thin weight gradients, not for the rest.
constexpr double kTransposedCost = 1.6;

double PaddedCost(const cpu::GemmVariant& v, int64_t m, int64_t n) {
  return static_cast<double>(RoundUp(m, v.mr)) * static_cast<double>(RoundUp(n, v.nr));
}

// Below this many flops per part, waking a worker costs more than it saves
// (about 20 us of wake-up against ~100 GFLOP/s per core).
constexpr double kFlopsPerPartMin = 2e6;

int EffectiveThreads(const GemmArgs& g, int threads) {
  const double flops = 2.0 * static_cast<double>(g.batch) * static_cast<double>(g.m) * static_cast<double>(g.n) *
                       static_cast<double>(g.k);
  const double useful = flops / kFlopsPerPartMin;
  return useful < threads ? std::max(1, static_cast<int>(useful)) : threads;
}

// Pack buffers kept per thread: a GEMM per layer per step must not pay for
// mmap and page faults.
float* ThreadPackBuffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

}  // namespace

void Gemm(const Exec& exec, const GemmArgs& args) {
  CAIRN_ASSERT(args.m >= 0 && args.n >= 0 && args.k >= 0 && args.batch >= 1);
  CAIRN_ASSERT(args.c != nullptr || args.m == 0 || args.n == 0);
  if (args.m == 0 || args.n == 0) return;
  const cpu::KernelTable& table = cpu::TableFor(exec);
  // Pick the micro-kernel and orientation with the least padded work.
  const cpu::GemmVariant* variant = &table.gemm[0];
  bool transpose = false;
  double best = PaddedCost(table.gemm[0], args.m, args.n) * table.gemm[0].cost;
  for (const cpu::GemmVariant& v : table.gemm) {
    const double scale = v.cost;
    const double normal = PaddedCost(v, args.m, args.n) * scale;
    const double flipped = PaddedCost(v, args.n, args.m) * scale * kTransposedCost;
    if (normal < best) best = normal, variant = &v, transpose = false;
    if (flipped < best) best = flipped, variant = &v, transpose = true;
  }
  const GemmArgs g = transpose ? Transposed(args) : args;
  const int threads = EffectiveThreads(g, exec.threads);
  const GemmTiling tiling = ChooseTiling(*variant, g, threads);
  const size_t pack_a_floats = static_cast<size_t>(tiling.mc * tiling.kc);
  const size_t pack_b_floats = static_cast<size_t>(tiling.kc * tiling.nc);
  cpu::ParallelRanges(tiling.Tiles(g.batch), threads, /*grain=*/1, [&](int64_t begin, int64_t end) {
    float* pack = ThreadPackBuffer(pack_a_floats + pack_b_floats);
    variant->tiles(g, tiling, begin, end, pack, pack + pack_a_floats);
  });
}

GemmArgs MatMul(int64_t m, int64_t n, int64_t k, const float* a, bool transpose_a, const float* b, bool transpose_b,
                float* c, bool accumulate) {
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

void LinearForward(const Exec& exec, const float* x, const float* weight, const float* bias, float* y, int64_t batch,
                   int64_t in, int64_t out) {
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

void LinearBackward(const Exec& exec, const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                    float* dbias, int64_t batch, int64_t in, int64_t out) {
  if (dx != nullptr) Gemm(exec, MatMul(batch, in, out, dy, false, weight, false, dx));
  Gemm(exec, MatMul(out, in, batch, dy, /*transpose_a=*/true, x, /*transpose_b=*/false, dweight));
  if (dbias != nullptr) SumRows(exec, dy, dbias, batch, out);
}

}  // namespace cairn::kernels
