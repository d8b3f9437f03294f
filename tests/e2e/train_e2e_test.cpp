// End to end on real data: `cairn train` a Fashion-MNIST job, kill it with
// SIGKILL mid-run, resume to the identical certificate, and `cairn verify`
// it, then catch a damaged checkpoint; plus the input errors a user makes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "support/process.h"

namespace cairn::testing {
namespace {

const std::string kCairn = CAIRN_BINARY;
const std::string kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const std::string kLabels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TrainE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "solver.key"}).exit_code, 0);
    ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "verifier.key"}).exit_code, 0);
  }

  std::string WriteJob(const std::string& name, uint64_t steps, const std::string& learning_rate = "0.05") {
    std::string path = dir_ / name;
    std::ofstream f(path);
    f << "name = \"e2e " << name << "\"\nbatch_size = 32\nsteps = " << steps
      << "\nseed = 3\ncheckpoint_interval = " << std::max<uint64_t>(1, std::min<uint64_t>(100, steps / 10))
      << "\n"
         "[model]\nkind = \"mlp\"\nhidden_sizes = [32]\n"
         "[dataset]\nformat = \"idx\"\nimages = \"" << kImages << "\"\nlabels = \"" << kLabels << "\"\n"
         "[optimizer]\nkind = \"sgd\"\nlearning_rate = " << learning_rate << "\nmomentum = 0.9\n"
         "[verification]\ntop_q = 1\nuniform = 2\n";
    return path;
  }

  std::string JobId(const std::string& job) {
    ProcessResult r = RunProcess({kCairn, "job", "id", job});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 64);
  }

  // Trains `job` once cleanly; trains it again and SIGKILLs that run once it
  // has made durable progress (`settle_ms` after its journal appears);
  // resumes it, expects the clean run's certificate byte for byte, and
  // verifies it (with `verify_flags`, e.g. --all).
  void KillResumeAndVerify(const std::string& job, int settle_ms, const std::vector<std::string>& verify_flags) {
    const std::string id = JobId(job);
    ProcessResult clean = RunProcess({kCairn, "train", job, "--data", dir_ / "clean", "--key", dir_ / "solver.key"});
    ASSERT_EQ(clean.exit_code, 0) << clean.err;
    const std::string clean_cert = ReadAll(dir_ / "clean/jobs/" + id + "/certificate.bin");
    ASSERT_FALSE(clean_cert.empty());

    BackgroundProcess run =
        StartProcess({kCairn, "train", job, "--data", dir_ / "killed", "--key", dir_ / "solver.key"}, dir_.path());
    const std::string journal = dir_ / "killed/jobs/" + id + "/journal";
    for (int i = 0; i < 1500 && !std::filesystem::exists(journal); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
    ASSERT_EQ(::kill(run.pid, SIGKILL), 0);
    ProcessResult killed = WaitProcess(run);
    ASSERT_EQ(killed.exit_code, -1) << "the run finished before it could be killed; make the job longer";
    EXPECT_FALSE(std::filesystem::exists(dir_ / "killed/jobs/" + id + "/certificate.bin"));

    ProcessResult resumed = RunProcess({kCairn, "train", job, "--data", dir_ / "killed", "--key", dir_ / "solver.key"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resumed at step"), std::string::npos) << resumed.out;
    EXPECT_EQ(ReadAll(dir_ / "killed/jobs/" + id + "/certificate.bin"), clean_cert);

    std::vector<std::string> verify = {kCairn, "verify", job};
    verify.insert(verify.end(), verify_flags.begin(), verify_flags.end());
    verify.insert(verify.end(), {"--certificate", dir_ / "killed/jobs/" + id + "/certificate.bin", "--checkpoints",
                                 dir_ / "killed/checkpoints", "--key", dir_ / "verifier.key"});
    ProcessResult verified = RunProcess(verify);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_NE(verified.out.find("ACCEPT"), std::string::npos) << verified.out;
  }

  TempDir dir_;
};

TEST_F(TrainE2e, KilledSolverResumesToTheIdenticalCertificateWhichVerifies) {
  KillResumeAndVerify(WriteJob("job.toml", 6000), /*settle_ms=*/400, /*verify_flags=*/{});
}

// A model as PyTorch users write it (BatchNorm buffers, dropout), trained in
// the sandboxed worker, killed mid-run with SIGKILL (its worker dies with
// it), resumed to the identical certificate, and verified in full.
TEST_F(TrainE2e, TorchScriptModelWithBatchNormAndDropoutResumesIdenticallyAndVerifiesInFull) {
  if (RunProcess({"/usr/bin/python3", "-c", "import torch"}).exit_code != 0) {
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  }
  const std::string model = dir_ / "bn_dropout.pt";
  const std::string script =
      "import torch, sys\n"
      "from torch import nn\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),\n"
      "                                  nn.Dropout(0.2), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))\n"
      "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
      "        return self.body(x)\n"
      "torch.jit.script(Net()).save(sys.argv[1])\n";
  {
    std::ofstream f(dir_ / "export.py");  // torch.jit.script reads the class's source file.
    f << script;
  }
  ProcessResult exported = RunProcess({"/usr/bin/python3", dir_ / "export.py", model});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string job = dir_ / "ts.toml";
  {
    std::ofstream f(job);
    f << "name = \"e2e torchscript\"\nbatch_size = 32\nsteps = 1500\nseed = 5\ncheckpoint_interval = 50\n"
         "[model]\nkind = \"torchscript\"\npath = \"" << model << "\"\n"
         "[dataset]\nformat = \"idx\"\nimages = \"" << kImages << "\"\nlabels = \"" << kLabels << "\"\n"
         "[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.05\nmomentum = 0.9\n"
         "[verification]\ntop_q = 1\nuniform = 2\n";
  }
  KillResumeAndVerify(job, /*settle_ms=*/1500, /*verify_flags=*/{"--all"});
}

TEST_F(TrainE2e, VerifyRejectsADamagedCheckpointAndAnotherJobsCertificate) {
  const std::string job = WriteJob("job.toml", 400);
  const std::string id = JobId(job);
  ASSERT_EQ(RunProcess({kCairn, "train", job, "--data", dir_ / "w", "--key", dir_ / "solver.key"}).exit_code, 0);
  const std::string cert = dir_ / "w/jobs/" + id + "/certificate.bin";

  // Another job (different learning rate) is not satisfied by this certificate.
  const std::string other = WriteJob("other.toml", 400, "0.04");
  ProcessResult wrong_job = RunProcess({kCairn, "verify", other, "--certificate", cert, "--checkpoints", dir_ / "w/checkpoints",
                                        "--key", dir_ / "verifier.key"});
  EXPECT_EQ(wrong_job.exit_code, 1);
  EXPECT_NE(wrong_job.out.find("REJECT: the certificate is for job"), std::string::npos) << wrong_job.out;

  // Flip one byte of one checkpoint on disk.
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "w/checkpoints")) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  ASSERT_GE(files.size(), 5u);
  std::sort(files.begin(), files.end());
  {
    std::fstream f(files[2], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    f.seekp(100);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  ProcessResult damaged = RunProcess({kCairn, "verify", job, "--certificate", cert, "--checkpoints", dir_ / "w/checkpoints",
                                      "--key", dir_ / "verifier.key", "--all"});
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out << damaged.err;
  EXPECT_NE(damaged.out.find("damaged"), std::string::npos) << damaged.out;
}

TEST_F(TrainE2e, DivergingJobExitsWithTheStepAndNoCertificate) {
  const std::string job = WriteJob("nan.toml", 200, "1e12");
  ProcessResult r = RunProcess({kCairn, "train", job, "--data", dir_ / "w", "--key", dir_ / "solver.key"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("loss is"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No certificate"), std::string::npos) << r.err;
}

TEST_F(TrainE2e, MalformedJobFileIsAnInputErrorNamingTheKey) {
  std::string path = dir_ / "bad.toml";
  std::ofstream(path) << "name = \"x\"\nbatch_size = 0\nsteps = 10\nseed = 1\ncheckpoint_interval = 5\n"
                         "[model]\nkind = \"mlp\"\nhidden_sizes = [8]\n[dataset]\nformat = \"idx\"\nimages = \""
                      << kImages << "\"\nlabels = \"" << kLabels << "\"\n[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.1\n";
  ProcessResult r = RunProcess({kCairn, "train", path, "--data", dir_ / "w", "--key", dir_ / "solver.key"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("batch_size"), std::string::npos) << r.err;
  ProcessResult estimate = RunProcess({kCairn, "job", "estimate", path});
  EXPECT_EQ(estimate.exit_code, 2);
}

TEST_F(TrainE2e, CorruptDatasetIsRefusedNamingTheFile) {
  std::string truncated = dir_ / "images.gz";
  std::string bytes = ReadAll(kImages);
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  std::string path = dir_ / "job.toml";
  std::ofstream(path) << "name = \"x\"\nbatch_size = 8\nsteps = 10\nseed = 1\ncheckpoint_interval = 5\n"
                         "[model]\nkind = \"mlp\"\nhidden_sizes = [8]\n[dataset]\nformat = \"idx\"\nimages = \""
                      << truncated << "\"\nlabels = \"" << kLabels << "\"\n[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.1\n";
  ProcessResult r = RunProcess({kCairn, "train", path, "--data", dir_ / "w", "--key", dir_ / "solver.key"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("images.gz"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cairn::testing
