// profile.kernels = "repro": jobs trained on the reproducible kernels verify
// bit for bit on another thread count and another kernels backend (the
// scalar one, as on a CPU without AVX), a one-ulp change in any operator's
// output is caught, and the kernels still learn as well as ATen does.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "kernels/backend.h"
#include "train/evaluate.h"
#include "train/export.h"
#include "train_fixture.h"

namespace cairn::train::testing {
namespace {

// Sets an environment variable for one scope (this process and the workers
// it starts), restoring the previous value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, /*overwrite=*/1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The job of one built-in model on the synthetic images, with the
// optimizer that model's example job uses.
job::JobSpec ReproJob(const data::Dataset& d, const data::DatasetSource& source, job::ModelKind kind) {
  job::JobSpec spec = SmallJob(d, source, kind);
  spec.profile.kernels = job::Kernels::kRepro;
  spec.profile.threads = 2;
  spec.steps = 30;  // 6 segments: a sample of 3 is half of them.
  spec.checkpoint_interval = 5;
  spec.schedule.kind = job::ScheduleKind::kCosine;
  spec.schedule.warmup_steps = 3;
  if (kind == job::ModelKind::kMlp) spec.optimizer.nesterov = true;
  if (kind != job::ModelKind::kMlp) {
    spec.optimizer.kind = kind == job::ModelKind::kCnn ? job::OptimizerKind::kAdam : job::OptimizerKind::kAdamW;
    spec.optimizer.learning_rate = 0.003;
    spec.optimizer.momentum = 0;
    spec.optimizer.weight_decay = 0.01;
  }
  return spec;
}

class ReproJobs : public TrainFixture {
 protected:
  // Verifies every segment with one thread on the scalar backend.
  Result<VerifyReport> VerifyOnScalarWithOneThread(const job::JobSpec& spec, const proof::Certificate& cert,
                                                   const std::string& work_dir) {
    ScopedEnv scalar(kernels::kBackendEnvVar, "scalar");
    EXPECT_EQ(kernels::SelectBackend().value(), kernels::Backend::kScalar);
    VerifyOptions options;
    options.worker.isolated = false;
    options.checkpoint_dir = work_dir + "/checkpoints";
    options.verifier_key = &verifier_;
    options.all_segments = true;
    options.threads = 1;
    return VerifyJob(spec, dataset_, cert, options);
  }
};

const job::ModelKind kKinds[] = {job::ModelKind::kMlp, job::ModelKind::kCnn, job::ModelKind::kTransformer};

TEST_F(ReproJobs, TrainedOnTwoThreadsVerifyBitForBitOnOneThreadOfTheScalarBackend) {
  for (job::ModelKind kind : kKinds) {
    SCOPED_TRACE(job::ModelKindName(kind));
    const job::JobSpec spec = ReproJob(dataset_, source_, kind);
    const std::string work = dir_ / job::ModelKindName(kind);
    auto trained = Train(work, spec);  // The best backend this CPU has (unless CAIRN_KERNELS_BACKEND says).
    ASSERT_TRUE(trained.ok()) << trained.status().ToString();
    EXPECT_EQ(trained->certificate.environment.profile.kernels, job::Kernels::kRepro);
    EXPECT_EQ(trained->certificate.environment.profile.threads, 2u);
    EXPECT_LT(trained->final_loss, 1.3);  // Learning (chance is ln 4 = 1.39).
    auto report = VerifyOnScalarWithOneThread(spec, trained->certificate, work);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->accepted) << report->reason;
    EXPECT_EQ(report->checks.size(), trained->certificate.segments.size());
    EXPECT_EQ(report->steps_replayed, spec.steps);
  }
}

// The same computation in the sandboxed worker, as the node runs it: the
// worker inherits CAIRN_KERNELS_BACKEND like any other environment variable.
TEST_F(ReproJobs, SandboxedWorkerTrainsAndReplaysTheSameBits) {
  const job::JobSpec spec = ReproJob(dataset_, source_, job::ModelKind::kMlp);
  auto in_process = Train(dir_ / "local", spec);
  ASSERT_TRUE(in_process.ok()) << in_process.status().ToString();
  ScopedEnv scalar(kernels::kBackendEnvVar, "scalar");
  auto sandboxed = Train(dir_ / "worker", spec, TrainOptions{}, /*isolated=*/true);
  ASSERT_TRUE(sandboxed.ok()) << sandboxed.status().ToString();
  EXPECT_EQ(sandboxed->certificate.checkpoint_hashes, in_process->certificate.checkpoint_hashes);
  auto report = Verify(spec, in_process->certificate, dir_ / "local", /*all=*/true, /*isolated=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->accepted) << report->reason;
}

// A solver whose run differs from the honest one by one ulp in one
// operator's output (every element of it, at one step) is rejected at that
// step's segment. (One ulp in a single element can round away in the next
// sums and leave every committed bit as it was: then there is nothing to
// catch, so the test perturbs the whole output and checks that the run did
// change.) Ops are tried at both ends of the graph (the first layer's output
// and the logits) and in the middle.
TEST_F(ReproJobs, OneUlpInOneOperatorsOutputIsRejected) {
  constexpr uint64_t kPerturbedStep = 12;  // Segment 2: steps 10..15.
  for (job::ModelKind kind : kKinds) {
    SCOPED_TRACE(job::ModelKindName(kind));
    const job::JobSpec spec = ReproJob(dataset_, source_, kind);
    // The honest run, and how many operators one forward pass runs.
    uint32_t ops = 0;
    TrainOptions counting;
    counting.cheat.repro_output = [&](uint64_t step, uint32_t op, float*, int64_t) {
      if (step == 0) ops = std::max(ops, op + 1);
    };
    auto honest = Train(dir_ / ("honest-" + job::ModelKindName(kind)), spec, counting);
    ASSERT_TRUE(honest.ok()) << honest.status().ToString();
    ASSERT_GE(ops, 3u);
    for (uint32_t target : {0u, ops / 2, ops - 1}) {
      SCOPED_TRACE("op " + std::to_string(target) + " of " + std::to_string(ops));
      const std::string work = dir_ / (job::ModelKindName(kind) + "-op" + std::to_string(target));
      TrainOptions cheat;
      int64_t perturbed = 0;
      cheat.cheat.repro_output = [&](uint64_t step, uint32_t op, float* values, int64_t count) {
        if (step != kPerturbedStep || op != target) return;
        for (int64_t i = 0; i < count; ++i) values[i] = std::nextafter(values[i], INFINITY);
        perturbed += count;
      };
      auto trained = Train(work, spec, cheat);
      ASSERT_TRUE(trained.ok()) << trained.status().ToString();
      ASSERT_GT(perturbed, 0);
      ASSERT_NE(trained->certificate.checkpoint_hashes, honest->certificate.checkpoint_hashes)
          << "the perturbation changed nothing";
      EXPECT_EQ(trained->certificate.checkpoint_hashes[2], honest->certificate.checkpoint_hashes[2]);
      auto report = VerifyOnScalarWithOneThread(spec, trained->certificate, work);
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_FALSE(report->accepted);
      EXPECT_NE(report->reason.find("segment 2 (steps 10..15)"), std::string::npos) << report->reason;
      // The segments before the perturbation replay exactly.
      ASSERT_EQ(report->checks.size(), trained->certificate.segments.size());
      EXPECT_TRUE(report->checks[0].passed && report->checks[1].passed) << report->checks[0].detail;
    }
  }
}

// What the verifier does not hold against a repro certificate (threads, the
// ATen capability, the BLAS) and what it still does.
TEST_F(ReproJobs, ProfileChecksRelaxOnlyThreadsIsaAndBlas) {
  const job::JobSpec spec = ReproJob(dataset_, source_, job::ModelKind::kMlp);
  auto trained = Train(dir_ / "run", spec);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  auto resigned = [&](void (*edit)(job::ExecutionProfile*)) {
    proof::Certificate cert = trained->certificate;
    edit(&cert.environment.profile);
    proof::SignCertificate(&cert, solver_);
    return cert;
  };
  // A solver on 4 threads, another ATen capability, another BLAS: accepted.
  const proof::Certificate relaxed = resigned([](job::ExecutionProfile* p) {
    p->threads = 4;
    p->aten_cpu_capability = "avx512";
    p->blas = "mkl";
    p->openblas_coretype = "SKYLAKEX";
  });
  auto accepted = VerifyOnScalarWithOneThread(spec, relaxed, dir_ / "run");
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_TRUE(accepted->accepted) << accepted->reason;
  // Another kernel set or device is another computation: rejected.
  for (auto edit : {+[](job::ExecutionProfile* p) { p->kernels = job::Kernels::kAten; },
                    +[](job::ExecutionProfile* p) { p->device = job::Device::kCuda; }}) {
    auto report = VerifyOnScalarWithOneThread(spec, resigned(edit), dir_ / "run");
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->accepted);
    EXPECT_NE(report->reason.find("execution profile"), std::string::npos) << report->reason;
  }
  // An ATen job keeps its pinned thread count.
  job::JobSpec aten = spec;
  aten.profile.kernels = job::Kernels::kAten;
  auto aten_trained = Train(dir_ / "aten", aten);
  ASSERT_TRUE(aten_trained.ok()) << aten_trained.status().ToString();
  VerifyOptions options;
  options.worker.isolated = false;
  options.checkpoint_dir = dir_ / "aten/checkpoints";
  options.verifier_key = &verifier_;
  options.threads = 1;
  auto refused = VerifyJob(aten, dataset_, aten_trained->certificate, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("another thread count"), std::string::npos) << refused.status().message();
}

// A job's evaluation claim (test loss and accuracy) is recomputed bit for
// bit by the verifier on another thread count and backend too.
TEST_F(ReproJobs, EvaluationClaimVerifiesOnAnotherBackend) {
  data::DatasetSource test_source;
  const data::Dataset test_set = SyntheticImages(dir_.path(), &test_source, 200, 4, /*noise_seed=*/777);
  job::JobSpec spec = ReproJob(dataset_, source_, job::ModelKind::kTransformer);
  spec.evaluation.emplace().dataset.source = test_source;
  spec.evaluation->dataset.content_hash = test_set.content_hash;
  TrainOptions train;
  train.evaluation = &test_set;
  auto trained = Train(dir_ / "run", spec, train);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  ASSERT_TRUE(trained->certificate.evaluation.has_value());
  EXPECT_GT(trained->certificate.evaluation->accuracy, 0.25);
  ScopedEnv scalar(kernels::kBackendEnvVar, "scalar");
  VerifyOptions options;
  options.worker.isolated = false;
  options.checkpoint_dir = dir_ / "run/checkpoints";
  options.verifier_key = &verifier_;
  options.threads = 1;
  options.evaluation = &test_set;
  auto report = VerifyJob(spec, dataset_, trained->certificate, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->accepted) << report->reason;
}

// TorchScript has no cairn kernels: a repro model exports as the same
// module on ATen, and scores within rounding of the repro model.
TEST_F(ReproJobs, ExportsAsTheAtenModuleOfTheSameWeights) {
  for (job::ModelKind kind : kKinds) {
    SCOPED_TRACE(job::ModelKindName(kind));
    const job::JobSpec spec = ReproJob(dataset_, source_, kind);
    const std::string work = dir_ / job::ModelKindName(kind);
    auto trained = Train(work, spec);
    ASSERT_TRUE(trained.ok()) << trained.status().ToString();
    auto model = util::ReadFile(work + "/jobs/" + job::JobId(spec).ToHex() + "/model.bin", 1 << 30);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto exported = ExportModelFile(spec, *model, dataset_);
    ASSERT_TRUE(exported.ok()) << exported.status().ToString();
    EXPECT_FALSE(exported->torchscript.empty());
    job::JobSpec aten = spec;
    aten.profile.kernels = job::Kernels::kAten;
    auto repro_eval = EvaluateModelFile(spec, *model, dataset_, dataset_);
    auto aten_eval = EvaluateModelFile(aten, *model, dataset_, dataset_);
    ASSERT_TRUE(repro_eval.ok() && aten_eval.ok());
    EXPECT_NEAR(repro_eval->loss, aten_eval->loss, 1e-5);
    EXPECT_NEAR(static_cast<double>(repro_eval->correct), static_cast<double>(aten_eval->correct), 2.0);
  }
}

TEST_F(ReproJobs, AnUnknownForcedBackendIsTheVerifiersProblemNotARejection) {
  const job::JobSpec spec = ReproJob(dataset_, source_, job::ModelKind::kMlp);
  auto trained = Train(dir_ / "run", spec);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  ScopedEnv bogus(kernels::kBackendEnvVar, "neon");
  VerifyOptions options;
  options.worker.isolated = false;
  options.checkpoint_dir = dir_ / "run/checkpoints";
  options.verifier_key = &verifier_;
  auto report = VerifyJob(spec, dataset_, trained->certificate, options);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("CAIRN_KERNELS_BACKEND"), std::string::npos) << report.status().message();
}

}  // namespace
}  // namespace cairn::train::testing
