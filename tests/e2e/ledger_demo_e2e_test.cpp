// End to end: the main job a new user runs (`cairn ledger demo`), then the
// audit a skeptic runs on what it left behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/process.h"

namespace cairn::testing {
namespace {

const std::string kCairn = CAIRN_BINARY;

TEST(LedgerDemoE2e, WholeJobLifecycleRunsAndAuditsClean) {
  TempDir dir;
  ProcessResult demo = RunProcess({kCairn, "ledger", "demo", "--data", dir / "demo"});
  ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  EXPECT_NE(demo.out.find("settled"), std::string::npos);
  EXPECT_NE(demo.out.find("failed"), std::string::npos);  // The cheating solver's job.
  EXPECT_EQ(demo.out.find("ACCEPTED (unexpected!)"), std::string::npos);
  ProcessResult audit = RunProcess({kCairn, "ledger", "audit", "--data", dir / "demo"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  // A second run refuses to clobber the first without --reset.
  ProcessResult again = RunProcess({kCairn, "ledger", "demo", "--data", dir / "demo"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("--reset"), std::string::npos);
}

TEST(LedgerDemoE2e, WithAJobFileTheHonestJobIsTrainedAndVerifiedForReal) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  TempDir dir;
  ProcessResult demo = RunProcess({kCairn, "ledger", "demo", "--data", dir / "demo", "--job",
                                   std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/mlp.toml"});
  ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  EXPECT_NE(demo.out.find("solver    trained 14000 steps"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find(": all match"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("settled"), std::string::npos);
  EXPECT_EQ(RunProcess({kCairn, "ledger", "audit", "--data", dir / "demo"}).exit_code, 0);
}

}  // namespace
}  // namespace cairn::testing
