// Engine: the computation of one job (its model, optimizer and data), behind
// a torch-free interface, so that the solver and the verifier drive training
// the same way whether it runs in this process or in a sandboxed worker
// process (docs/sandbox.md). The solver and verifier keep everything that
// needs trust (keys, files, the checkpoint store, verdicts) on their side;
// the engine only computes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "data/dataset.h"
#include "job/spec.h"
#include "proof/op_trace.h"
#include "train/evaluate.h"
#include "train/export.h"
#include "train/train.h"

namespace cairn::train {

// What one segment of training produced.
struct SegmentResult {
  Bytes checkpoint;  // Canonical checkpoint bytes at the segment's end.
  double loss_sum = 0;
  uint64_t steps = 0;
  double grad_norm_last = 0;  // Gradient norm at the segment's last step.
  double last_loss = 0;
  // Time the engine's training thread spent taking the snapshot (in-process
  // engine; a sandboxed worker does not report it).
  double snapshot_seconds = 0;
};

// Called after each step with (step, loss); may be rate-limited by a worker.
using StepCallback = std::function<void(uint64_t step, double loss)>;
// Called with each segment of steps [begin, end) as soon as its checkpoint
// is ready; a non-OK status stops training (RunSegments returns it).
using SegmentCallback = std::function<Status(uint64_t begin, uint64_t end, SegmentResult result)>;

// Errors an engine returns: FailedPrecondition for what the job or the
// state it was given causes (a non-finite loss, the model failing),
// ResourceExhausted for a limit hit (memory, CPU time, wall time), Internal
// when a worker crashed, InvalidArgument for inputs that do not load.
// Where an engine runs, as applied (recorded in certificates) and in words.
struct EngineEnvironment {
  proof::Environment applied;
  std::string description;  // "cpu (libtorch 1.13.0, 1 thread(s), OpenBLAS Haswell)".
};

// Per-step hashes answered in one StepHashes call, at most.
inline constexpr uint64_t kStepHashesPerCallMax = 1'000'000;

// Recomputes one traced operator from its input blob (docs/pinpoint.md):
// the referee's whole computation in a dispute. Engine implements it; a
// referee that holds no job starts one with StartOpRecomputer.
class OpRecomputer {
 public:
  virtual ~OpRecomputer() = default;
  // Decodes `inputs` (sizes checked), checks it against `record`'s input
  // descriptors and generator state, runs the operator the record names
  // (looked up in libtorch's dispatcher by name and overload) on them and
  // returns proof::OutputHash of what it produced. InvalidArgument for a
  // blob that does not match the record, an unknown operator, or arguments
  // of the wrong number or kind; FailedPrecondition if the operator fails.
  virtual Result<Hash256> RecomputeOp(const proof::OpRecord& record, ByteView inputs) = 0;
};

class Engine : public OpRecomputer {
 public:
  virtual ~Engine() = default;
  virtual const EngineEnvironment& environment() const = 0;
  // The job's initial state (checkpoint 0), computed from the spec.
  virtual Result<Bytes> InitialCheckpoint() = 0;
  // Restores a checkpoint, all or nothing; returns its step.
  virtual Result<uint64_t> Restore(ByteView checkpoint) = 0;
  // Trains steps [begin, end) from the current state.
  virtual Result<SegmentResult> RunSegment(uint64_t begin, uint64_t end, const StepCallback& on_step) = 0;
  // Trains steps [begin, end) as consecutive segments that end at begin +
  // interval, begin + 2·interval, ... and at `end`, passing each segment's
  // result to `on_segment` in order: the solver's run in one call, so that a
  // worker trains the next segment while the caller stores the last
  // checkpoint. Stops at the first error (of training or of on_segment).
  // This default runs RunSegment for each segment; on_segment runs on the
  // calling thread either way. REQUIRES: interval > 0.
  virtual Status RunSegments(uint64_t begin, uint64_t end, uint64_t interval, const StepCallback& on_step,
                             const SegmentCallback& on_segment);
  // Scores a model file of this job on its evaluation set (train/evaluate.h).
  virtual Result<EvalResult> Evaluate(ByteView model_file) = 0;
  // Exports a model file of this job to PyTorch (train/export.h). For a
  // TorchScript job this loads the job's module, i.e. may run its code.
  virtual Result<ExportedModel> Export(ByteView model_file) = 0;
  // Hands back the bytes of a checkpoint this engine returned, once the
  // caller is done with them, so that a later one can reuse their memory
  // (the in-process engine copies the state into them). Optional; may be
  // called from any thread, also while a segment runs.
  virtual void Recycle(Bytes checkpoint) { (void)checkpoint; }

