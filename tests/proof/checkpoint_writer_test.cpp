// CheckpointWriter's error paths (proof/checkpoint_writer.h): a file
// operation that fails anywhere in a batch reaches CurrentStatus() and
// Finish(), stops all later writing, leaves no temporary behind, and the
// journal never names a checkpoint that is not durable. A resumed solver
// then completes the run exactly.

#include "proof/checkpoint_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "support/temp_dir.h"
#include "synthetic_run.h"
#include "util/fault_injection_env.h"
#include "util/file.h"

namespace cairn::proof::testing {
namespace {

using util::FaultInjectionEnv;
using util::FileOp;

constexpr char kWorkDir[] = "/node";
constexpr auto kErrorWaitMax = std::chrono::seconds(20);

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct FailureCase {
  std::string name;
  FileOp op;
  std::function<bool(const SolverPaths&, const std::string& path)> matches;
  uint64_t skip;  // Matching operations that succeed first (lockstep: checkpoints journaled before the failure).
};

std::vector<FailureCase> FailureCases() {
  auto in_store = [](const SolverPaths& p, const std::string& path) { return StartsWith(path, p.checkpoints + "/"); };
  auto journal_temp = [](const SolverPaths& p, const std::string& path) {
    return StartsWith(path, p.journal + ".tmp.");
  };
  return {
      {"checkpoint write (full disk)", FileOp::kAppend, in_store, 2},
      {"checkpoint create", FileOp::kCreateFile, in_store, 1},
      {"checkpoint fsync", FileOp::kSyncFile, in_store, 1},
      {"checkpoint rename", FileOp::kRename, in_store, 2},
      {"shard directory create", FileOp::kCreateDir, in_store, 1},
      {"shard directory fsync", FileOp::kSyncDir, in_store, 1},
      {"store directory fsync", FileOp::kSyncDir,
       [](const SolverPaths& p, const std::string& path) { return path == p.checkpoints; }, 1},
      {"journal write", FileOp::kAppend, journal_temp, 1},
      {"journal fsync", FileOp::kSyncFile, journal_temp, 2},
      {"journal rename", FileOp::kRename,
       [](const SolverPaths& p, const std::string& path) { return path == p.journal; }, 1},
      {"job folder fsync", FileOp::kSyncDir,
       [](const SolverPaths& p, const std::string& path) { return path == p.job_dir; }, 2},
  };
}

// The checkpoints a journal on `env` names (empty when there is none).
std::vector<Hash256> Named(FaultInjectionEnv* env, const SolverPaths& paths) {
  auto journal = ReadJournal(env, paths.journal);
  if (!journal.ok()) {
    ADD_FAILURE() << "the journal is unreadable: " << journal.status().ToString();
    return {};
  }
  return *journal ? (*journal)->checkpoints : std::vector<Hash256>{};
}

struct WriterRun {
  Status current;   // CurrentStatus() once it turned non-OK.
  Status finished;  // Finish().
  uint64_t operations_after_error = 0;
  uint64_t operations_at_end = 0;
};

// Feeds `run` to a writer over `env`; returns when Finish() did.
WriterRun FeedUntilError(FaultInjectionEnv* env, CheckpointStore* store, const SolverPaths& paths,
                         const SyntheticRun& run, Pacing pacing) {
  WriterRun result;
  CheckpointWriter writer(store, paths.journal, Journal{run.job_id, {}, {}});
  writer.Enqueue(run.checkpoints[0], std::nullopt);
  for (size_t i = 1; i < run.checkpoints.size(); ++i) {
    if (pacing == Pacing::kLockstep) WaitUntilJournaled(env, &writer, paths.journal, i);
    writer.Enqueue(run.checkpoints[i], run.segments[i - 1]);
  }
  // The error reaches CurrentStatus without Finish (the trainer polls it after each Enqueue).
  const auto deadline = std::chrono::steady_clock::now() + kErrorWaitMax;
  while ((result.current = writer.CurrentStatus()).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  // After an error nothing more is written, whatever is enqueued.
  result.operations_after_error = env->mutating_operations();
  if (!result.current.ok()) writer.Enqueue(run.checkpoints.back(), run.segments.back());
  result.finished = writer.Finish();
  result.operations_at_end = env->mutating_operations();
  return result;
}

void ExpectFailsCleanly(const FailureCase& failure, Pacing pacing, uint64_t skip) {
  const std::string context = failure.name + (pacing == Pacing::kEager ? " (eager)" : " (lockstep)");
  const SyntheticRun run = MakeRun(/*seed=*/11, /*checkpoint_count=*/8, /*parameter_floats=*/32);
  FaultInjectionEnv env;
  const SolverPaths paths = PathsFor(kWorkDir, run.job_id);
  ASSERT_TRUE(util::MakeDirsDurable(&env, paths.job_dir).ok());
  auto store = CheckpointStore::Open(&env, paths.checkpoints);
  ASSERT_TRUE(store.ok());
  const Status injected = IoError("injected failure of " + failure.name);
  env.InjectError(
      failure.op, [&](const std::string& path) { return failure.matches(paths, path); }, injected, skip);

  WriterRun result = FeedUntilError(&env, &*store, paths, run, pacing);
  ASSERT_EQ(result.current.code(), StatusCode::kIoError) << context << ": " << result.current.ToString();
  EXPECT_TRUE(Contains(result.current.message(), injected.message())) << context << ": " << result.current.ToString();
  EXPECT_EQ(result.finished.ToString(), result.current.ToString()) << context;
  EXPECT_EQ(result.operations_at_end, result.operations_after_error) << context << ": wrote after the error";
  for (const std::string& file : env.AllFiles()) {
    EXPECT_FALSE(util::IsTemporaryName(file)) << context << ": left a temporary: " << file;
  }

  // What the journal names now must be what survives a power loss.
  env.ClearInjectedErrors();
  std::vector<Hash256> named = Named(&env, paths);
  if (pacing == Pacing::kLockstep && failure.op != FileOp::kSyncDir) {
    EXPECT_GE(named.size(), 1u) << context << ": the failure came before any checkpoint was journaled";
  }
  env.SimulatePowerLoss();
  std::vector<Hash256> durable = Named(&env, paths);
  auto reopened = CheckpointStore::Open(&env, paths.checkpoints);
  ASSERT_TRUE(reopened.ok());
  for (size_t i = 0; i < named.size(); ++i) {
    EXPECT_EQ(named[i], CheckpointHash(run.checkpoints[i])) << context;
    EXPECT_TRUE(reopened->Get(named[i]).ok())
        << context << ": the journal named checkpoint " << i << ", which a power loss then took";
  }
  // A power loss may undo the last journal rewrite (when the failure hit its
  // directory fsync), never more: what survives is a prefix of what was named.
  ASSERT_LE(durable.size(), named.size()) << context;
  EXPECT_TRUE(std::equal(durable.begin(), durable.end(), named.begin())) << context;
  if (failure.op != FileOp::kSyncDir || !failure.matches(paths, paths.job_dir)) {
    EXPECT_EQ(durable.size(), named.size()) << context << ": a rewrite that returned OK was undone";
  }

  // A solver resumed on the repaired disk completes the run exactly.
  SolverOutcome resumed = RunSolver(&env, kWorkDir, run, Pacing::kEager);
  ASSERT_TRUE(resumed.status.ok()) << context << ": " << resumed.status.ToString();
  FaultInjectionEnv clean;
  SolverOutcome reference = RunSolver(&clean, kWorkDir, run, Pacing::kEager);
  ASSERT_TRUE(reference.status.ok());
  EXPECT_EQ(EncodeJournal(resumed.journal), EncodeJournal(reference.journal)) << context;
}

TEST(CheckpointWriter, AFailedFileOperationReachesTheProducerAndNamesNothingNotDurable) {
  for (const FailureCase& failure : FailureCases()) {
    ExpectFailsCleanly(failure, Pacing::kLockstep, failure.skip);
    ExpectFailsCleanly(failure, Pacing::kEager, /*skip=*/0);
  }
}

// A snapshot whose weights are not finite stops the writer with a message
// for the user; the checkpoints before it stay journaled.
TEST(CheckpointWriter, ADivergedSnapshotIsReportedAndNeverJournaled) {
  SyntheticRun run = MakeRun(/*seed=*/12, /*checkpoint_count=*/6, /*parameter_floats=*/32);
  constexpr size_t kDiverged = 3;
  {
    auto view = DecodeCheckpoint(run.checkpoints[kDiverged]);
    ASSERT_TRUE(view.ok());
    size_t offset = static_cast<size_t>(view->model.tensors[0].data.data - run.checkpoints[kDiverged].data());
    float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(run.checkpoints[kDiverged].data() + offset, &nan, sizeof(nan));
  }
  FaultInjectionEnv env;
  const SolverPaths paths = PathsFor(kWorkDir, run.job_id);
  ASSERT_TRUE(util::MakeDirsDurable(&env, paths.job_dir).ok());
  auto store = CheckpointStore::Open(&env, paths.checkpoints);
  ASSERT_TRUE(store.ok());
  WriterRun result = FeedUntilError(&env, &*store, paths, run, Pacing::kLockstep);
  EXPECT_EQ(result.finished.code(), StatusCode::kFailedPrecondition) << result.finished.ToString();
  EXPECT_TRUE(Contains(result.finished.message(), "training diverged")) << result.finished.ToString();
  EXPECT_TRUE(Contains(result.finished.message(), "step 30")) << result.finished.ToString();
  env.SimulatePowerLoss();
  std::vector<Hash256> named = Named(&env, paths);
  ASSERT_EQ(named.size(), kDiverged);
  EXPECT_FALSE(store->Has(CheckpointHash(run.checkpoints[kDiverged])));
}

// Without an Env the writer and store use the real file system, as before.
TEST(CheckpointWriter, WritesThroughThePosixEnvByDefault) {
  cairn::testing::TempDir dir;
  const SyntheticRun run = MakeRun(/*seed=*/13, /*checkpoint_count=*/4, /*parameter_floats=*/16);
  const SolverPaths paths = PathsFor(dir.path(), run.job_id);
  ASSERT_TRUE(util::MakeDirs(paths.job_dir).ok());
  auto store = CheckpointStore::Open(paths.checkpoints);
  ASSERT_TRUE(store.ok());
  CheckpointWriter writer(&*store, paths.journal, Journal{run.job_id, {}, {}});
  writer.Enqueue(run.checkpoints[0], std::nullopt);
  for (size_t i = 1; i < run.checkpoints.size(); ++i) writer.Enqueue(run.checkpoints[i], run.segments[i - 1]);
  ASSERT_TRUE(writer.Finish().ok());
  auto raw = util::ReadFile(paths.journal, kJournalBytesMax);
  ASSERT_TRUE(raw.ok());
  auto journal = DecodeJournal(*raw);
  ASSERT_TRUE(journal.ok());
  ASSERT_EQ(journal->checkpoints.size(), run.checkpoints.size());
  for (size_t i = 0; i < run.checkpoints.size(); ++i) {
    EXPECT_EQ(store->Get(journal->checkpoints[i]).value(), run.checkpoints[i]);
  }
  EXPECT_GT(journal->segments.back().update_norm, 0.0);
}

}  // namespace
}  // namespace cairn::proof::testing
