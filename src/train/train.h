// The training engine's public, torch-free interface: the local solver
// (TrainJob) and the local verifier (VerifyJob) that the daemon roles call.
// libtorch stays inside src/train/*.cpp; nothing here includes it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "data/dataset.h"
#include "job/spec.h"
#include "proof/certificate.h"
#include "sandbox/limits.h"
#include "train/evaluate.h"

namespace cairn::util {
class Env;
}  // namespace cairn::util

namespace cairn::train {

// Applies a profile to this process before any tensor work: intra-op
// threads, ATen CPU capability, oneDNN, deterministic algorithms; checks the
// BLAS and OpenBLAS core type it cannot change and says so when they differ.
// Returns the environment as applied (recorded in certificates).
Result<proof::Environment> ApplyProfile(const job::ExecutionProfile& profile);

// "cpu (libtorch 1.13.0, 1 thread, OpenBLAS Haswell)" or the CUDA device.
std::string DescribeDevice();

struct Progress {
  uint64_t step = 0;
  uint64_t total_steps = 0;
  double loss = 0;
  double steps_per_second = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

// Test hooks for adversarial solvers (tests/adversarial). A real solver
// never sets them; they let tests fabricate the cheats a verifier must catch.
struct CheatHooks {
  // Called with (step, learning rate) -> learning rate actually used.
  std::function<double(uint64_t, double)> learning_rate;
  // Replaces the batch order: (step) -> dataset indices.
  std::function<std::vector<uint32_t>(uint64_t)> batch_indices;
  // Corrupts one operator of a step: (step) -> the index of a record in
  // that step's trace (docs/pinpoint.md) whose first tensor output gets its
  // lowest bit flipped as the operator returns, or nullopt.
  std::function<std::optional<uint64_t>(uint64_t)> corrupt_op_output;
  // profile.kernels = "repro" only: sees (step, op, values, count) for the
  // output of every operator of each step's forward pass (op = 0, 1, ... in
  // the order they run) and may change it in place (one ulp, say).
  std::function<void(uint64_t, uint32_t, float*, int64_t)> repro_output;
  // Lower precision: (step) -> true to round every float32 parameter and
  // optimizer state tensor to bfloat16 (round to nearest even) and back
  // after the step's update, as a solver training in bf16 would leave them.
  std::function<bool(uint64_t)> round_to_bfloat16;

