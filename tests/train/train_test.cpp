// The solver: determinism, resume, checkpoints, and refusal of bad runs.
#include "crypto/hash.h"
#include "proof/checkpoint_store.h"
#include "train_fixture.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

class Training : public TrainFixture {};

TEST_F(Training, TwoRunsGiveIdenticalCertificates) {
  auto a = Train(dir_ / "a", spec_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Train(dir_ / "b", spec_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(proof::EncodeCertificate(a->certificate), proof::EncodeCertificate(b->certificate));
  EXPECT_EQ(a->certificate.checkpoint_hashes.size(), 9u);  // Steps 0, 5, ..., 40.
  EXPECT_LT(a->final_loss, 1.2);  // It learned something (chance is ln 4 = 1.39).
}

TEST_F(Training, ResumeAfterAStopGivesTheIdenticalCertificate) {
  auto full = Train(dir_ / "full", spec_);
  ASSERT_TRUE(full.ok());
  TrainOptions stop;
  stop.stop_after_step = 23;  // Mid-segment: the work since step 20 is lost, as in a kill.
  auto stopped = Train(dir_ / "resumed", spec_, stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(util::FileExists(dir_ / "resumed/jobs/" + job::JobId(spec_).ToHex() + "/certificate.bin"));
  auto resumed = Train(dir_ / "resumed", spec_);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->resumed_from_step, 20u);
  EXPECT_EQ(proof::EncodeCertificate(resumed->certificate), proof::EncodeCertificate(full->certificate));
}

TEST_F(Training, ResumeSkipsACheckpointDamagedOnDisk) {
  auto full = Train(dir_ / "full", spec_);
  ASSERT_TRUE(full.ok());
  TrainOptions stop;
  stop.stop_after_step = 23;
  ASSERT_FALSE(Train(dir_ / "resumed", spec_, stop).ok());
  // Damage the newest checkpoint (step 20): resume must fall back to step 15.
  auto store = proof::CheckpointStore::Open(dir_ / "resumed/checkpoints").value();
  ASSERT_TRUE(util::WriteFileAtomic(store.PathOf(full->certificate.checkpoint_hashes[4]), ByteView(std::string("junk"))).ok());
  auto resumed = Train(dir_ / "resumed", spec_);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->resumed_from_step, 15u);
  EXPECT_EQ(proof::EncodeCertificate(resumed->certificate), proof::EncodeCertificate(full->certificate));
  EXPECT_TRUE(store.Get(full->certificate.checkpoint_hashes[4]).ok());  // Rewritten intact, servable again.
}

TEST_F(Training, TwoSolversCannotRunTheSameJobInOneDirectory) {
  ASSERT_TRUE(util::MakeDirs(dir_ / "jobs/" + job::JobId(spec_).ToHex()).ok());
  auto held = util::FileLock::Acquire(dir_ / "jobs/" + job::JobId(spec_).ToHex() + "/lock");
  ASSERT_TRUE(held.ok());
  auto r = Train(dir_.path(), spec_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("already running"), std::string::npos);
}

TEST_F(Training, StepsNotAMultipleOfTheIntervalEndWithAShortSegment) {
  spec_.steps = 13;
  spec_.verification.uniform = 0;  // 3 segments: a sample of 1 stays under half.
  auto r = Train(dir_.path(), spec_);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->certificate.segments.size(), 3u);
  EXPECT_EQ(r->certificate.segments.back().start_step, 10u);
  EXPECT_EQ(r->certificate.segments.back().end_step, 13u);
}

TEST_F(Training, CheckpointsAreContentAddressedAndDurable) {
  auto r = Train(dir_.path(), spec_);
  ASSERT_TRUE(r.ok());
  auto store = proof::CheckpointStore::Open(dir_ / "checkpoints").value();
  for (const Hash256& h : r->certificate.checkpoint_hashes) {
    auto bytes = store.Get(h);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(proof::CheckpointHash(*bytes), h);
  }
}

