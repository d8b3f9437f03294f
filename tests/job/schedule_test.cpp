// Step counts, checkpoint counts and the learning-rate formulas of
// docs/jobs.md, at chosen points.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>

#include "job/spec.h"

namespace cairn::job {
namespace {

JobSpec WithSchedule(ScheduleKind kind, uint64_t warmup_steps) {
  JobSpec s;
  s.optimizer.learning_rate = 0.1;
  s.schedule.kind = kind;
  s.schedule.warmup_steps = warmup_steps;
  s.checkpoint_interval = 1;
  return s;
}

uint64_t Bits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

TEST(LearningRate, WarmsUpLinearlyFromZero) {
  JobSpec s = WithSchedule(ScheduleKind::kConstant, 10);
  EXPECT_EQ(LearningRateAt(s, 0, 100), 0.0);
  EXPECT_EQ(LearningRateAt(s, 1, 100), 0.1 * 1 / 10);
  EXPECT_EQ(LearningRateAt(s, 5, 100), 0.05);
  EXPECT_EQ(LearningRateAt(s, 9, 100), 0.1 * 9 / 10);
  EXPECT_EQ(LearningRateAt(s, 10, 100), 0.1);
  EXPECT_EQ(LearningRateAt(s, 99, 100), 0.1);
}

TEST(LearningRate, ConstantWithoutWarmupIsTheRate) {
  JobSpec s = WithSchedule(ScheduleKind::kConstant, 0);
  EXPECT_EQ(LearningRateAt(s, 0, 100), 0.1);
  EXPECT_EQ(LearningRateAt(s, 99, 100), 0.1);
}

TEST(LearningRate, StepDecayMultipliesByGammaEveryStepSize) {
  JobSpec s = WithSchedule(ScheduleKind::kStep, 5);
  s.schedule.step_size = 10;
  s.schedule.gamma = 0.5;
  EXPECT_EQ(LearningRateAt(s, 4, 100), 0.1 * 4 / 5);  // Still warming up.
  EXPECT_EQ(LearningRateAt(s, 5, 100), 0.1);          // floor(0 / 10) = 0.
  EXPECT_EQ(LearningRateAt(s, 14, 100), 0.1);         // floor(9 / 10) = 0.
  EXPECT_EQ(LearningRateAt(s, 15, 100), 0.05);        // floor(10 / 10) = 1.
  EXPECT_EQ(LearningRateAt(s, 35, 100), 0.1 * 0.125);
  EXPECT_EQ(LearningRateAt(s, 99, 100), 0.1 * std::pow(0.5, 9));  // Powers of 1/2 are exact.
}

TEST(LearningRate, StepDecayWithTinyGammaUnderflowsToZeroNotNan) {
  JobSpec s = WithSchedule(ScheduleKind::kStep, 0);
  s.schedule.step_size = 1;
  s.schedule.gamma = 1e-300;
  EXPECT_EQ(LearningRateAt(s, 0, kStepsMax), 0.1);
  EXPECT_EQ(LearningRateAt(s, kStepsMax - 1, kStepsMax), 0.0);
}

TEST(LearningRate, CosineGoesFromTheRateToTheFloor) {
  JobSpec s = WithSchedule(ScheduleKind::kCosine, 20);
  s.schedule.min_learning_rate = 0.01;
  // 100 steps: warm-up over 0..19, then 80 steps of decay.
  EXPECT_EQ(LearningRateAt(s, 10, 100), 0.05);
  EXPECT_EQ(LearningRateAt(s, 20, 100), 0.1);                        // cos(0) = 1.
  EXPECT_EQ(LearningRateAt(s, 60, 100), 0.01 + (0.1 - 0.01) * 0.5);  // cos(pi/2) = 0 exactly.
  EXPECT_EQ(LearningRateAt(s, 100, 100), 0.01);                      // The end (one past the last step).
  EXPECT_GT(LearningRateAt(s, 99, 100), 0.01);
  // Monotone non-increasing after the warm-up.
  for (uint64_t t = 21; t < 100; ++t) EXPECT_LE(LearningRateAt(s, t, 100), LearningRateAt(s, t - 1, 100)) << t;
}

TEST(LearningRate, CosineAgreesWithTheTextbookFormula) {
  // The schedule avoids libm for portability; check it still computes
  // min + (lr - min) * (1 + cos(pi * u / D)) / 2 to within rounding.
  JobSpec s = WithSchedule(ScheduleKind::kCosine, 7);
  s.schedule.min_learning_rate = 0.001;
  const uint64_t total = 1000;
  for (uint64_t t = 7; t < total; ++t) {
    double u = static_cast<double>(t - 7), d = static_cast<double>(total - 7);
    double expected = 0.001 + (0.1 - 0.001) * 0.5 * (1 + std::cos(std::numbers::pi * u / d));
    EXPECT_NEAR(LearningRateAt(s, t, total), expected, 1e-16) << t;
  }
}

TEST(LearningRate, IsBitExactAtPinnedPoints) {
  // Pinned bit patterns: any platform or compiler that rounds differently
  // (a libm call, a fused multiply-add) fails here rather than in a
  // verifier's replay.
  JobSpec cosine = WithSchedule(ScheduleKind::kCosine, 0);
  EXPECT_EQ(Bits(LearningRateAt(cosine, 37, 100)), 0x3fb1e22c98e5c85au);
  EXPECT_EQ(Bits(LearningRateAt(cosine, 1, 3)), 0x3fb3333333333334u);
  JobSpec step = WithSchedule(ScheduleKind::kStep, 0);
  step.schedule.step_size = 1;
  step.schedule.gamma = 0.9;
  EXPECT_EQ(Bits(LearningRateAt(step, 7, 100)), 0x3fa87d2214a7d7cdu);
}

TEST(ResolvedSteps, UsesStepsOrRoundsEpochsUp) {
  JobSpec s;
  s.batch_size = 64;
  s.checkpoint_interval = 1;
  s.steps = 123;
  EXPECT_EQ(ResolvedSteps(s, 60000), 123u);
  s.steps = 0;
  s.epochs = 2;
  EXPECT_EQ(ResolvedSteps(s, 60000), 1875u);  // 120000 / 64 exactly.
  s.batch_size = 3;
  s.epochs = 1;
  EXPECT_EQ(ResolvedSteps(s, 10), 4u);  // ceil(10 / 3).
  s.batch_size = 100;
  EXPECT_EQ(ResolvedSteps(s, 10), 1u);  // A batch larger than the data.
  s.batch_size = 1;
  s.epochs = kStepsMax;
  EXPECT_EQ(ResolvedSteps(s, data::kExamplesMax), kStepsMax * data::kExamplesMax);  // No overflow.
}

TEST(CheckpointCount, CountsStepZeroMultiplesAndTheEnd) {
  JobSpec s;
  s.checkpoint_interval = 5;
  EXPECT_EQ(CheckpointCount(s, 0), 1u);   // Only step 0.
  EXPECT_EQ(CheckpointCount(s, 3), 2u);   // 0, 3.
  EXPECT_EQ(CheckpointCount(s, 5), 2u);   // 0, 5.
  EXPECT_EQ(CheckpointCount(s, 10), 3u);  // 0, 5, 10.
  EXPECT_EQ(CheckpointCount(s, 11), 4u);  // 0, 5, 10, 11.
  s.checkpoint_interval = 1;
  EXPECT_EQ(CheckpointCount(s, 1), 2u);
  EXPECT_EQ(CheckpointCount(s, 7), 8u);
  s.checkpoint_interval = 50;
  EXPECT_EQ(CheckpointCount(s, 2000), 41u);
  s.checkpoint_interval = 4'294'967'295u;
  EXPECT_EQ(CheckpointCount(s, kStepsMax), 2u);
}

}  // namespace
}  // namespace cairn::job
