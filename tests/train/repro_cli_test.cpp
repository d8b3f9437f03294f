// End to end with the real `cairn` binary (tests/e2e style): `cairn train` a
// repro job on two threads, `cairn verify --all` it with the scalar kernels
// forced, and the refusals a user of kernels = "repro" can meet.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/process.h"

namespace cairn::testing {
namespace {

const std::string kCairn = CAIRN_BINARY;
const std::string kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const std::string kLabels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";

class ReproCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "solver.key"}).exit_code, 0);
    ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "verifier.key"}).exit_code, 0);
  }

  // A small MLP job with `profile` as the [profile] section's lines.
  std::string WriteJob(const std::string& name, const std::string& profile) {
    const std::string path = dir_ / name;
    std::ofstream f(path);
    f << "name = \"repro cli " << name << "\"\nbatch_size = 64\nsteps = 120\nseed = 5\ncheckpoint_interval = 10\n"
      << "[model]\nkind = \"mlp\"\nhidden_sizes = [64]\n"
      << "[dataset]\nformat = \"idx\"\nimages = \"" << kImages << "\"\nlabels = \"" << kLabels << "\"\n"
      << "[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.05\nmomentum = 0.9\nnesterov = true\n"
      << "[profile]\n"
      << profile;
    return path;
  }

  std::string JobId(const std::string& job) {
    ProcessResult r = RunProcess({kCairn, "job", "id", job});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 64);
  }

  TempDir dir_;
};

TEST_F(ReproCli, TrainOnTwoThreadsVerifyAllOnScalarKernels) {
  const std::string job = WriteJob("job.toml", "kernels = \"repro\"\nthreads = 2\n");
  const std::string id = JobId(job);
  ProcessResult trained = RunProcess({kCairn, "train", job, "--data", dir_ / "run", "--key", dir_ / "solver.key"});
  ASSERT_EQ(trained.exit_code, 0) << trained.out << trained.err;
  const std::string cert = dir_ / "run/jobs/" + id + "/certificate.bin";
  ASSERT_TRUE(std::filesystem::exists(cert));
  ProcessResult verified =
      RunProcess({"/usr/bin/env", "CAIRN_KERNELS_BACKEND=scalar", kCairn, "verify", job, "--all", "--certificate", cert,
                  "--checkpoints", dir_ / "run/checkpoints", "--key", dir_ / "verifier.key"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("ACCEPT"), std::string::npos) << verified.out;

  // A backend this verifier cannot run is its own problem (exit 2), never a rejection.
  ProcessResult unknown =
      RunProcess({"/usr/bin/env", "CAIRN_KERNELS_BACKEND=neon", kCairn, "verify", job, "--all", "--certificate", cert,
                  "--checkpoints", dir_ / "run/checkpoints", "--key", dir_ / "verifier.key"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE((unknown.out + unknown.err).find("CAIRN_KERNELS_BACKEND"), std::string::npos) << unknown.out << unknown.err;
}

TEST_F(ReproCli, RefusesAtenSettingsForAReproJob) {
  const std::string job = WriteJob("job.toml", "kernels = \"repro\"\nblas = \"openblas\"\n");
  ProcessResult r = RunProcess({kCairn, "train", job, "--data", dir_ / "run", "--key", dir_ / "solver.key"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("profile.blas does not apply to profile.kernels = \"repro\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cairn::testing
