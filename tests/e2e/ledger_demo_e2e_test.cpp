// End to end: the main job a new user runs (`cairn ledger demo`), then the
// audit a skeptic runs on what it left behind.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cairn::testing
