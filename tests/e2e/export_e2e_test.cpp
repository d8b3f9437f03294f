// End to end on real data: `cairn train` a tiny Fashion-MNIST job with an
// [evaluation] set, `cairn eval` its model, `cairn export` it, and load the
// export in Debian's python3-torch, which must score the t10k set exactly as
// cairn did; plus the mistakes a user makes with eval and export.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support/process.h"

namespace cairn::testing {
namespace {

const std::string kCairn = CAIRN_BINARY;
const std::string kPython = "/usr/bin/python3";
const std::string kData = "/usr/share/datasets/fashion-mnist/";
const std::string kTestImages = kData + "t10k-images-idx3-ubyte.gz";
const std::string kTestLabels = kData + "t10k-labels-idx1-ubyte.gz";

class ExportE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTestImages)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "solver.key"}).exit_code, 0);
  }

  // A small MLP job; `evaluation` adds the t10k files as [evaluation].
  std::string WriteJob(const std::string& name, const std::string& hidden, bool evaluation) {
    std::string path = dir_ / name;
    std::ofstream f(path);
    f << "name = \"e2e " << name << "\"\nbatch_size = 64\nsteps = 300\nseed = 5\ncheckpoint_interval = 20\n"
      << "[model]\nkind = \"mlp\"\nhidden_sizes = " << hidden << "\n"
      << "[dataset]\nformat = \"idx\"\nimages = \"" << kData << "train-images-idx3-ubyte.gz\"\nlabels = \"" << kData
      << "train-labels-idx1-ubyte.gz\"\n"
      << "[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.05\nmomentum = 0.9\n";
    if (evaluation) {
      f << "[evaluation]\nformat = \"idx\"\nimages = \"" << kTestImages << "\"\nlabels = \"" << kTestLabels << "\"\n";
    }
    return path;
  }

  std::string ModelOf(const std::string& job, const std::string& work_dir) {
    ProcessResult id = RunProcess({kCairn, "job", "id", job});
    EXPECT_EQ(id.exit_code, 0) << id.err;
    return work_dir + "/jobs/" + id.out.substr(0, 64) + "/model.bin";
  }

  void Train(const std::string& job, const std::string& work_dir) {
    ProcessResult r = RunProcess({kCairn, "train", job, "--data", work_dir, "--key", dir_ / "solver.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  TempDir dir_;
};

// "test accuracy  0.8123 (8123 of 10000 correct)" -> 8123.
long CorrectCount(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(test accuracy  0\.\d{4} \((\d+) of 10000 correct\))"))) return -1;
  return std::stol(m[1]);
}

TEST_F(ExportE2e, TrainEvalExportAndPythonAgree) {
  const std::string job = WriteJob("job.toml", "[32]", /*evaluation=*/true);
  Train(job, dir_ / "w");

  ProcessResult eval = RunProcess({kCairn, "eval", job, "--data", dir_ / "w"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("examples       10000"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("test loss"), std::string::npos) << eval.out;
  const long correct = CorrectCount(eval.out);
  ASSERT_GT(correct, 7000) << eval.out;  // 300 steps of a small MLP: about 0.8.

  // The same model named by path, in another process: the same scores.
  ProcessResult again = RunProcess({kCairn, "eval", job, "--model", ModelOf(job, dir_ / "w")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, eval.out);

  ProcessResult exported = RunProcess({kCairn, "export", job, "--data", dir_ / "w", "--out", dir_ / "out"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("model.pt"), std::string::npos) << exported.out;
  ASSERT_TRUE(std::filesystem::exists(dir_ / "out/model.pt"));
  ASSERT_TRUE(std::filesystem::exists(dir_ / "out/state_dict.pt"));

  if (std::system((kPython + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
  }
  // The job's profile is avx2 on 1 thread; evaluation batches are 500.
  ProcessResult python = RunProcess({"/usr/bin/env", "ATEN_CPU_CAPABILITY=avx2", kPython,
                                     std::string(CAIRN_SOURCE_DIR) + "/tests/train/check_export.py", dir_ / "out",
                                     "--idx", kTestImages, kTestLabels, "500", "1"});
  ASSERT_EQ(python.exit_code, 0) << python.err;
  EXPECT_NE(python.out.find("training False"), std::string::npos) << python.out;
  EXPECT_NE(python.out.find("correct " + std::to_string(correct) + "\n"), std::string::npos)
      << "cairn: " << eval.out << "python: " << python.out;
  EXPECT_NE(python.out.find("state_matches_module True"), std::string::npos) << python.out;
  EXPECT_NE(python.out.find("tensor fc0.weight float32 32,784"), std::string::npos) << python.out;
  EXPECT_NE(python.out.find("tensor head.bias float32 10"), std::string::npos) << python.out;
}

TEST_F(ExportE2e, EvalWithoutAnEvaluationSetNeedsOneOnTheCommandLine) {
  const std::string job = WriteJob("plain.toml", "[16]", /*evaluation=*/false);
  Train(job, dir_ / "w");
  ProcessResult none = RunProcess({kCairn, "eval", job, "--data", dir_ / "w"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("has no [evaluation] section"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("--eval-images"), std::string::npos) << none.err;

  ProcessResult given =
      RunProcess({kCairn, "eval", job, "--data", dir_ / "w", "--eval-images", kTestImages, "--eval-labels", kTestLabels});
  EXPECT_EQ(given.exit_code, 0) << given.err;
  EXPECT_GT(CorrectCount(given.out), 5000) << given.out;

  ProcessResult half = RunProcess({kCairn, "eval", job, "--data", dir_ / "w", "--eval-images", kTestImages});
  EXPECT_EQ(half.exit_code, 2);
  ProcessResult neither = RunProcess({kCairn, "eval", job});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--model FILE, or --data DIR"), std::string::npos) << neither.err;
}

TEST_F(ExportE2e, ModelFileOfAnotherJobOrCorruptIsAnInputError) {
  const std::string job = WriteJob("job.toml", "[32]", /*evaluation=*/true);
  const std::string other = WriteJob("other.toml", "[16]", /*evaluation=*/true);
  Train(other, dir_ / "w");
  const std::string other_model = ModelOf(other, dir_ / "w");

  for (const char* command : {"eval", "export"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> argv = {kCairn, command, job, "--model", other_model};
    if (std::string(command) == "export") argv.insert(argv.end(), {"--out", dir_ / "out"});
    ProcessResult wrong = RunProcess(argv);
    EXPECT_EQ(wrong.exit_code, 2) << wrong.out;
    EXPECT_NE(wrong.err.find("; is it a model file of this job?"), std::string::npos) << wrong.err;
    EXPECT_NE(wrong.err.find(other_model), std::string::npos) << wrong.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out/model.pt"));

  std::ifstream in(other_model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir_ / "corrupt.bin", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  ProcessResult corrupt = RunProcess({kCairn, "eval", other, "--model", dir_ / "corrupt.bin"});
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.err.find("corrupt.bin"), std::string::npos) << corrupt.err;

  ProcessResult missing = RunProcess({kCairn, "export", other, "--model", dir_ / "absent.bin", "--out", dir_ / "out"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.bin"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace cairn::testing
