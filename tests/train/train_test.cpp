// The solver: determinism, resume, checkpoints, and refusal of bad runs.
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

TEST_F(Training, StepsNotAMultipleOfTheIntervalEndWithAShortSegment) {
  spec_.steps = 13;
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
      job::JobSpec spec = SmallJob(dataset_, kind);
      spec.optimizer.kind = opt;
      spec.optimizer.learning_rate = opt == job::OptimizerKind::kSgd ? 0.05 : 0.003;
      spec.optimizer.weight_decay = opt == job::OptimizerKind::kSgd ? 1e-4 : 0.01;
      spec.optimizer.momentum = opt == job::OptimizerKind::kSgd ? 0.9 : 0.0;
      spec.schedule.kind = job::ScheduleKind::kCosine;
      spec.schedule.warmup_steps = 3;
      spec.steps = 10;
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

TEST_F(Training, CnnRefusesNonImageData) {
  data::Dataset flat = dataset_;
  flat.feature_shape = {64};
  spec_.model.kind = job::ModelKind::kCnn;
  spec_.model.hidden_sizes.clear();
  spec_.model.channels = {4};
  TrainOptions options;
  options.work_dir = dir_.path();
  options.solver_key = &solver_;
  auto r = TrainJob(spec_, flat, options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cnn needs image data"), std::string::npos) << r.status().message();
}

TEST_F(Training, EstimateCountsParametersAndStorage) {
  auto e = EstimateJob(spec_, dataset_);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->parameters, 64u * 32 + 32 + 32 * 4 + 4);
  EXPECT_EQ(e->steps, 40u);
  EXPECT_EQ(e->checkpoints, 9u);
  EXPECT_GT(e->checkpoint_bytes, e->parameters * 8);  // Weights + momentum.
  EXPECT_EQ(e->storage_bytes, e->checkpoint_bytes * 9);
  EXPECT_GT(e->flops_per_step, 0);
}

}  // namespace
}  // namespace cairn::train::testing
