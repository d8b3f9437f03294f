// Philox4x32-10 against the Random123 known answers, CounterRng's layout, and
// the batch order: a keyed permutation per epoch, a pure function of
// (seed, step) (data/batch_order.h, docs/datasets.md).

#include "data/batch_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

namespace cairn::data {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// True if `values` holds each of 0..n-1 exactly once.
bool IsPermutationOfRange(const std::vector<uint32_t>& values, uint32_t n) {
  if (values.size() != n) return false;
  std::vector<bool> seen(n, false);
  for (uint32_t v : values) {
    if (v >= n || seen[v]) return false;
    seen[v] = true;
  }
  return true;
}

std::vector<uint32_t> Permutation(uint64_t seed, uint64_t epoch, uint32_t n) {
  std::vector<uint32_t> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = PermutedIndex(seed, epoch, i, n);
  return out;
}

// Positions [first, first + count) of the endless sequence, step by step.
std::vector<uint32_t> Positions(uint64_t seed, uint32_t batch_size, uint32_t n, uint64_t steps) {
  std::vector<uint32_t> out;
  for (uint64_t step = 0; step < steps; ++step) {
    std::vector<uint32_t> batch = BatchIndices(seed, step, batch_size, n);
    out.insert(out.end(), batch.begin(), batch.end());
  }
  return out;
}

TEST(Philox4x32, MatchesRandom123KnownAnswers) {
  // The "philox4x32 10" lines of kat_vectors in the Random123 distribution
  // (D. E. Shaw Research): counter (4 words), key (2 words), expected output.
  struct Vector {
    std::array<uint32_t, 4> counter;
    std::array<uint32_t, 2> key;
    std::array<uint32_t, 4> expected;
  };
  const Vector kVectors[] = {
      {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
       {0x00000000, 0x00000000},
       {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},  // Digits of pi.
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Vector& v : kVectors) {
    EXPECT_EQ(Philox4x32(v.counter, v.key), v.expected) << "counter[0] = " << std::hex << v.counter[0];
  }
}

TEST(CounterRng, Bits64IsTheFirstTwoPhiloxWordsOfIndexAndStreamUnderTheSeed) {
  const uint64_t seed = 0x0123456789abcdefull;
  const uint64_t stream = 0xfedcba9876543210ull;
  const uint64_t index = 0x1122334455667788ull;
  std::array<uint32_t, 4> words =
      Philox4x32({0x55667788, 0x11223344, 0x76543210, 0xfedcba98}, {0x89abcdef, 0x01234567});
  EXPECT_EQ(CounterRng(seed, stream).Bits64(index), uint64_t{words[0]} | uint64_t{words[1]} << 32);
}

TEST(CounterRng, SeedsStreamsAndIndicesGiveDifferentBits) {
  std::set<uint64_t> seen;
  for (uint64_t seed : std::initializer_list<uint64_t>{0, 1, kU64Max}) {
    for (uint64_t stream : {kStreamBatchOrder, kStreamWeightInit, kStreamVerifierSampling}) {
      for (uint64_t index : std::initializer_list<uint64_t>{0, 1, uint64_t{1} << 32, kU64Max}) {
        EXPECT_TRUE(seen.insert(CounterRng(seed, stream).Bits64(index)).second)
            << "seed " << seed << " stream " << stream << " index " << index;
      }
    }
  }
}

TEST(CounterRng, UniformFloatIsTheTop24BitsScaledIntoTheUnitInterval) {
  const CounterRng rng(/*seed=*/7, kStreamVerifierSampling);
  double sum = 0;
  constexpr int kDraws = 100000;
  for (uint64_t i = 0; i < kDraws; ++i) {
    const float u = rng.UniformFloat(i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_EQ(u, std::ldexp(static_cast<float>(rng.Bits64(i) >> 40), -24));
    sum += u;
  }
  // Mean of 1e5 uniforms: standard error 0.0009; 0.01 is over ten of them.
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
}

TEST(PermutedIndex, IsABijectionOnEverySize) {
  for (uint32_t n : {1u, 2u, 3u, 4u, 5u, 7u, 15u, 16u, 17u, 63u, 64u, 65u, 255u, 256u, 1000u, 4096u, 60000u}) {
    for (uint64_t seed : std::initializer_list<uint64_t>{0, 42, kU64Max}) {
      for (uint64_t epoch : std::initializer_list<uint64_t>{0, 1, kU64Max}) {
        EXPECT_TRUE(IsPermutationOfRange(Permutation(seed, epoch, n), n))
            << "n " << n << " seed " << seed << " epoch " << epoch;
      }
    }
  }
}

TEST(PermutedIndex, IsABijectionOnTheLargestHalfWidth) {
  // n just above 2^30 needs the full 32-bit domain (16-bit halves); check a
  // window of positions for distinct in-range images instead of all 2^30.
  const uint32_t n = (1u << 30) + 12345;
  std::set<uint32_t> images;
  for (uint32_t i = 0; i < 20000; ++i) {
    uint32_t image = PermutedIndex(/*seed=*/3, /*epoch=*/0, n - 1 - i, n);
    ASSERT_LT(image, n);
    images.insert(image);
  }
  EXPECT_EQ(images.size(), 20000u);
}

TEST(PermutedIndex, DependsOnSeedAndEpoch) {
  const uint32_t n = 1000;
  const std::vector<uint32_t> base = Permutation(/*seed=*/1, /*epoch=*/0, n);
  EXPECT_NE(base, Permutation(/*seed=*/2, /*epoch=*/0, n));
  EXPECT_NE(base, Permutation(/*seed=*/1, /*epoch=*/1, n));
  EXPECT_NE(Permutation(/*seed=*/1, /*epoch=*/1, n), Permutation(/*seed=*/2, /*epoch=*/1, n));
  // Seeds that differ only in their high word matter too.
  EXPECT_NE(base, Permutation(/*seed=*/1 | (1ull << 32), /*epoch=*/0, n));
  EXPECT_NE(base, Permutation(/*seed=*/1, /*epoch=*/1ull << 32, n));
}

TEST(PermutedIndex, ShufflesThoroughly) {
  const uint32_t n = 60000;
  const std::vector<uint32_t> p = Permutation(/*seed=*/2024, /*epoch=*/5, n);
  // A uniform permutation has about one fixed point, and its mean
  // displacement |p(i) - i| is about n/3.
  int fixed_points = 0;
  double displacement = 0;
  for (uint32_t i = 0; i < n; ++i) {
    fixed_points += p[i] == i;
    displacement += std::abs(static_cast<double>(p[i]) - i);
  }
  EXPECT_LT(fixed_points, 10);
  EXPECT_NEAR(displacement / n / n, 1.0 / 3.0, 0.02);
  // Neighbouring positions land far apart: the first half of the epoch is not
  // mostly the first half of the dataset.
  int low_in_first_half = 0;
  for (uint32_t i = 0; i < n / 2; ++i) low_in_first_half += p[i] < n / 2;
  EXPECT_NEAR(low_in_first_half, n / 4, n / 40);
}

TEST(BatchOrder, VisitsEveryExampleOncePerEpoch) {
  const uint32_t n = 1000;
  const uint32_t batch_size = 32;  // Does not divide n: batches straddle epochs.
  const std::vector<uint32_t> all = Positions(/*seed=*/9, batch_size, n, /*steps=*/(3 * n) / batch_size + 1);
  ASSERT_GE(all.size(), 3 * n);
  for (uint32_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<uint32_t> one(all.begin() + epoch * n, all.begin() + (epoch + 1) * n);
    EXPECT_TRUE(IsPermutationOfRange(one, n)) << "epoch " << epoch;
    EXPECT_EQ(one, Permutation(/*seed=*/9, epoch, n));
  }
}

TEST(BatchOrder, IsDeterministic) {
  for (uint64_t step : {0ull, 1ull, 77ull, 123456789ull}) {
    EXPECT_EQ(BatchIndices(/*seed=*/5, step, 64, 60000), BatchIndices(/*seed=*/5, step, 64, 60000));
  }
}

TEST(BatchOrder, DiffersAcrossSeedsAndEpochs) {
  const uint32_t n = 100, batch_size = 10;
  const std::vector<uint32_t> step0 = BatchIndices(/*seed=*/1, /*step=*/0, batch_size, n);
  EXPECT_NE(step0, BatchIndices(/*seed=*/2, /*step=*/0, batch_size, n));
  // Step 10 is the start of epoch 1: same offset, next permutation.
  EXPECT_NE(step0, BatchIndices(/*seed=*/1, /*step=*/10, batch_size, n));
}

TEST(BatchOrder, BatchesStraddleEpochBoundaries) {
  const uint32_t n = 10, batch_size = 4;
  // Step 2 takes positions 8, 9 (end of epoch 0) and 10, 11 (start of epoch 1).
  const std::vector<uint32_t> expected = {PermutedIndex(7, 0, 8, n), PermutedIndex(7, 0, 9, n),
                                          PermutedIndex(7, 1, 0, n), PermutedIndex(7, 1, 1, n)};
  EXPECT_EQ(BatchIndices(/*seed=*/7, /*step=*/2, batch_size, n), expected);
}

TEST(BatchOrder, BatchesLargerThanTheDatasetSpanSeveralEpochs) {
  const uint32_t n = 3, batch_size = 10;
  const std::vector<uint32_t> batch = BatchIndices(/*seed=*/11, /*step=*/4, batch_size, n);
  // Positions 40..49: epoch 13 from offset 1, epochs 14, 15, 16 whole.
  ASSERT_EQ(batch.size(), 10u);
  EXPECT_EQ(batch[0], PermutedIndex(11, 13, 1, n));
  EXPECT_EQ(batch[1], PermutedIndex(11, 13, 2, n));
  for (uint32_t e = 0; e < 2; ++e) {
    std::vector<uint32_t> whole(batch.begin() + 2 + 3 * e, batch.begin() + 5 + 3 * e);
    EXPECT_TRUE(IsPermutationOfRange(whole, n));
    EXPECT_EQ(whole, Permutation(11, 14 + e, n));
  }
}

TEST(BatchOrder, AnyStepIsComputedWithoutThePreviousOnes) {
  const uint32_t n = 5000, batch_size = 48;
  const uint64_t steps = 400;  // Almost four epochs.
  std::vector<std::vector<uint32_t>> forward;
  for (uint64_t s = 0; s < steps; ++s) forward.push_back(BatchIndices(/*seed=*/3, s, batch_size, n));
  // Backwards, with unrelated calls in between: nothing carries over.
  for (uint64_t s = steps; s-- > 0;) {
    (void)BatchIndices(/*seed=*/99, s * 7, batch_size, n);
    ASSERT_EQ(BatchIndices(/*seed=*/3, s, batch_size, n), forward[s]) << "step " << s;
  }
  // And each position equals the permutation it is defined by.
  const uint64_t step = 1234567;
  const std::vector<uint32_t> batch = BatchIndices(/*seed=*/3, step, batch_size, n);
  for (uint32_t j = 0; j < batch_size; ++j) {
    const uint64_t position = step * batch_size + j;
    EXPECT_EQ(batch[j], PermutedIndex(3, position / n, static_cast<uint32_t>(position % n), n));
  }
}

TEST(BatchOrder, HandlesTheLastRepresentableStep) {
  const uint32_t n = 60000, batch_size = 1000;
  const uint64_t last_step = kU64Max / batch_size - 1;  // (last_step + 1) * 1000 <= 2^64 - 1.
  const std::vector<uint32_t> batch = BatchIndices(/*seed=*/1, last_step, batch_size, n);
  ASSERT_EQ(batch.size(), batch_size);
  const uint64_t first = last_step * batch_size;
  for (uint32_t j = 0; j < batch_size; ++j) {
    const uint64_t position = first + j;
    EXPECT_EQ(batch[j], PermutedIndex(1, position / n, static_cast<uint32_t>(position % n), n));
  }
}

TEST(BatchOrder, MatchesThePinnedVectorsOfDocsDatasets) {
  // docs/datasets.md lists these, so that another implementation can check
  // itself. Changing them changes every job's data order.
  EXPECT_EQ(CounterRng(/*seed=*/0, kStreamBatchOrder).Bits64(0), 0xf08d6eaa844515e1u);
  EXPECT_EQ(BatchIndices(/*seed=*/42, /*step=*/0, /*batch_size=*/8, /*dataset_size=*/60000),
            (std::vector<uint32_t>{50161, 35666, 17469, 23991, 13179, 8865, 11648, 52062}));
  EXPECT_EQ(BatchIndices(/*seed=*/42, /*step=*/7500, /*batch_size=*/8, /*dataset_size=*/60000),
            (std::vector<uint32_t>{34835, 7025, 13828, 48990, 52022, 14250, 9181, 48756}));
  EXPECT_EQ(BatchIndices(/*seed=*/0xdeadbeefcafef00d, /*step=*/3, /*batch_size=*/4, /*dataset_size=*/10),
            (std::vector<uint32_t>{9, 7, 8, 3}));
}

TEST(BatchOrderDeathTest, RejectsAStepWhosePositionsOverflow) {
  EXPECT_DEATH((void)BatchIndices(/*seed=*/0, /*step=*/kU64Max / 2, /*batch_size=*/3, /*dataset_size=*/10),
               "assertion failed: step <=");
  EXPECT_DEATH((void)BatchIndices(/*seed=*/0, /*step=*/0, /*batch_size=*/0, /*dataset_size=*/10),
               "assertion failed: batch_size > 0");
  EXPECT_DEATH((void)PermutedIndex(/*seed=*/0, /*epoch=*/0, /*i=*/10, /*n=*/10), "assertion failed: n > 0 && i < n");
}

}  // namespace
}  // namespace cairn::data