  bool any() const { return learning_rate || batch_indices || corrupt_op_output || repro_output || round_to_bfloat16; }
};

// Where training and replay run: in a sandboxed worker process (`cairn
// worker`, docs/sandbox.md; the default for anything that runs submitted
// code) or in this process (tests with cheat hooks, benchmarks).
struct WorkerOptions {
  bool isolated = true;
  // The cairn binary to run as `BINARY worker`; "" = this process's own
  // executable (/proc/self/exe). Test binaries point it at the built cairn.
  std::string binary;
  sandbox::Limits limits;
};

struct TrainOptions {
  std::string work_dir;  // checkpoints/ (content-addressed) and jobs/<job id>/.
  const crypto::KeyPair* solver_key = nullptr;
  bool resume = true;  // Continue from the last durable checkpoint if there is one.
  ProgressCallback on_progress;
  double progress_interval_seconds = 0.5;
  // Stop (as if killed) after this step; for tests of resume. 0 = run to the end.
  uint64_t stop_after_step = 0;
  // Plain training without checkpoints or certificate (benchmark baseline,
  // in this process).
  bool plain = false;
  WorkerOptions worker;
  CheatHooks cheat;  // Requires worker.isolated = false.
  // The job's evaluation set, when it has one: the final model's test loss
  // and accuracy go into the certificate. REQUIRES: outlives the call.
  const data::Dataset* evaluation = nullptr;
  // The file layer under everything the solver keeps in work_dir: the
  // checkpoint store, the journal, the job's lock, model and certificate.
  // nullptr = util::Env::Default() (POSIX); tests substitute a
  // util::FaultInjectionEnv to lose power mid-run. REQUIRES: outlives the call.
  util::Env* env = nullptr;
};

struct TrainResult {
  proof::Certificate certificate;
  std::string certificate_path;
  uint64_t resumed_from_step = 0;
  uint64_t steps_run = 0;
  double seconds = 0;           // Wall time of the run, including startup and finalize_seconds.
  double startup_seconds = 0;   // Starting the engine (the sandboxed worker: process, inputs, model).
  double finalize_seconds = 0;  // After the last step: waiting for checkpoints to be durable, writing the certificate.
  // Of the training loop, the time spent on checkpoints rather than steps:
  // taking snapshots (in-process engine; a sandboxed worker takes them in
  // its own process, concurrently with its training) and handing them to the
  // checkpoint writer, including any wait for room in its queue.
  double checkpoint_seconds = 0;
  double final_loss = 0;
  std::optional<EvalResult> evaluation;  // When the job has an evaluation set.
};

// Trains `spec` on `dataset` (already resolved: hashes filled and checked),
// writing checkpoints every k steps and the signed certificate. A NaN or Inf
// loss stops training with an error naming the step, and no certificate.
Result<TrainResult> TrainJob(const job::JobSpec& spec, const data::Dataset& dataset, const TrainOptions& options);

struct SegmentCheck {
  uint32_t segment = 0;
  uint64_t start_step = 0;
  uint64_t end_step = 0;
  bool passed = false;
  std::string detail;  // Why it failed, in words.
  // Distances of the replayed checkpoint from the committed one (weights).
  double l2_relative = 0;
  double linf = 0;
  double cosine_distance = 0;
  // Largest relative difference of the replay's loss_mean and
  // grad_norm_last from the signed ones (what tolerance mode bounds by
  // l2_relative_max).
  double metadata_relative = 0;
};

struct VerifyOptions {
  std::string checkpoint_dir;  // Where the committed checkpoints can be read.
  const crypto::KeyPair* verifier_key = nullptr;
  bool all_segments = false;
  // Replay exactly these segments instead of a sample (the referee replays
  // the ones a challenger's report names). Indices past the end are refused.
  std::vector<uint32_t> segments;
  // With a sample (not `segments` or `all_segments`): also replay these (the
  // segments the ledger makes this verifier answer for), and never these
  // (a revealed forced error, known to disagree). Past-the-end ones are ignored.
  std::vector<uint32_t> required_segments;
  std::vector<uint32_t> skipped_segments;
  // The key the certificate must be signed by; unset = any (reported).
  std::optional<crypto::PublicKey> expected_solver;
  WorkerOptions worker;
  // The job's evaluation set, when it has one: the claimed test loss and
  // accuracy are recomputed. REQUIRES: outlives the call.
  const data::Dataset* evaluation = nullptr;
  // profile.kernels = "repro" only: replay with this many threads instead of
  // the job's (0 = the job's); the bits do not depend on it. Which kernels
  // backend runs is CAIRN_KERNELS_BACKEND's (or the best this CPU has).
  uint32_t threads = 0;
};

struct VerifyReport {
  bool accepted = false;
  std::string reason;  // First failure, or "".
  std::vector<uint32_t> sampled;
  // One per replayed segment; a segment whose signed update norm is false
  // is a failed check too (not replayed: the norm pass stops there).
  std::vector<SegmentCheck> checks;
  double seconds = 0;
  uint64_t steps_replayed = 0;
};

// Checks a certificate against its job and replays sampled segments (or all).
// A Status error means the verifier could not do its job (bad input, missing
// files, a profile it cannot apply); a rejection is a report with accepted=false.
Result<VerifyReport> VerifyJob(const job::JobSpec& spec, const data::Dataset& dataset,
                               const proof::Certificate& certificate, const VerifyOptions& options);

// Tolerance profiling: replays `segments` under perturbed thread counts and
// returns thresholds (max observed distance x safety factor, with floors).
struct ToleranceProfile {
  double l2_relative_max = 0;
  double linf_max = 0;
  double cosine_distance_max = 0;
  std::vector<SegmentCheck> observations;
};
Result<ToleranceProfile> ProfileTolerance(const job::JobSpec& spec, const data::Dataset& dataset,
                                          const proof::Certificate& certificate, const std::string& checkpoint_dir,
                                          const std::vector<uint32_t>& segments, const WorkerOptions& worker = {});

struct Estimate {
  uint64_t steps = 0;
  uint64_t parameters = 0;
  double flops_per_step = 0;  // Forward + backward + optimizer, approximate.
  uint64_t checkpoints = 0;
  uint64_t checkpoint_bytes = 0;  // One checkpoint.
  uint64_t storage_bytes = 0;     // All of them.
};
// Builds the job's model to count its parameters: in a sandboxed worker
// when worker.isolated (the default; a TorchScript module's code may run
// when it is loaded), which reads the spec's inputs itself; in this process
// otherwise (tests). REQUIRES: the spec's inputs are resolved and `dataset`
// is its training set.
Result<Estimate> EstimateJob(const job::JobSpec& spec, const data::Dataset& dataset, const WorkerOptions& worker = {});

}  // namespace cairn::train
