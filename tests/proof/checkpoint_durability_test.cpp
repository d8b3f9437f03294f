// The checkpoint store and the solver's journal under power loss, tested as
// leveldb's db/fault_injection_test.cc tests its log: the real
// CheckpointWriter and CheckpointStore run over a FaultInjectionEnv that
// loses power after N file operations (N swept over the whole run, and
// random N repeated), forgetting every write not yet durable. After each
// power loss a solver resumes as train/trainer.cpp does. Asserted:
//  - the journal is never torn and never names a checkpoint that is gone or
//    damaged, nor one outside the run;
//  - it names at least every checkpoint it named when its directory was last
//    fsynced (what was promised durable stays durable); after Finish() is OK
//    it names them all;
//  - no temporary file survives a power loss;
//  - continuing from the resumed point ends with the byte-identical journal
//    of an uninterrupted run (hence the identical certificate).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "proof/checkpoint_store.h"
#include "proof/checkpoint_writer.h"
#include "synthetic_run.h"
#include "util/fault_injection_env.h"
#include "util/file.h"

namespace cairn::proof::testing {
namespace {

using util::FaultInjectionEnv;
using util::FileOp;

constexpr char kWorkDir[] = "/node";

struct Reference {
  Journal journal;
  Bytes encoded;            // The journal file's bytes at the end.
  uint64_t operations = 0;  // Mutating file operations of the whole run.
};

Reference RunUninterrupted(const SyntheticRun& run, Pacing pacing) {
  FaultInjectionEnv env;
  SolverOutcome outcome = RunSolver(&env, kWorkDir, run, pacing);
  CAIRN_ASSERT(outcome.status.ok());
  Reference reference;
  reference.journal = outcome.journal;
  reference.encoded = env.ReadFile(PathsFor(kWorkDir, run.job_id).journal, kJournalBytesMax).value();
  reference.operations = env.mutating_operations();
  CAIRN_ASSERT(reference.journal.checkpoints.size() == run.checkpoints.size());
  CAIRN_ASSERT(EncodeJournal(reference.journal) == reference.encoded);
  return reference;
}

// How many checkpoints the journal named each time its directory was
// fsynced: from that moment they were promised durable.
class PromiseTracker {
 public:
  PromiseTracker(FaultInjectionEnv* env, const SolverPaths& paths) : env_(env) {
    env_->SetObserver([this, paths](FileOp op, const std::string& path) {
      if (op != FileOp::kSyncDir || path != paths.job_dir) return;
      auto journal = ReadJournal(env_, paths.journal);
      if (journal.ok() && *journal) {
        size_t named = (*journal)->checkpoints.size();
        size_t seen = promised_.load();
        while (named > seen && !promised_.compare_exchange_weak(seen, named)) {
        }
      }
    });
  }
  ~PromiseTracker() { env_->SetObserver(nullptr); }
  size_t promised() const { return promised_.load(); }

