// Limits on submitted work: refused with the numbers and what to change.
#include <gtest/gtest.h>

#include "job/limits.h"

namespace cairn::job {
namespace {

JobSpec Spec(uint32_t interval, uint32_t top_q, uint32_t uniform) {
  JobSpec s;
  s.model.kind = ModelKind::kMlp;
  s.model.hidden_sizes = {128};
  s.batch_size = 64;
  s.checkpoint_interval = interval;
  s.verification.top_q = top_q;
  s.verification.uniform = uniform;
  return s;
}

TEST(JobLimits, AJobWhoseSampleIsMoreThanHalfItsSegmentsIsRefused) {
  EXPECT_TRUE(CheckVerifiable(Spec(10, 2, 4), 120).ok());  // 12 segments, 6 replayed.
  Status single = CheckVerifiable(Spec(100, 2, 4), 100);     // One segment: a replay of everything.
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.message().find("1 segment(s)"), std::string::npos) << single.message();
  EXPECT_NE(single.message().find("checkpoint_interval to at most 8"), std::string::npos) << single.message();
  EXPECT_FALSE(CheckVerifiable(Spec(10, 2, 4), 110).ok());   // 11 segments, 6 replayed.
  EXPECT_TRUE(CheckVerifiable(Spec(100, 0, 0), 100).ok());   // Nothing sampled: nothing to protect.
}

TEST(JobLimits, ModelSizesAreRefusedWithTheNumbers) {
  EXPECT_TRUE(CheckModelSize(1000, 4000, 1 << 20).ok());
  Status params = CheckModelSize(kTrainableParametersMax + 1, 4, 0);
  ASSERT_FALSE(params.ok());
  EXPECT_NE(params.message().find(std::to_string(kTrainableParametersMax + 1)), std::string::npos);
  EXPECT_FALSE(CheckModelSize(1, kModelStateBytesMax + 1, 0).ok());
  Status activations = CheckModelSize(1, 4, kStepActivationBytesMax + 1);
  ASSERT_FALSE(activations.ok());
  EXPECT_NE(activations.message().find("lower batch_size"), std::string::npos) << activations.message();
}

TEST(JobLimits, ActivationEstimateGrowsWithBatchAndWidth) {
  JobSpec s = Spec(10, 2, 4);
  const std::vector<int64_t> image = {1, 28, 28};
  const uint64_t base = EstimateStepActivationBytes(s, image, 10);
  EXPECT_EQ(base, uint64_t{64} * (784 + 10 + 2 * 128) * 8);
  s.batch_size = 128;
  EXPECT_EQ(EstimateStepActivationBytes(s, image, 10), 2 * base);
  s.model.kind = ModelKind::kCnn;
  s.model.hidden_sizes.clear();
  s.model.channels = {32, 64};
  EXPECT_GT(EstimateStepActivationBytes(s, image, 10), 2 * base);
  s.model.kind = ModelKind::kTorchScript;
  EXPECT_EQ(EstimateStepActivationBytes(s, image, 10), 0u);  // Unknown: the worker's memory limit bounds it.
}

}  // namespace
}  // namespace cairn::job