  // ---- The pinpoint protocol (docs/pinpoint.md) ----
  // These run on the engine's current state; after Restore(checkpoint at
  // step s) the state is the one before step s. The in-process and worker
  // engines implement them; the defaults fail (FailedPrecondition).

  // Level 1: trains steps [begin, end) from the current state (which must
  // be the one at `begin`: FailedPrecondition otherwise) and returns, for
  // each, proof::CheckpointHash of the snapshot after it:
  // element i is the hash of the state at step begin + i + 1, so the last is
  // the checkpoint a certificate commits at `end`. Leaves the state at `end`.
  // REQUIRES: end - begin <= kStepHashesPerCallMax.
  virtual Result<std::vector<Hash256>> StepHashes(uint64_t begin, uint64_t end);
  // Level 2: runs step `step` from the current state (which must be the one
  // at `step`: FailedPrecondition otherwise) with its ATen operators traced,
  // and returns the trace. Leaves the state after the step (at step + 1),
  // the same state RunSegment(step, step + 1) leaves.
  virtual Result<proof::StepTrace> TraceStep(uint64_t step);
  // The input blob of record `op_index` of step `step`'s trace: traces the
  // step again from the current state (which must be the one at `step`) and
  // puts the state back, so it is still the one at `step`. NotFound if the
  // step has fewer records; FailedPrecondition if the record takes an
  // argument that cannot be encoded.
  virtual Result<Bytes> OpInputs(uint64_t step, uint64_t op_index);
  Result<Hash256> RecomputeOp(const proof::OpRecord& record, ByteView inputs) override;
};

struct EngineOptions {
  WorkerOptions worker;
  // Refuse, before training, a model whose step is not a function of its
  // state and seed (TrainingSession::CheckRandomnessIsControlled). Solvers do.
  bool check_randomness = false;
  // In-process only: adversarial test hooks.
  CheatHooks cheat;
};

// Applies the job's profile and builds the model (in the worker, when
// isolated: the worker reads its own inputs and then can open no file).
// REQUIRES: the spec's inputs are resolved (job::ResolveJobInputs), `dataset`
// is its training set and `evaluation` its evaluation set (if it has one),
// both outliving the engine; for an isolated engine the spec's paths must
// name the files the worker will read.
Result<std::unique_ptr<Engine>> StartEngine(const job::JobSpec& spec, const data::Dataset& dataset,
                                            const data::Dataset* evaluation,
                                            const EngineOptions& options);

// A recomputer for a referee, which holds no job: in a sandboxed worker
// (`cairn worker`, docs/sandbox.md) that loads nothing but applies
// `profile` (threads, CPU capability, ... : an operator's bits depend on
// them, so the job's profile) and recomputes operators from their blobs,
// or in this process when !worker.isolated (tests; applies the profile to
// this process).
Result<std::unique_ptr<OpRecomputer>> StartOpRecomputer(const job::ExecutionProfile& profile,
                                                        const WorkerOptions& worker);

// The worker's side: `cairn worker` calls this with nothing else done; it
// speaks the worker protocol on the descriptors Child::Spawn installed and
// returns the process exit code.
int RunWorker();

}  // namespace cairn::train
