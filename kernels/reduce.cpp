#include "kernels/reduce.h"

#include <vector>

#include "kernels/cpu/parallel.h"

namespace cairn::kernels {
namespace {

// Must equal formulas.inc's kReduceBlockElements (the tree's block).
constexpr int64_t kBlockElements = 256;
constexpr int64_t kGrainBlocks = 8;

// The same PairwiseCombine as formulas.inc, over the block partials.
float Combine(std::vector<float>& v) {
  int64_t count = static_cast<int64_t>(v.size());
  if (count == 0) return 0.0f;
  while (count > 1) {
    const int64_t half = count / 2;
    for (int64_t i = 0; i < half; ++i) v[i] = v[2 * i] + v[2 * i + 1];
    if (count % 2 != 0) v[half] = v[count - 1];
    count = half + count % 2;
  }
  return v[0];
}

template <class BlocksFn>
float TreeReduce(const Exec& exec, const float* x, int64_t n, BlocksFn blocks_fn) {
  const int64_t blocks = (n + kBlockElements - 1) / kBlockElements;
  std::vector<float> partials(static_cast<size_t>(blocks));
  cpu::ParallelRanges(blocks, exec.threads, kGrainBlocks,
                      [&](int64_t lo, int64_t hi) { blocks_fn(x, n, partials.data(), lo, hi); });
  return Combine(partials);
}

}  // namespace

float Sum(const Exec& exec, const float* x, int64_t n) {
  return TreeReduce(exec, x, n, cpu::TableFor(exec).sum_blocks);
}

float SumSquares(const Exec& exec, const float* x, int64_t n) {
  return TreeReduce(exec, x, n, cpu::TableFor(exec).sum_squares_blocks);
}

}  // namespace cairn::kernels