 private:
  FaultInjectionEnv* env_;
  std::atomic<size_t> promised_{0};
};

// Checks what a restarted solver finds after a power loss.
void ExpectDurableState(FaultInjectionEnv* env, const SyntheticRun& run, const Reference& reference, size_t promised,
                        bool finished_ok, const std::string& context) {
  const SolverPaths paths = PathsFor(kWorkDir, run.job_id);
  for (const std::string& file : env->AllFiles()) {
    EXPECT_FALSE(util::IsTemporaryName(file)) << context << ": a temporary survived: " << file;
  }
  auto journal = ReadJournal(env, paths.journal);
  ASSERT_TRUE(journal.ok()) << context << ": the journal is unreadable: " << journal.status().ToString();
  size_t named = 0;
  if (*journal) {
    const Journal& j = **journal;
    EXPECT_EQ(j.job_id, run.job_id) << context;
    named = j.checkpoints.size();
    ASSERT_LE(named, reference.journal.checkpoints.size()) << context;
    auto store = CheckpointStore::Open(env, paths.checkpoints);
    ASSERT_TRUE(store.ok()) << context << ": " << store.status().ToString();
    for (size_t i = 0; i < named; ++i) {
      EXPECT_EQ(j.checkpoints[i], reference.journal.checkpoints[i]) << context << ": checkpoint " << i;
      auto bytes = store->Get(j.checkpoints[i]);
      EXPECT_TRUE(bytes.ok()) << context << ": the journal names checkpoint " << i
                              << " but it is not intact: " << bytes.status().ToString();
    }
    for (size_t i = 0; i < j.segments.size(); ++i) {
      EXPECT_EQ(j.segments[i], reference.journal.segments[i]) << context << ": segment " << i;
    }
  }
  EXPECT_GE(named, promised) << context << ": checkpoints promised durable were lost";
  if (finished_ok) {
    EXPECT_EQ(named, run.checkpoints.size()) << context << ": Finish() was OK but checkpoints were lost";
  }
}

// Resumes after a power loss and checks that the run ends exactly as the uninterrupted one.
void ExpectResumeMatches(FaultInjectionEnv* env, const SyntheticRun& run, const Reference& reference, Pacing pacing,
                         const std::string& context) {
  SolverOutcome resumed = RunSolver(env, kWorkDir, run, pacing);
  ASSERT_TRUE(resumed.status.ok()) << context << ": resuming failed: " << resumed.status.ToString();
  EXPECT_EQ(EncodeJournal(resumed.journal), reference.encoded) << context;
  env->SimulatePowerLoss();  // What the resumed run finished with is durable.
  auto on_disk = env->ReadFile(PathsFor(kWorkDir, run.job_id).journal, kJournalBytesMax);
  ASSERT_TRUE(on_disk.ok()) << context << ": " << on_disk.status().ToString();
  EXPECT_EQ(*on_disk, reference.encoded) << context << ": the final journal differs from an uninterrupted run";
}

struct SweepParam {
  uint64_t seed;
  Pacing pacing;
};

class PowerLossSweep : public ::testing::TestWithParam<SweepParam> {};

// One power loss at every point of the run: after the first N file
// operations, for every N from 0 to past the end.
TEST_P(PowerLossSweep, EveryPointResumesToTheSameJournal) {
  const SweepParam param = GetParam();
  std::mt19937_64 rng(param.seed);
  const size_t checkpoint_count = 4 + rng() % 6;
  const size_t parameter_floats = 8 + rng() % 3000;
  const SyntheticRun run = MakeRun(param.seed, checkpoint_count, parameter_floats);
  const Reference reference = RunUninterrupted(run, Pacing::kLockstep);
  uint64_t points = 0;
  for (uint64_t crash_after = 0; crash_after <= reference.operations + 2; ++crash_after) {
    const std::string context =
        "seed " + std::to_string(param.seed) + ", power lost after " + std::to_string(crash_after) + " operations";
    FaultInjectionEnv env;
    size_t promised = 0;
    SolverOutcome interrupted;
    bool crashed = false;
    {
      PromiseTracker tracker(&env, PathsFor(kWorkDir, run.job_id));
      env.CrashAfter(crash_after);
      interrupted = RunSolver(&env, kWorkDir, run, param.pacing);
      crashed = env.crashed();
      promised = tracker.promised();
    }
    if (crashed) {
      points++;
      EXPECT_FALSE(interrupted.status.ok()) << context << ": the writer did not report the failed operations";
    }
    env.SimulatePowerLoss();
    ExpectDurableState(&env, run, reference, promised, interrupted.status.ok(), context);
    ExpectResumeMatches(&env, run, reference, param.pacing, context);
    if (::testing::Test::HasFailure()) return;  // One broken point is enough to read.
  }
  EXPECT_GT(points, reference.operations / 2);
  std::cout << "seed " << param.seed << " (" << checkpoint_count << " checkpoints, " << reference.operations
            << " file operations): " << points << " power-loss points\n";
}

std::vector<SweepParam> Sweeps(uint64_t first_seed, Pacing pacing) {
  std::vector<SweepParam> sweeps;
  for (uint64_t seed = first_seed; seed < first_seed + 8; ++seed) sweeps.push_back({seed, pacing});
  return sweeps;
}

INSTANTIATE_TEST_SUITE_P(Lockstep, PowerLossSweep, ::testing::ValuesIn(Sweeps(1, Pacing::kLockstep)));
INSTANTIATE_TEST_SUITE_P(Eager, PowerLossSweep, ::testing::ValuesIn(Sweeps(9, Pacing::kEager)));

// Several power losses in one run, at seeded random points, each followed
// by a resume that may itself be cut short.
TEST(CheckpointDurability, RepeatedPowerLossesStillEndWithTheSameJournal) {
  constexpr uint64_t kSeeds = 100;
  constexpr int kPowerLossesPerRunMax = 50;
  uint64_t power_losses = 0;
  for (uint64_t seed = 100; seed < 100 + kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    const SyntheticRun run = MakeRun(seed, 6 + rng() % 10, 8 + rng() % 500);
    const Reference reference = RunUninterrupted(run, Pacing::kEager);
    FaultInjectionEnv env;
    bool finished = false;
    for (int round = 0; round < kPowerLossesPerRunMax && !finished; ++round) {
      const std::string context = "seed " + std::to_string(seed) + ", power loss " + std::to_string(round);
      const Pacing pacing = rng() % 2 == 0 ? Pacing::kEager : Pacing::kLockstep;
      size_t promised = 0;
      SolverOutcome outcome;
      {
        PromiseTracker tracker(&env, PathsFor(kWorkDir, run.job_id));
        env.CrashAfter(rng() % (reference.operations / 2 + 1));
        outcome = RunSolver(&env, kWorkDir, run, pacing);
        promised = tracker.promised();
      }
      finished = outcome.status.ok() && !env.crashed();
      if (!finished) power_losses++;
      env.SimulatePowerLoss();
      ExpectDurableState(&env, run, reference, promised, finished, context);
      if (::testing::Test::HasFailure()) return;
    }
    ExpectResumeMatches(&env, run, reference, Pacing::kEager, "seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) return;
  }
  std::cout << kSeeds << " seeds: " << power_losses << " power losses\n";
}

}  // namespace
}  // namespace cairn::proof::testing
