// Repro training still learns: the example repro job on Fashion-MNIST
// (configs/jobs/transformer-repro.toml) reaches the test accuracy of the
// same job on ATen to within half a point.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "job/spec.h"
#include "support/temp_dir.h"
#include "train/train.h"

namespace cairn::train {
namespace {

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

// The test accuracy of `spec` trained to the end (in this process).
double TestAccuracy(job::JobSpec spec, const std::string& work_dir) {
  std::optional<data::Dataset> evaluation;
  auto dataset = job::ResolveJobInputs(&spec, &evaluation);
  EXPECT_TRUE(dataset.ok()) << dataset.status().ToString();
  if (!dataset.ok() || !evaluation) return -1;
  const crypto::KeyPair solver = Key(1);
  TrainOptions options;
  options.work_dir = work_dir;
  options.solver_key = &solver;
  options.worker.isolated = false;
  options.evaluation = &*evaluation;
  auto trained = TrainJob(spec, *dataset, options);
  EXPECT_TRUE(trained.ok()) << trained.status().ToString();
  if (!trained.ok() || !trained->evaluation) return -1;
  return trained->evaluation->accuracy;
}

TEST(ReproAccuracy, TheExampleJobLearnsAsWellAsOnAten) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  auto repro = job::LoadJobFile(std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/transformer-repro.toml");
  ASSERT_TRUE(repro.ok()) << repro.status().ToString();
  ASSERT_EQ(repro->profile.kernels, job::Kernels::kRepro);
  job::JobSpec aten = *repro;
  aten.profile.kernels = job::Kernels::kAten;
  cairn::testing::TempDir dir;
  const double repro_accuracy = TestAccuracy(*repro, dir / "repro");
  const double aten_accuracy = TestAccuracy(aten, dir / "aten");
  RecordProperty("repro_accuracy", std::to_string(repro_accuracy));
  RecordProperty("aten_accuracy", std::to_string(aten_accuracy));
  EXPECT_GT(repro_accuracy, 0.5);  // Chance is 0.1.
  EXPECT_NEAR(repro_accuracy, aten_accuracy, 0.005) << "repro " << repro_accuracy << ", aten " << aten_accuracy;
}

}  // namespace
}  // namespace cairn::train
