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
#include "util/file.h"

namespace cairn::train::testing {

// 8x8 single-channel "images" whose class is which quadrant is brightest,
// plus noise: learnable in a few dozen steps. Written as IDX files under
// `dir` (so a sandboxed worker can read them as it would a real dataset) and
// loaded back with the real loader; `source` receives their paths.
// Another `noise_seed` gives other examples of the same task (a held-out set).
inline data::Dataset SyntheticImages(const std::string& dir, data::DatasetSource* source, uint32_t n = 512,
                                     uint32_t classes = 4, uint64_t noise_seed = 12345) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n) * 64);
  std::vector<uint8_t> labels(n);
  uint64_t state = noise_seed;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((state >> 40) & 0xffff) / 65536.0f;
  };
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t label = i % classes;
    labels[i] = static_cast<uint8_t>(label);
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        uint32_t quadrant = (y / 4) * 2 + (x / 4);
        float v = 0.3f * next() + (quadrant == label ? 0.7f : 0.0f);
        pixels[i * 64 + y * 8 + x] = static_cast<uint8_t>(v * 255.0f);
      }
    }
  }
  auto header = [](uint32_t magic, std::vector<uint32_t> dims) {
    Bytes out;
    auto word = [&](uint32_t v) {
      for (int b = 3; b >= 0; --b) out.push_back(static_cast<uint8_t>(v >> (8 * b)));
    };
    word(magic);
    for (uint32_t d : dims) word(d);
    return out;
  };
  Bytes images = header(0x00000803, {n, 8, 8});
  images.insert(images.end(), pixels.begin(), pixels.end());
  Bytes label_bytes = header(0x00000801, {n});
  label_bytes.insert(label_bytes.end(), labels.begin(), labels.end());
  source->format = data::DatasetFormat::kIdx;
  source->features_path = dir + "/synthetic-" + std::to_string(noise_seed) + "-images-idx3-ubyte";
  source->labels_path = dir + "/synthetic-" + std::to_string(noise_seed) + "-labels-idx1-ubyte";
  CAIRN_ASSERT(util::WriteFileAtomic(source->features_path, images).ok());
  CAIRN_ASSERT(util::WriteFileAtomic(source->labels_path, label_bytes).ok());
  auto loaded = data::LoadDataset(*source);
  CAIRN_ASSERT(loaded.ok());
  return std::move(loaded).value();
}

inline job::JobSpec SmallJob(const data::Dataset& d, const data::DatasetSource& source,
                             job::ModelKind kind = job::ModelKind::kMlp) {
  job::JobSpec s;
  s.dataset.source = source;
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
    dataset_ = SyntheticImages(dir_.path(), &source_);
    spec_ = SmallJob(dataset_, source_);
  }

  // In this process unless a test asks for the sandboxed worker (the cheat
  // hooks of tests/adversarial need this process).
  Result<TrainResult> Train(const std::string& work_dir, const job::JobSpec& spec, TrainOptions options = {},
                            bool isolated = false) {
    options.work_dir = work_dir;
    options.worker.isolated = isolated;
    options.worker.binary = CAIRN_BINARY;
    if (options.solver_key == nullptr) options.solver_key = &solver_;
    return TrainJob(spec, dataset_, options);
  }

  Result<Estimate> EstimateOf(const job::JobSpec& spec, bool isolated) {
    WorkerOptions worker;
    worker.isolated = isolated;
    worker.binary = CAIRN_BINARY;
    return EstimateJob(spec, dataset_, worker);
  }

  Result<VerifyReport> Verify(const job::JobSpec& spec, const proof::Certificate& cert, const std::string& work_dir,
                              bool all = true, bool isolated = false) {
    VerifyOptions options;
    options.worker.isolated = isolated;
    options.worker.binary = CAIRN_BINARY;
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
  cairn::testing::TempDir dir_;
  data::DatasetSource source_;
  data::Dataset dataset_;
  job::JobSpec spec_;
  crypto::KeyPair solver_ = Key(1);
  crypto::KeyPair verifier_ = Key(2);
};

}  // namespace cairn::train::testing
