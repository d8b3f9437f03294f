// Small, fast jobs for training tests: a synthetic image dataset (a fake of
// a real one, built in memory) and a job spec over it. Real-data runs live in
// tests/e2e and bench/.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset.h"
#include "job/spec.h"
#include "support/process.h"
#include "train/train.h"

namespace cairn::train::testing {

// 8x8 single-channel "images" whose class is which quadrant is brightest,
// plus noise: learnable in a few dozen steps. Another `noise_seed` gives
// other examples of the same task (a held-out set).
inline data::Dataset SyntheticImages(uint32_t n = 512, uint32_t classes = 4, uint64_t noise_seed = 12345) {
  data::Dataset d;
  d.feature_shape = {1, 8, 8};
  d.features.resize(static_cast<size_t>(n) * 64);
  d.labels.resize(n);
  uint64_t state = noise_seed;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((state >> 40) & 0xffff) / 65536.0f;
  };
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t label = i % classes;
    d.labels[i] = label;
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        uint32_t quadrant = (y / 4) * 2 + (x / 4);
        d.features[i * 64 + y * 8 + x] = 0.3f * next() + (quadrant == label ? 0.7f : 0.0f);
      }
    }
  }
  d.num_classes = classes;
  d.content_hash = data::DatasetContentHash(d.feature_shape, d.features, d.labels);
  return d;
}

inline job::JobSpec SmallJob(const data::Dataset& d, job::ModelKind kind = job::ModelKind::kMlp) {
  job::JobSpec s;
  s.name = "test job";
  s.model.kind = kind;
  if (kind == job::ModelKind::kMlp) s.model.hidden_sizes = {32};
  if (kind == job::ModelKind::kCnn) s.model.channels = {4, 8};
  if (kind == job::ModelKind::kTransformer) {
    s.model.d_model = 16;
    s.model.heads = 2;
    s.model.layers = 1;
    s.model.feedforward = 32;
  }
  s.dataset.source.format = data::DatasetFormat::kIdx;
  s.dataset.content_hash = d.content_hash;
  s.optimizer.kind = job::OptimizerKind::kSgd;
  s.optimizer.learning_rate = 0.1;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 1e-4;
  s.batch_size = 16;
  s.steps = 40;
  s.seed = 7;
  s.checkpoint_interval = 5;
  s.verification.top_q = 1;
  s.verification.uniform = 2;
  s.profile.threads = 1;
  s.profile.aten_cpu_capability = "avx2";
  return s;
}

class TrainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dataset_ = SyntheticImages();
    spec_ = SmallJob(dataset_);
  }

  Result<TrainResult> Train(const std::string& work_dir, const job::JobSpec& spec, TrainOptions options = {}) {
    options.work_dir = work_dir;
    if (options.solver_key == nullptr) options.solver_key = &solver_;
    return TrainJob(spec, dataset_, options);
  }

  Result<VerifyReport> Verify(const job::JobSpec& spec, const proof::Certificate& cert, const std::string& work_dir,
                              bool all = true) {
    VerifyOptions options;
    options.checkpoint_dir = work_dir + "/checkpoints";
    options.verifier_key = &verifier_;
    options.all_segments = all;
    return VerifyJob(spec, dataset_, cert, options);
  }

 public:
  static crypto::KeyPair Key(uint8_t n) {
    std::array<uint8_t, 32> seed{};
    seed.fill(n);
    return crypto::KeyPair::FromSeed(seed);
  }

 protected:
  data::Dataset dataset_;
  job::JobSpec spec_;
  crypto::KeyPair solver_ = Key(1);
  crypto::KeyPair verifier_ = Key(2);
  cairn::testing::TempDir dir_;
};

}  // namespace cairn::train::testing
