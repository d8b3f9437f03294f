// The kernels' fixed partition and worker pool: every index exactly once,
// for back-to-back calls of different sizes (the pool is reused), nested
// calls run inline, and the floating-point environment is canonical.

#include "kernels/cpu/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace cairn::kernels::cpu {
namespace {

TEST(KernelParallel, EveryIndexOnceAcrossManyCalls) {
  for (int round = 0; round < 300; ++round) {
    const int64_t count = (round * 37) % 1000;
    const int threads = 1 + round % 9;
    std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
    ParallelRanges(count, threads, /*grain=*/1 + round % 5, [&](int64_t begin, int64_t end) {
      ASSERT_LE(0, begin);
      ASSERT_LE(end, count);
      for (int64_t i = begin; i < end; ++i) visits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(visits[i].load(), 1) << "round " << round << " index " << i;
  }
}

TEST(KernelParallel, NestedCallsRunInline) {
  std::atomic<int64_t> total{0};
  ParallelRanges(8, 4, 1, [&](int64_t begin, int64_t end) {
    ParallelRanges(10, 4, 1, [&](int64_t b, int64_t e) { total += (end - begin) * (e - b); });
  });
  EXPECT_EQ(total.load(), 80);
}

#if defined(__x86_64__)
TEST(KernelParallel, PartsRunWithTheCanonicalFloatingPointEnvironment) {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040);  // the caller turns on FTZ and DAZ
  std::atomic<int> wrong{0};
  ParallelRanges(4, 4, 1, [&](int64_t, int64_t) {
    if (_mm_getcsr() != 0x1F80) wrong.fetch_add(1);
  });
  EXPECT_EQ(_mm_getcsr(), saved | 0x8040);  // restored for the caller
  _mm_setcsr(saved);
  EXPECT_EQ(wrong.load(), 0);
}
#endif

}  // namespace
}  // namespace cairn::kernels::cpu
