// The in-process Engine: a TrainingSession driven directly. Used for tests
// with cheat hooks and benchmarks; everything that runs submitted code uses
// the worker engine (worker_engine.cpp), which runs this same code in a
// sandboxed child.
#include "train/local_engine.h"

#include <chrono>

#include "job/limits.h"
#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "train/snapshot.h"
#include "train/step_trace.h"
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
    return GuardTorch("restoring a checkpoint", [&]() -> Result<uint64_t> {
      CAIRN_ASSIGN_OR_RETURN(uint64_t step, session_->Restore(checkpoint));
      at_step_ = step;
      return step;
    });
  }

  void Recycle(Bytes checkpoint) override { session_->RecycleSnapshot(std::move(checkpoint)); }

  Result<SegmentResult> RunSegment(uint64_t begin, uint64_t end, const StepCallback& on_step) override {
    return GuardTorch("training", [&]() -> Result<SegmentResult> {
      SegmentAccumulator acc;
      CAIRN_RETURN_IF_ERROR(Run(begin, end, &acc, on_step));
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

  Result<std::vector<Hash256>> StepHashes(uint64_t begin, uint64_t end) override {
    if (end < begin || end - begin > kStepHashesPerCallMax) {
      return InvalidArgument("per-step hashes of steps [" + std::to_string(begin) + ", " + std::to_string(end) +
                             "): at most " + std::to_string(kStepHashesPerCallMax) + " steps at a time");
    }
    return GuardTorch("replaying steps", [&]() -> Result<std::vector<Hash256>> {
      CAIRN_RETURN_IF_ERROR(CheckAtStep(begin));
      std::vector<Hash256> hashes;
      hashes.reserve(end - begin);
      for (uint64_t step = begin; step < end; ++step) {
        CAIRN_RETURN_IF_ERROR(Run(step, step + 1, nullptr, nullptr));
        hashes.push_back(StateHash(step + 1));
      }
      return hashes;
    });
  }

  Result<proof::StepTrace> TraceStep(uint64_t step) override {
    return GuardTorch("tracing step " + std::to_string(step), [&]() -> Result<proof::StepTrace> {
      CAIRN_RETURN_IF_ERROR(CheckAtStep(step));
      proof::StepTrace trace;
      trace.step = step;
      trace.state_before = StateHash(step);
      TraceOptions options;
      options.corrupt_output_of = cheat_.corrupt_op_output;
      StepTracer tracer(std::move(options));
      CAIRN_RETURN_IF_ERROR(RunTraced(step, &tracer));
      CAIRN_RETURN_IF_ERROR(tracer.status());
      trace.state_after = StateHash(step + 1);
      trace.step_inputs = tracer.TakeStepInputs();
      trace.records = tracer.TakeRecords();
      return trace;
    });
  }

  Result<Bytes> OpInputs(uint64_t step, uint64_t op_index) override {
    return GuardTorch("tracing step " + std::to_string(step), [&]() -> Result<Bytes> {
      CAIRN_RETURN_IF_ERROR(CheckAtStep(step));
      Bytes before = session_->Snapshot(step);
      TraceOptions options;
      options.capture_inputs_of = op_index;
      options.corrupt_output_of = cheat_.corrupt_op_output;
      StepTracer tracer(std::move(options));
      Status ran = RunTraced(step, &tracer);
      // Back to the state before the step, whatever the step did.
      auto restored = session_->Restore(before);
      session_->RecycleSnapshot(std::move(before));
      if (!restored.ok()) return Internal("restoring the state before a traced step: " + restored.status().message());
      at_step_ = step;
      CAIRN_RETURN_IF_ERROR(ran);
      CAIRN_RETURN_IF_ERROR(tracer.status());
      if (op_index >= tracer.records()) {
        return NotFound("step " + std::to_string(step) + " has " + std::to_string(tracer.records()) +
                        " operator records; there is no record " + std::to_string(op_index));
      }
      std::vector<proof::OpRecord> records = tracer.TakeRecords();
      const proof::OpRecord& record = records.at(op_index);
      Result<Bytes> blob = tracer.TakeCapturedInputs();
      if (!blob.ok()) {
        return FailedPrecondition("record " + std::to_string(op_index) + " of step " + std::to_string(step) + " (" +
                                  proof::OpDisplayName(record) + ") cannot be recomputed: " + blob.status().message());
      }
      // The blob must be what the record describes (the same run made both).
      auto decoded = proof::DecodeOpInputs(*blob);
      Status matches = decoded.ok() ? proof::CheckOpInputs(record, *decoded) : decoded.status();
      if (!matches.ok()) return Internal("the captured inputs do not match their record: " + matches.message());
      return std::move(blob).value();
    });
  }

  Result<Hash256> RecomputeOp(const proof::OpRecord& record, ByteView inputs) override {
    return RecomputeOpHere(record, inputs);
  }

 private:
  Status CheckAtStep(uint64_t step) const {
    if (at_step_ == step) return Status::Ok();
    return FailedPrecondition("the engine's state is " +
                              (at_step_ ? "the one at step " + std::to_string(*at_step_) : std::string("unknown")) +
                              ", not the one before step " + std::to_string(step) + ": restore that checkpoint first");
  }

  Hash256 StateHash(uint64_t step) {
    Bytes snapshot = session_->Snapshot(step);
    const Hash256 hash = proof::CheckpointHash(snapshot);
    session_->RecycleSnapshot(std::move(snapshot));
    return hash;
  }

  // Steps [begin, end) from the current state. With a corrupt_op_output
  // cheat, one step at a time, each from dropped gradients and watched by a
  // tracer that only corrupts, so that its record indices are a traced
  // step's (TraceStep).
  Status Run(uint64_t begin, uint64_t end, SegmentAccumulator* acc, const StepCallback& on_step) {
    at_step_.reset();
    if (!cheat_.corrupt_op_output) {
      CAIRN_RETURN_IF_ERROR(session_->RunSteps(begin, end, acc, cheat_, on_step));
    } else {
      TraceOptions options;
      options.describe = false;
      options.corrupt_output_of = cheat_.corrupt_op_output;
      StepTracer tracer(std::move(options));
      for (uint64_t step = begin; step < end; ++step) {
        session_->ResetGradients();
        CAIRN_RETURN_IF_ERROR(session_->RunSteps(step, step + 1, acc, cheat_, on_step, &tracer));
      }
    }
    at_step_ = end;
    return Status::Ok();
  }

  // One traced step from dropped gradients (the same operators whatever ran
  // before in this process).
  Status RunTraced(uint64_t step, StepTracer* tracer) {
    at_step_.reset();
    session_->ResetGradients();
    CAIRN_RETURN_IF_ERROR(session_->RunSteps(step, step + 1, nullptr, cheat_, nullptr, tracer));
    at_step_ = step + 1;
    return Status::Ok();
  }

 private:
  job::JobSpec spec_;
  const data::Dataset& dataset_;                     // Outlives the engine (REQUIRES of StartEngine).
  const data::Dataset* evaluation_;  // Likewise.
  ModelFiles files_;
  std::unique_ptr<TrainingSession> session_;
  CheatHooks cheat_;
  EngineEnvironment environment_;
  // The step the state is at: 0 for a new engine, a restored checkpoint's,
  // the end of the last steps run; unknown after a step failed.
  std::optional<uint64_t> at_step_ = 0;
};

class LocalRecomputer final : public OpRecomputer {
 public:
  Result<Hash256> RecomputeOp(const proof::OpRecord& record, ByteView inputs) override {
    return RecomputeOpHere(record, inputs);
  }
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

std::unique_ptr<OpRecomputer> StartLocalRecomputer() { return std::make_unique<LocalRecomputer>(); }

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
