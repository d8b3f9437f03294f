// The in-process Engine: a TrainingSession driven directly. Used for tests
// with cheat hooks and benchmarks; everything that runs submitted code uses
// the worker engine (worker_engine.cpp), which runs this same code in a
// sandboxed child.
#include "train/local_engine.h"

#include <chrono>

#include "job/limits.h"
#include "proof/model_state.h"
#include "train/snapshot.h"
#include "train/torch_error.h"

namespace cairn::train {
namespace {

class LocalEngine final : public Engine {
 public:
  LocalEngine(const job::JobSpec& spec, const data::Dataset& dataset, const data::Dataset* evaluation,
              const ModelFiles& files, std::unique_ptr<TrainingSession> session, CheatHooks cheat,
              EngineEnvironment environment)
      : spec_(spec), dataset_(dataset), evaluation_(evaluation), files_(files), session_(std::move(session)),
        cheat_(std::move(cheat)), environment_(std::move(environment)) {}

  Result<EvalResult> Evaluate(ByteView model_file) override {
    if (!evaluation_) return InvalidArgument("the job has no evaluation set");
    return EvaluateModelFileWith(spec_, files_, model_file, dataset_, *evaluation_);
  }

  Result<ExportedModel> Export(ByteView model_file) override {
    return ExportModelFileWith(spec_, files_, model_file, dataset_);
  }

  const EngineEnvironment& environment() const override { return environment_; }

  Result<Bytes> InitialCheckpoint() override {
    return GuardTorch("computing the initial state", [&]() -> Result<Bytes> { return session_->Snapshot(0); });
  }

  Result<uint64_t> Restore(ByteView checkpoint) override {
    return GuardTorch("restoring a checkpoint", [&] { return session_->Restore(checkpoint); });
  }

  void Recycle(Bytes checkpoint) override { session_->RecycleSnapshot(std::move(checkpoint)); }

  Result<SegmentResult> RunSegment(uint64_t begin, uint64_t end, const StepCallback& on_step) override {
    return GuardTorch("training", [&]() -> Result<SegmentResult> {
      SegmentAccumulator acc;
      CAIRN_RETURN_IF_ERROR(session_->RunSteps(begin, end, &acc, cheat_, on_step));
      SegmentResult r;
      r.loss_sum = acc.loss_sum;
      r.steps = acc.steps;
      r.grad_norm_last = acc.grad_norm_last;
      r.last_loss = acc.last_loss;
      const auto snapshot_started = std::chrono::steady_clock::now();
      r.checkpoint = session_->Snapshot(end);
      r.snapshot_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - snapshot_started).count();
      return r;
    });
  }

 private:
  job::JobSpec spec_;
  const data::Dataset& dataset_;                     // Outlives the engine (REQUIRES of StartEngine).
  const data::Dataset* evaluation_;  // Likewise.
  ModelFiles files_;
  std::unique_ptr<TrainingSession> session_;
  CheatHooks cheat_;
  EngineEnvironment environment_;
};

// The job's size limits (job/limits.h), from the model as built.
Status CheckSize(const job::JobSpec& spec, const data::Dataset& dataset, TrainingSession* session) {
  const Bytes initial = session->Snapshot(0);
  CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView view, proof::DecodeCheckpoint(initial));
  uint64_t trainable = 0;
  for (const auto& t : view.model.tensors) {
    if (t.role == proof::TensorRole::kParameter) trainable += t.numel;
  }
  return job::CheckModelSize(trainable, view.model.encoded.size,
                             job::EstimateStepActivationBytes(spec, dataset.feature_shape, dataset.num_classes));
}

}  // namespace

Result<std::unique_ptr<Engine>> StartLocalEngine(const job::JobSpec& spec, const data::Dataset& dataset,
                                                 const data::Dataset* evaluation,
                                                 const ModelFiles& files, const EngineOptions& options,
                                                 const EngineEnvironment* applied) {
  return GuardTorch("starting training", [&]() -> Result<std::unique_ptr<Engine>> {
    EngineEnvironment environment;
    if (applied != nullptr) {
      environment = *applied;
    } else {
      CAIRN_ASSIGN_OR_RETURN(environment.applied, ApplyProfile(spec.profile));
      environment.description = DescribeDevice();
    }
    const uint64_t total = job::ResolvedSteps(spec, dataset.size());
    CAIRN_ASSIGN_OR_RETURN(auto session, TrainingSession::Create(spec, dataset, total, files));
    CAIRN_RETURN_IF_ERROR(CheckSize(spec, dataset, session.get()));
    if (options.check_randomness) CAIRN_RETURN_IF_ERROR(session->CheckRandomnessIsControlled(/*step=*/0));
    return std::unique_ptr<Engine>(
        new LocalEngine(spec, dataset, evaluation, files, std::move(session), options.cheat, std::move(environment)));
  });
}

}  // namespace cairn::train
