// Training and replay in the sandboxed worker (`cairn worker`,
// docs/sandbox.md): the same bits as in this process, and hostile
// TorchScript stopped with a clear error naming the cause. Each hostile
// module is also run unsandboxed once, to show the attack is real.
#include <cstdlib>
#include <cstring>

#include "crypto/hash.h"
#include "proof/model_state.h"
#include "train_fixture.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

class Worker : public TrainFixture {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
    }
    ASSERT_TRUE(util::WriteFileAtomic(dir_ / "secret.key", ByteView(std::string(kSecret))).ok());
    std::string cmd = "/usr/bin/python3 " + std::string(CAIRN_TEST_DIR) + "/export_hostile_models.py " + dir_.path() +
                      " " + (dir_ / "secret.key");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  job::JobSpec Scripted(const std::string& file) {
    job::JobSpec spec = spec_;
    spec.model = job::ModelSpec{};
    spec.model.kind = job::ModelKind::kTorchScript;
    spec.model.torchscript_path = dir_ / file;
    spec.model.torchscript_hash = crypto::Blake2b256(util::ReadFile(dir_ / file, 1 << 30).value());
    return spec;
  }

  Result<TrainResult> TrainIsolated(const std::string& work, const job::JobSpec& spec, sandbox::Limits limits) {
    TrainOptions options;
    options.worker.limits = limits;
    return Train(dir_ / work, spec, options, /*isolated=*/true);
  }

  static constexpr const char* kSecret = "SOLVER-KEY-0123456789abcdef";
};

TEST_F(Worker, TrainsAndVerifiesToTheSameBitsAsInProcess) {
  auto local = Train(dir_ / "local", spec_);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  auto isolated = Train(dir_ / "isolated", spec_, {}, /*isolated=*/true);
  ASSERT_TRUE(isolated.ok()) << isolated.status().ToString();
  EXPECT_EQ(proof::EncodeCertificate(local->certificate), proof::EncodeCertificate(isolated->certificate));
  auto report = Verify(spec_, isolated->certificate, dir_ / "isolated", /*all=*/true, /*isolated=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->accepted) << report->reason;
}

TEST_F(Worker, ModuleThatReadsAFileOutsideItsInputsIsStopped) {
  job::JobSpec spec = Scripted("reads_file.pt");
  // Unsandboxed, the attack works: the secret comes back in the weights.
  auto leaked = Train(dir_ / "local", spec);
  ASSERT_TRUE(leaked.ok()) << leaked.status().ToString();
  Bytes model = util::ReadFile(dir_ / ("local/jobs/" + job::JobId(spec).ToHex() + "/model.bin"), 1 << 30).value();
  const std::string model_text(model.begin(), model.end());
  EXPECT_NE(model_text.find(std::string(kSecret).substr(0, 16)), std::string::npos);

  // In the worker it cannot open the file, and the user sees the
  // interpreter's whole message, not its first line.
  auto r = TrainIsolated("isolated", spec, sandbox::Limits{});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("The following operation failed in the TorchScript interpreter"), std::string::npos) << m;
  EXPECT_NE(m.find("from_file"), std::string::npos) << m;
  EXPECT_NE(m.find("Permission denied"), std::string::npos) << m;
  EXPECT_FALSE(util::FileExists(dir_ / ("isolated/jobs/" + job::JobId(spec).ToHex() + "/certificate.bin")));
}

// `cairn job estimate` builds the model in the worker, and building a
// TorchScript model runs its code (loading it, and a forward on a batch of
// the dataset to check its output): the same estimate there, and hostile
// code stopped there.
TEST_F(Worker, EstimateOfATorchScriptJobInTheWorkerMatchesInProcess) {
  job::JobSpec spec = Scripted("plain.pt");
  auto local = EstimateOf(spec, /*isolated=*/false);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  auto isolated = EstimateOf(spec, /*isolated=*/true);
  ASSERT_TRUE(isolated.ok()) << isolated.status().ToString();
  EXPECT_EQ(isolated->parameters, 64u * 4 + 4);
  EXPECT_EQ(isolated->parameters, local->parameters);
  EXPECT_EQ(isolated->steps, local->steps);
  EXPECT_EQ(isolated->checkpoints, local->checkpoints);
  EXPECT_EQ(isolated->checkpoint_bytes, local->checkpoint_bytes);
  EXPECT_EQ(isolated->storage_bytes, local->storage_bytes);
  EXPECT_EQ(isolated->flops_per_step, local->flops_per_step);
}

TEST_F(Worker, EstimateOfAModuleThatReadsAFileIsStoppedInTheWorker) {
  job::JobSpec spec = Scripted("reads_file.pt");
  // In this process the module's forward reads the secret while the model is built.
  auto local = EstimateOf(spec, /*isolated=*/false);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  // In the worker it is built only once no file can be opened.
  auto isolated = EstimateOf(spec, /*isolated=*/true);
  ASSERT_FALSE(isolated.ok());
  const std::string& m = isolated.status().message();
  EXPECT_NE(m.find("reads_file.pt"), std::string::npos) << "names the input: " << m;
  EXPECT_NE(m.find("from_file"), std::string::npos) << m;
  EXPECT_NE(m.find("Permission denied"), std::string::npos) << m;
}

TEST_F(Worker, ModuleThatAllocatesWithoutBoundIsStoppedAtTheMemoryLimit) {
  sandbox::Limits limits;
  limits.address_space_bytes = uint64_t{3} << 30;
  auto r = TrainIsolated("w", Scripted("allocates.pt"), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("memory"), std::string::npos) << r.status().message();
  EXPECT_FALSE(util::FileExists(dir_ / ("w/jobs/" + job::JobId(Scripted("allocates.pt")).ToHex() + "/certificate.bin")));
}

TEST_F(Worker, ModuleThatLoopsForeverIsStoppedAtTheCpuLimit) {
  sandbox::Limits limits;
  limits.cpu_seconds = 8;
  auto r = TrainIsolated("w", Scripted("loops.pt"), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("CPU time limit of 8 s"), std::string::npos) << r.status().message();
}

TEST_F(Worker, ModuleThatLoopsForeverIsStoppedAtTheWallLimit) {
  sandbox::Limits limits;
  limits.wall_seconds = 6;
  auto r = TrainIsolated("w", Scripted("loops.pt"), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("did not finish within"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace cairn::train::testing
