// TrainingSession: one model, its optimizer and its data, able to run any
// range of steps (internal to train/). The solver runs all of them; the
// verifier restores checkpoint i and runs segment i. Both go through
// RunSteps, so there is exactly one definition of "a training step".
#pragma once

#include <torch/torch.h>

#include <memory>

#include "data/dataset.h"
#include "job/spec.h"
#include "proof/certificate.h"
#include "train/models.h"
#include "train/optimizer.h"
#include "train/snapshot.h"
#include "train/train.h"

namespace cairn::train {

// Watches the computation of the steps a session runs (train/step_trace.h's
// tracer, docs/pinpoint.md). BeginStep is called after the step's batch is
// drawn and torch's generators are seeded, with what the step reads (the
// batch, then every model state tensor, then every optimizer state tensor);
// EndStep after the optimizer update, also when the step fails. Both on
// the thread that runs the step.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void BeginStep(uint64_t step, const NamedTensors& step_inputs) = 0;
  virtual void EndStep() = 0;
};

// Running sums for one segment's metadata.
struct SegmentAccumulator {
  double loss_sum = 0;
  double grad_norm_last = 0;  // At the last step run.
  uint64_t steps = 0;
  double last_loss = 0;
};

class TrainingSession {
 public:
  // REQUIRES: `dataset` outlives the session (its features are used in place).
  // `files`: the job's model files (ReadModelFiles).
  static Result<std::unique_ptr<TrainingSession>> Create(const job::JobSpec& spec, const data::Dataset& dataset,
                                                         uint64_t total_steps, const ModelFiles& files);
  // Reads the model files itself (for callers that may open files).
  static Result<std::unique_ptr<TrainingSession>> Create(const job::JobSpec& spec, const data::Dataset& dataset,
                                                         uint64_t total_steps);

  // Runs steps [begin, end). Fails on a non-finite loss, naming the step.
  // `acc` collects certificate metadata; nullptr for plain training.
  // `observer` (optional) watches every step's computation.
  Status RunSteps(uint64_t begin, uint64_t end, SegmentAccumulator* acc, const CheatHooks& cheat,
                  const std::function<void(uint64_t step, double loss)>& after_step,
                  StepObserver* observer = nullptr);
  // Drops every parameter's gradient (undefined, not zero), so that the next
  // step runs the same operators whatever ran before in this process:
  // autograd accumulates into a zeroed gradient but hands over a fresh one.
  // A traced step starts from here (docs/pinpoint.md).
  void ResetGradients();

  // Canonical checkpoint bytes of the whole state at `step` (EncodeSnapshot's,
  // made by the session's SnapshotEncoder: a memory copy of the state).
  Bytes Snapshot(uint64_t step);
  // Hands back the bytes of a snapshot once the caller is done with them:
  // the next Snapshot reuses their memory. May be called from any thread.
  void RecycleSnapshot(Bytes bytes) { encoder_.Recycle(std::move(bytes)); }
  // All or nothing (RestoreSnapshot). Returns the checkpoint's step.
  Result<uint64_t> Restore(ByteView snapshot);
  // The model file of the current state (every parameter and buffer).
  Bytes ModelFile() const;

  // Refuses a model whose training step is not a function of its state and
  // cairn's seed: runs the forward and backward of `step` twice from the same
  // state and generator seed and compares loss, gradients and buffers bit
  // for bit. Leaves the state as it found it.
  Status CheckRandomnessIsControlled(uint64_t step);

  uint64_t total_steps() const { return total_steps_; }
  const torch::Device& device() const { return device_; }

 private:
  TrainingSession(const job::JobSpec& spec, const data::Dataset& dataset, uint64_t total_steps,
                  std::unique_ptr<Model> model, torch::Device device);

  job::JobSpec spec_;
  const data::Dataset& dataset_;
  uint64_t total_steps_;
  // Seeds torch's default generators (CPU and every CUDA device) from
  // (job seed, step): every random draw of step `step` (dropout, noise in a
  // forward) is then a function of the job, whatever ran before it.
  void SeedRandomness(uint64_t step) const;
  // What an observed step reads: the batch, the model state, the optimizer state.
  NamedTensors StepInputs(const torch::Tensor& x, const torch::Tensor& y);
  // The batch of `step` (or the cheat's).
  std::pair<torch::Tensor, torch::Tensor> Batch(uint64_t step, const CheatHooks& cheat) const;
  // The low-precision cheat (CheatHooks::round_to_bfloat16).
  void RoundStateToBfloat16();
  // The sum of the squared gradients of the trainable parameters (the
  // certificate's grad_norm_last is its square root): ATen's float sums, or
  // for a repro model each gradient's kernels::SumSquares added in double in
  // parameter order.
  double GradientSquaredNorm() const;

  std::unique_ptr<Model> model_;
  NamedTensors parameters_;  // Trainable, in state order; what the optimizer updates.
  std::unique_ptr<Optimizer> optimizer_;
  torch::Device device_;
  torch::Tensor features_;  // [n, feature_shape...] over the dataset's memory (CPU) or a device copy.
  torch::Tensor labels_;    // [n] int64.
  SnapshotEncoder encoder_;
};

}  // namespace cairn::train