TEST_F(Training, DivergingLossStopsWithoutACertificate) {
  spec_.optimizer.learning_rate = 1e12;
  auto r = Train(dir_.path(), spec_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("loss is"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("at step"), std::string::npos);
  EXPECT_FALSE(util::FileExists(dir_ / "jobs/" + job::JobId(spec_).ToHex() + "/certificate.bin"));
}

TEST_F(Training, EveryBuiltInModelAndOptimizerTrainsDeterministically) {
  const job::ModelKind kinds[] = {job::ModelKind::kMlp, job::ModelKind::kCnn, job::ModelKind::kTransformer};
  const job::OptimizerKind optimizers[] = {job::OptimizerKind::kSgd, job::OptimizerKind::kAdam,
                                           job::OptimizerKind::kAdamW};
  int run = 0;
  for (auto kind : kinds) {
    for (auto opt : optimizers) {
      job::JobSpec spec = SmallJob(dataset_, source_, kind);
      spec.optimizer.kind = opt;
      spec.optimizer.learning_rate = opt == job::OptimizerKind::kSgd ? 0.05 : 0.003;
      spec.optimizer.weight_decay = opt == job::OptimizerKind::kSgd ? 1e-4 : 0.01;
      spec.optimizer.momentum = opt == job::OptimizerKind::kSgd ? 0.9 : 0.0;
      spec.schedule.kind = job::ScheduleKind::kCosine;
      spec.schedule.warmup_steps = 3;
      spec.steps = 10;
      spec.checkpoint_interval = 1;
      const std::string tag = job::ModelKindName(kind) + "/" + job::OptimizerKindName(opt);
      auto a = Train(dir_ / ("a" + std::to_string(run)), spec);
      ASSERT_TRUE(a.ok()) << tag << ": " << a.status().ToString();
      auto b = Train(dir_ / ("b" + std::to_string(run)), spec);
      ASSERT_TRUE(b.ok()) << tag;
      EXPECT_EQ(a->certificate.final_model_hash, b->certificate.final_model_hash) << tag;
      auto report = Verify(spec, a->certificate, dir_ / ("a" + std::to_string(run)));
      ASSERT_TRUE(report.ok()) << tag << ": " << report.status().ToString();
      EXPECT_TRUE(report->accepted) << tag << ": " << report->reason;
      run++;
    }
  }
}

TEST_F(Training, FineTuningStartsFromTheSubmittedWeights) {
  auto base = Train(dir_ / "base", spec_);
  ASSERT_TRUE(base.ok());
  const std::string weights = dir_ / "base/jobs/" + job::JobId(spec_).ToHex() + "/model.bin";
  job::JobSpec tune = spec_;
  tune.seed = 99;  // Would give other initial weights; the file wins.
  tune.steps = 10;
  tune.checkpoint_interval = 1;
  tune.model.init = job::WeightInit::kFile;
  tune.model.weights_path = weights;
  tune.model.weights_hash = crypto::Blake2b256(util::ReadFile(weights, 1 << 30).value());
  auto tuned = Train(dir_ / "tune", tune);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
  // Checkpoint 0 of the fine-tuning run holds the base model's final weights.
  auto store = proof::CheckpointStore::Open(dir_ / "tune/checkpoints").value();
  Bytes first = store.Get(tuned->certificate.checkpoint_hashes[0]).value();
  Bytes base_weights = util::ReadFile(weights, 1 << 30).value();
  ASSERT_GT(first.size(), 16 + base_weights.size());
  EXPECT_TRUE(std::equal(base_weights.begin(), base_weights.end(), first.begin() + 16));
  EXPECT_LT(tuned->final_loss, 1.0);  // Already trained.
  auto report = Verify(tune, tuned->certificate, dir_ / "tune");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->accepted) << report->reason;
}

TEST_F(Training, WeightsFileOfAnotherModelIsRefused) {
  auto base = Train(dir_ / "base", spec_);
  ASSERT_TRUE(base.ok());
  job::JobSpec other = spec_;
  other.model.hidden_sizes = {16};
  other.model.init = job::WeightInit::kFile;
  other.model.weights_path = dir_ / "base/jobs/" + job::JobId(spec_).ToHex() + "/model.bin";
  other.model.weights_hash = crypto::Blake2b256(util::ReadFile(other.model.weights_path, 1 << 30).value());
  auto r = Train(dir_ / "other", other);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the model has"), std::string::npos) << r.status().message();
}

TEST_F(Training, CsvDatasetTrains) {
  std::string csv = "x0,x1,x2,label\n";
  for (int i = 0; i < 200; ++i) {
    int label = i % 3;
    csv += std::to_string(label == 0 ? 1.0 : 0.1) + "," + std::to_string(label == 1 ? 1.0 : 0.2) + "," +
           std::to_string(label == 2 ? 1.0 : 0.3) + "," + std::to_string(label) + "\n";
  }
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / "data.csv", ByteView(csv)).ok());
  data::DatasetSource source;
  source.format = data::DatasetFormat::kCsv;
  source.features_path = dir_ / "data.csv";
  source.label_column = "label";
  auto loaded = data::LoadDataset(source);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  dataset_ = std::move(loaded).value();
  job::JobSpec spec = SmallJob(dataset_, source);
  auto r = Train(dir_.path(), spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(r->final_loss, 0.8);
}

TEST_F(Training, CnnRefusesNonImageData) {
  data::Dataset flat = dataset_;
  flat.feature_shape = {64};
  spec_.model.kind = job::ModelKind::kCnn;
  spec_.model.hidden_sizes.clear();
  spec_.model.channels = {4};
  TrainOptions options;
  options.work_dir = dir_.path();
  options.solver_key = &solver_;
  options.worker.isolated = false;
  auto r = TrainJob(spec_, flat, options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cnn needs image data"), std::string::npos) << r.status().message();
}

TEST_F(Training, EstimateCountsParametersAndStorage) {
  auto e = EstimateOf(spec_, /*isolated=*/false);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->parameters, 64u * 32 + 32 + 32 * 4 + 4);
  EXPECT_EQ(e->steps, 40u);
  EXPECT_EQ(e->checkpoints, 9u);
  EXPECT_GT(e->checkpoint_bytes, e->parameters * 8);  // Weights + momentum.
  EXPECT_EQ(e->storage_bytes, e->checkpoint_bytes * 9);
  EXPECT_GT(e->flops_per_step, 0);
  // The sandboxed worker (what `cairn job estimate` uses) says the same.
  auto isolated = EstimateOf(spec_, /*isolated=*/true);
  ASSERT_TRUE(isolated.ok()) << isolated.status().ToString();
  EXPECT_EQ(isolated->parameters, e->parameters);
  EXPECT_EQ(isolated->steps, e->steps);
  EXPECT_EQ(isolated->checkpoints, e->checkpoints);
  EXPECT_EQ(isolated->checkpoint_bytes, e->checkpoint_bytes);
  EXPECT_EQ(isolated->storage_bytes, e->storage_bytes);
  EXPECT_EQ(isolated->flops_per_step, e->flops_per_step);
}

}  // namespace
}  // namespace cairn::train::testing
