// Limits validation and planning (sandbox/limits.h). Their effect on a real
// process is in process_test.cpp.

#include "sandbox/limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>

namespace cairn::sandbox {
namespace {

const RlimitSetting* Find(const RlimitPlan& plan, int resource) {
  for (size_t i = 0; i < plan.count; ++i) {
    if (plan.settings[i].resource == resource) return &plan.settings[i];
  }
  return nullptr;
}

TEST(Limits, DefaultsAreTheNamedConstants) {
  Limits limits;
  EXPECT_EQ(limits.address_space_bytes, kDefaultAddressSpaceBytes);
  EXPECT_EQ(limits.cpu_seconds, kDefaultCpuSeconds);
  EXPECT_EQ(limits.file_size_bytes, kDefaultFileSizeBytes);
  EXPECT_EQ(limits.open_files, kDefaultOpenFiles);
  EXPECT_EQ(limits.wall_seconds, kDefaultWallSeconds);
  EXPECT_TRUE(ValidateLimits(limits).ok());
  EXPECT_TRUE(ValidateLimits(Limits::Unlimited()).ok());
}

TEST(ValidateLimits, RefusesOutOfRangeFields) {
  Limits few_files;
  few_files.open_files = kOpenFilesMin - 1;
  EXPECT_EQ(ValidateLimits(few_files).code(), StatusCode::kInvalidArgument);
  for (double wall : {-1.0, std::nan(""), HUGE_VAL}) {
    Limits bad_wall;
    bad_wall.wall_seconds = wall;
    EXPECT_EQ(ValidateLimits(bad_wall).code(), StatusCode::kInvalidArgument) << wall;
  }
  Limits huge_cpu;
  huge_cpu.cpu_seconds = UINT64_MAX;
  EXPECT_EQ(ValidateLimits(huge_cpu).code(), StatusCode::kInvalidArgument);
}

TEST(PlanRlimits, LeavesRoomForSigxcpuBeforeTheHardCpuLimit) {
  Limits limits = Limits::Unlimited();
  limits.cpu_seconds = 10;
  auto plan = PlanRlimits(limits);
  ASSERT_TRUE(plan.ok());
  const RlimitSetting* cpu = Find(*plan, RLIMIT_CPU);
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->value.rlim_cur, 10u);
  EXPECT_EQ(cpu->value.rlim_max, 10u + kCpuHardLimitGraceSeconds);
}

TEST(PlanRlimits, ZeroMeansNoLimitOfOursButCoreDumpsAreAlwaysOff) {
  auto plan = PlanRlimits(Limits::Unlimited());
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->count, 1u);
  EXPECT_EQ(plan->settings[0].resource, RLIMIT_CORE);
  EXPECT_EQ(plan->settings[0].value.rlim_cur, 0u);
  EXPECT_EQ(plan->settings[0].value.rlim_max, 0u);

  auto defaults = PlanRlimits(Limits{});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->count, 5u);
}

TEST(PlanRlimits, NeverAsksForMoreThanTheCurrentHardLimit) {
  struct rlimit files {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no finite hard RLIMIT_NOFILE here";
  Limits limits = Limits::Unlimited();
  limits.open_files = files.rlim_max + 1000;
  auto plan = PlanRlimits(limits);
  ASSERT_TRUE(plan.ok());
  const RlimitSetting* nofile = Find(*plan, RLIMIT_NOFILE);
  ASSERT_NE(nofile, nullptr);
  EXPECT_EQ(nofile->value.rlim_cur, files.rlim_max);
  EXPECT_EQ(nofile->value.rlim_max, files.rlim_max);
}

TEST(FormatSeconds, WritesWholeAndFractionalSeconds) {
  EXPECT_EQ(FormatSeconds(2), "2 s");
  EXPECT_EQ(FormatSeconds(1.5), "1.5 s");
  EXPECT_EQ(FormatSeconds(0.05), "0.05 s");
  EXPECT_EQ(FormatSeconds(14400), "14400 s");
}

}  // namespace
}  // namespace cairn::sandbox
