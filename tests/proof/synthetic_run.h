// A synthetic, torch-free training run for the proof tests: a seeded stream
// of valid checkpoints (proof::EncodeCheckpoint) and the metadata of the
// segments between them, plus a solver loop that drives the real
// CheckpointWriter and CheckpointStore the way train/trainer.cpp does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "proof/checkpoint_writer.h"
#include "util/env.h"

namespace cairn::proof::testing {

struct SyntheticRun {
  Hash256 job_id;
  std::vector<Bytes> checkpoints;         // Checkpoint i is at step i * kStepsPerSegment.
  std::vector<SegmentMetadata> segments;  // segments[i] ends at checkpoint i + 1; update_norm left 0.
};

inline constexpr uint64_t kStepsPerSegment = 10;

// `checkpoint_count` checkpoints of a model with one trainable parameter of
// `parameter_floats` floats (with one SGD momentum tensor), a frozen
// parameter and an integer buffer; every value derives from `seed`.
SyntheticRun MakeRun(uint64_t seed, size_t checkpoint_count, size_t parameter_floats);

// Where the solver keeps its state under a work directory (docs/architecture.md).
struct SolverPaths {
  std::string checkpoints;  // WORK/checkpoints
  std::string job_dir;      // WORK/jobs/<job id>
  std::string journal;      // WORK/jobs/<job id>/journal
};
SolverPaths PathsFor(const std::string& work_dir, const Hash256& job_id);

// How the solver loop feeds the writer.
enum class Pacing {
  kEager,     // Everything at once: the writer takes large batches.
  kLockstep,  // Each checkpoint only after the previous one is journaled: batches of one, a fixed op sequence.
};

// What trainer.cpp does with the journal and the writer, over `env`: makes
// the job folder, opens the store, resumes from the last intact checkpoint
// the journal names (falling back past damaged ones), then writes the rest of
// `run`, stopping at the first error the writer reports (CurrentStatus).
// Returns Finish()'s status (or the set-up error) and the writer's journal.
struct SolverOutcome {
  Status status;
  Journal journal;
  size_t resumed_at = 0;  // Checkpoints the journal named when the solver started.
};
SolverOutcome RunSolver(util::Env* env, const std::string& work_dir, const SyntheticRun& run, Pacing pacing);

// Reads and decodes the journal at `path`: nullopt when there is none.
Result<std::optional<Journal>> ReadJournal(util::Env* env, const std::string& path);

// Waits until the journal at `path` names `count` checkpoints, the writer
// reports an error, or the journal cannot be read (the machine is down).
void WaitUntilJournaled(util::Env* env, CheckpointWriter* writer, const std::string& path, size_t count);

}  // namespace cairn::proof::testing
