// Backend selection: CPUID, the CAIRN_KERNELS_BACKEND override and its errors.
// gtest_discover_tests runs each test in its own process, so setenv is local.

#include "kernels/backend.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace cairn::kernels {
namespace {

TEST(KernelBackend, NamesRoundTrip) {
  for (Backend b : {Backend::kScalar, Backend::kAvx2, Backend::kAvx512}) {
    Result<Backend> parsed = ParseBackend(BackendName(b));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_FALSE(ParseBackend("sse9").ok());
}

TEST(KernelBackend, ScalarAlwaysRunsAndBestIsSupported) {
  EXPECT_TRUE(CpuSupports(Backend::kScalar));
  EXPECT_TRUE(CpuSupports(BestCpuBackend()));
  if (CpuSupports(Backend::kAvx512)) {
    EXPECT_TRUE(CpuSupports(Backend::kAvx2));
  }
}

TEST(KernelBackend, EnvironmentForcesTheBackend) {
  ASSERT_EQ(setenv(kBackendEnvVar, "scalar", 1), 0);
  Result<Exec> exec = DefaultExec(3);
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  EXPECT_EQ(exec->backend, Backend::kScalar);
  EXPECT_EQ(exec->threads, 3);
  ASSERT_EQ(unsetenv(kBackendEnvVar), 0);
  Result<Exec> best = DefaultExec(1);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->backend, BestCpuBackend());
}

TEST(KernelBackend, EnvironmentErrorsAreStatuses) {
  ASSERT_EQ(setenv(kBackendEnvVar, "fastest", 1), 0);
  Result<Exec> bad = DefaultExec(1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(kBackendEnvVar), std::string::npos) << bad.status().ToString();
  for (Backend b : {Backend::kAvx2, Backend::kAvx512}) {
    ASSERT_EQ(setenv(kBackendEnvVar, BackendName(b), 1), 0);
    EXPECT_EQ(DefaultExec(1).ok(), CpuSupports(b)) << BackendName(b);
  }
  unsetenv(kBackendEnvVar);
  EXPECT_FALSE(DefaultExec(0).ok());
  EXPECT_FALSE(DefaultExec(kThreadsMax + 1).ok());
}

}  // namespace
}  // namespace cairn::kernels
