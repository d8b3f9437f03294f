#include "synthetic_run.h"

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "util/file.h"

namespace cairn::proof::testing {
namespace {

Bytes Floats(const std::vector<float>& values) {
  Bytes out(values.size() * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());  // Little-endian hosts only, like cairn.
  return out;
}

TensorView Tensor(std::string name, TensorRole role, DType dtype, uint64_t numel, const Bytes& data) {
  TensorView t;
  t.name = std::move(name);
  t.role = role;
  t.dtype = dtype;
  t.dims = {static_cast<int64_t>(numel)};
  t.numel = numel;
  t.data = ByteView(data);
  return t;
}

}  // namespace

SyntheticRun MakeRun(uint64_t seed, size_t checkpoint_count, size_t parameter_floats) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  SyntheticRun run;
  for (auto& b : run.job_id.bytes) b = static_cast<uint8_t>(rng());
  std::vector<float> weights(parameter_floats), momentum(parameter_floats, 0.0f);
  for (float& w : weights) w = noise(rng);
  const Bytes frozen = Floats(std::vector<float>(4, 0.5f));
  for (size_t i = 0; i < checkpoint_count; ++i) {
    const uint64_t step = i * kStepsPerSegment;
    if (i > 0) {
      for (size_t e = 0; e < parameter_floats; ++e) {
        momentum[e] = 0.9f * momentum[e] + noise(rng);
        weights[e] -= 0.01f * momentum[e];
      }
    }
    Bytes weight_bytes = Floats(weights), momentum_bytes = Floats(momentum);
    int64_t counter = static_cast<int64_t>(step);
    Bytes counter_bytes(sizeof(counter));
    std::memcpy(counter_bytes.data(), &counter, sizeof(counter));
    Bytes model = EncodeModelState({
        Tensor("w", TensorRole::kParameter, DType::kFloat32, parameter_floats, weight_bytes),
        Tensor("frozen", TensorRole::kFrozenParameter, DType::kFloat32, 4, frozen),
        Tensor("steps_seen", TensorRole::kBuffer, DType::kInt64, 1, counter_bytes),
    });
    run.checkpoints.push_back(EncodeCheckpoint(step, model, /*optimizer_kind=*/1, /*optimizer_steps=*/step,
                                               /*state_per_parameter=*/1, {ByteView(momentum_bytes)}));
    if (i > 0) {
      SegmentMetadata segment;
      segment.start_step = step - kStepsPerSegment;
      segment.end_step = step;
      segment.loss_mean = 2.0 / static_cast<double>(i) + noise(rng);
      segment.grad_norm_last = 1.0 + noise(rng);
      run.segments.push_back(segment);
    }
  }
  return run;
}

SolverPaths PathsFor(const std::string& work_dir, const Hash256& job_id) {
  SolverPaths paths;
  paths.checkpoints = work_dir + "/checkpoints";
  paths.job_dir = work_dir + "/jobs/" + job_id.ToHex();
  paths.journal = paths.job_dir + "/journal";
  return paths;
}

Result<std::optional<Journal>> ReadJournal(util::Env* env, const std::string& path) {
  auto raw = env->ReadFile(path, kJournalBytesMax);
  if (!raw.ok() && raw.status().code() == StatusCode::kNotFound) return std::optional<Journal>();
  if (!raw.ok()) return raw.status();
  CAIRN_ASSIGN_OR_RETURN(Journal journal, DecodeJournal(*raw));
  return std::optional<Journal>(std::move(journal));
}

void WaitUntilJournaled(util::Env* env, CheckpointWriter* writer, const std::string& path, size_t count) {
  for (;;) {
    if (!writer->CurrentStatus().ok()) return;
    auto current = ReadJournal(env, path);
    if (!current.ok()) return;  // The machine is down, or the journal is bad: the caller sees it.
    if (*current && (*current)->checkpoints.size() >= count) return;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

namespace {

Status RunSolverOrError(util::Env* env, const std::string& work_dir, const SyntheticRun& run, Pacing pacing,
                        SolverOutcome* outcome) {
  const SolverPaths paths = PathsFor(work_dir, run.job_id);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(env, paths.job_dir));
  CAIRN_ASSIGN_OR_RETURN(CheckpointStore store, CheckpointStore::Open(env, paths.checkpoints));
  Journal journal{run.job_id, {}, {}};
  Bytes restored;
  CAIRN_ASSIGN_OR_RETURN(std::optional<Journal> on_disk, ReadJournal(env, paths.journal));
  if (on_disk) {
    journal = std::move(*on_disk);
    if (journal.job_id != run.job_id) return Corruption(paths.journal + " belongs to another job");
    while (!journal.checkpoints.empty()) {  // As trainer.cpp: skip damaged checkpoints.
      auto last = store.Get(journal.checkpoints.back());
      if (last.ok()) {
        restored = std::move(*last);
        break;
      }
      journal.checkpoints.pop_back();
      if (!journal.segments.empty()) journal.segments.pop_back();
    }
  }
  size_t next = journal.checkpoints.size();
  outcome->resumed_at = next;
  CheckpointWriter writer(&store, paths.journal, journal);
  if (next == 0) {
    writer.Enqueue(run.checkpoints[0], std::nullopt);
    next = 1;
  } else {
    writer.SetPrevious(std::move(restored));
  }
  for (size_t i = next; i < run.checkpoints.size(); ++i) {
    if (pacing == Pacing::kLockstep) WaitUntilJournaled(env, &writer, paths.journal, i);
    writer.Enqueue(run.checkpoints[i], run.segments[i - 1]);
    if (!writer.CurrentStatus().ok()) break;  // As the trainer: stop at the next checkpoint.
  }
  Status finished = writer.Finish();
  outcome->journal = writer.journal();
  return finished;
}

}  // namespace

SolverOutcome RunSolver(util::Env* env, const std::string& work_dir, const SyntheticRun& run, Pacing pacing) {
  SolverOutcome outcome;
  outcome.status = RunSolverOrError(env, work_dir, run, pacing, &outcome);
  return outcome;
}

}  // namespace cairn::proof::testing
