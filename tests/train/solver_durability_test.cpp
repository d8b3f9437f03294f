// The solver under power loss, tested as leveldb's db/fault_injection_test.cc
// tests its database, at the level of a whole run: TrainJob (the in-process
// engine, a small MLP on the synthetic images) writes its checkpoint store,
// journal, lock, model and certificate through a util::FaultInjectionEnv
// that loses power after N mutating file operations, for every N over the
// whole run, and then several times in one run at seeded random points; each
// power loss forgets every write not yet made durable. After each, a fresh
// TrainJob resumes over the files that survived. Asserted:
//  - the journal is never torn, and every checkpoint it names is present,
//    intact, and the uninterrupted run's checkpoint at that position (with
//    that segment's metadata);
//  - it names at least every checkpoint it named when its directory was
//    last fsynced (what was promised durable stays durable), and all of them
//    once a run returned OK;
//  - no temporary file survives;
//  - the resumed solver restarts from the last checkpoint the journal names
//    (it never needs one that is gone) and ends with a certificate
//    byte-identical to the uninterrupted run's; that certificate, the model
//    file and every checkpoint the certificate names survive a further power
//    loss.
// The checks read files only: nothing they do makes anything durable.
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <random>

#include "proof/checkpoint_store.h"
#include "proof/checkpoint_writer.h"
#include "train_fixture.h"
#include "util/fault_injection_env.h"

namespace cairn::train::testing {
namespace {

using util::FaultInjectionEnv;
using util::FileOp;

constexpr char kWorkDir[] = "/node";

struct Paths {
  std::string job_dir;
  std::string journal;
  std::string certificate;
  std::string model;
};

Paths PathsFor(const job::JobSpec& spec) {
  Paths p;
  p.job_dir = std::string(kWorkDir) + "/jobs/" + job::JobId(spec).ToHex();
  p.journal = p.job_dir + "/journal";
  p.certificate = p.job_dir + "/certificate.bin";
  p.model = p.job_dir + "/model.bin";
  return p;
}

// DIR/checkpoints/<2 hex>/<62 hex> (docs/checkpoints.md), read without
// opening a store (which would make directories durable).
Status CheckpointIntact(FaultInjectionEnv* env, const Hash256& hash) {
  const std::string hex = hash.ToHex();
  auto bytes = env->ReadFile(std::string(kWorkDir) + "/checkpoints/" + hex.substr(0, 2) + "/" + hex.substr(2),
                             proof::kCheckpointBytesMax);
  if (!bytes.ok()) return bytes.status();
  if (proof::CheckpointHash(*bytes) != hash) return Corruption("checkpoint " + hex.substr(0, 16) + " is damaged");
  return Status::Ok();
}

// How many checkpoints the journal named each time its directory was
// fsynced: from that moment they were promised durable. The observer runs on
// whichever thread synced (the checkpoint writer's, mostly).
class PromiseTracker {
 public:
  PromiseTracker(FaultInjectionEnv* env, const Paths& paths) : env_(env) {
    env_->SetObserver([this, paths](FileOp op, const std::string& path) {
      if (op != FileOp::kSyncDir || path != paths.job_dir) return;
      auto raw = env_->ReadFile(paths.journal, proof::kJournalBytesMax);
      if (!raw.ok()) return;
      auto journal = proof::DecodeJournal(*raw);
      if (!journal.ok()) return;
      size_t named = journal->checkpoints.size();
      size_t seen = promised_.load();
      while (named > seen && !promised_.compare_exchange_weak(seen, named)) {
      }
    });
  }
  ~PromiseTracker() { env_->SetObserver(nullptr); }
  size_t promised() const { return promised_.load(); }

 private:
  FaultInjectionEnv* env_;
  std::atomic<size_t> promised_{0};
};

class SolverPowerLoss : public TrainFixture {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    spdlog::set_level(spdlog::level::warn);  // Hundreds of runs: only what goes wrong.
    paths_ = PathsFor(spec_);
    // The uninterrupted run, over the same kind of env.
    FaultInjectionEnv env;
    auto reference = TrainOver(&env);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    reference_ = proof::EncodeCertificate(reference->certificate);
    hashes_ = reference->certificate.checkpoint_hashes;
    segments_ = reference->certificate.segments;
    model_ = env.ReadFile(paths_.model, 1 << 30).value();
    operations_ = env.mutating_operations();
    ASSERT_EQ(hashes_.size(), 9u);  // Steps 0, 5, ..., 40.
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  Result<TrainResult> TrainOver(FaultInjectionEnv* env) {
    TrainOptions options;
    options.env = env;
    return Train(kWorkDir, spec_, options);
  }

  // What a restarted solver finds after a power loss. Returns the step it
  // must resume from: that of the last checkpoint the journal names.
  uint64_t ExpectDurableState(FaultInjectionEnv* env, size_t promised, bool finished_ok, const std::string& context) {
    for (const std::string& file : env->AllFiles()) {
      EXPECT_FALSE(util::IsTemporaryName(file.substr(file.rfind('/') + 1))) << context << ": a temporary survived: " << file;
    }
    size_t named = 0;
    if (env->FileExists(paths_.journal)) {
      auto raw = env->ReadFile(paths_.journal, proof::kJournalBytesMax);
      EXPECT_TRUE(raw.ok()) << context << ": " << raw.status().ToString();
      if (!raw.ok()) return 0;
      auto journal = proof::DecodeJournal(*raw);
      EXPECT_TRUE(journal.ok()) << context << ": the journal is torn: " << journal.status().ToString();
      if (!journal.ok()) return 0;
      EXPECT_EQ(journal->job_id, job::JobId(spec_)) << context;
      named = journal->checkpoints.size();
      EXPECT_LE(named, hashes_.size()) << context;
      for (size_t i = 0; i < named && i < hashes_.size(); ++i) {
        EXPECT_EQ(journal->checkpoints[i], hashes_[i]) << context << ": checkpoint " << i;
        Status intact = CheckpointIntact(env, journal->checkpoints[i]);
        EXPECT_TRUE(intact.ok()) << context << ": the journal names checkpoint " << i
                                 << ", which is gone or damaged: " << intact.ToString();
      }
      for (size_t i = 0; i < journal->segments.size() && i < segments_.size(); ++i) {
        EXPECT_EQ(journal->segments[i], segments_[i]) << context << ": segment " << i;
      }
    }
    EXPECT_GE(named, promised) << context << ": checkpoints promised durable were lost";
    if (finished_ok) {
      EXPECT_EQ(named, hashes_.size()) << context << ": the run returned OK but checkpoints were lost";
      auto certificate = env->ReadFile(paths_.certificate, 1 << 20);
      EXPECT_TRUE(certificate.ok() && *certificate == reference_)
          << context << ": the run returned OK but its certificate did not survive";
    }
    if (named <= 1) return 0;
    return segments_[named - 2].end_step;
  }

  // The resumed run ended OK with `resumed`: the same certificate, and it
  // survives a further power loss along with everything it names.
  void ExpectFinishedLikeTheReference(FaultInjectionEnv* env, const TrainResult& resumed, const std::string& context) {
    EXPECT_EQ(proof::EncodeCertificate(resumed.certificate), reference_)
        << context << ": the resumed run's certificate differs from an uninterrupted run's";
    env->SimulatePowerLoss();
    auto certificate = env->ReadFile(paths_.certificate, 1 << 20);
    ASSERT_TRUE(certificate.ok()) << context << ": " << certificate.status().ToString();
    EXPECT_EQ(*certificate, reference_) << context << ": certificate.bin differs";
    auto model = env->ReadFile(paths_.model, 1 << 30);
    ASSERT_TRUE(model.ok()) << context << ": " << model.status().ToString();
    EXPECT_EQ(*model, model_) << context << ": model.bin differs";
    for (size_t i = 0; i < resumed.certificate.checkpoint_hashes.size(); ++i) {
      Status intact = CheckpointIntact(env, resumed.certificate.checkpoint_hashes[i]);
      EXPECT_TRUE(intact.ok()) << context << ": the certificate names checkpoint " << i
                               << ", which did not survive: " << intact.ToString();
    }
  }

  Paths paths_;
  Bytes reference_;  // The uninterrupted run's certificate.
  std::vector<Hash256> hashes_;
  std::vector<proof::SegmentMetadata> segments_;
  Bytes model_;
  uint64_t operations_ = 0;  // Mutating file operations of the uninterrupted run.
};

TEST_F(SolverPowerLoss, TheEnvDoesNotChangeTheCertificate) {
  auto posix = Train(dir_ / "posix", spec_);
  ASSERT_TRUE(posix.ok()) << posix.status().ToString();
  EXPECT_EQ(proof::EncodeCertificate(posix->certificate), reference_);
}

TEST_F(SolverPowerLoss, TheJobLockIsTakenThroughTheEnvAndDiesWithThePower) {
  FaultInjectionEnv env;
  ASSERT_TRUE(util::MakeDirsDurable(&env, paths_.job_dir).ok());
  auto held = env.LockFile(paths_.job_dir + "/lock");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  auto refused = TrainOver(&env);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  env.SimulatePowerLoss();  // The process that held it is gone.
  auto after = TrainOver(&env);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(proof::EncodeCertificate(after->certificate), reference_);
  held->reset();  // Released after the power loss: a no-op.
}

// One power loss at every point of the run: after the first N mutating file
// operations, for every N from 0 to past the end.
TEST_F(SolverPowerLoss, AtEveryPointResumesToTheIdenticalCertificate) {
  uint64_t points = 0;
  for (uint64_t crash_after = 0; crash_after <= operations_ + 2; ++crash_after) {
    const std::string context = "power lost after " + std::to_string(crash_after) + " of " +
                                std::to_string(operations_) + " operations";
    FaultInjectionEnv env;
    Result<TrainResult> interrupted = InvalidArgument("not run");
    size_t promised = 0;
    bool crashed = false;
    {
      PromiseTracker tracker(&env, paths_);
      env.CrashAfter(crash_after);
      interrupted = TrainOver(&env);
      crashed = env.crashed();
      promised = tracker.promised();
    }
    if (crashed) {
      points++;
      EXPECT_FALSE(interrupted.ok()) << context << ": the solver did not notice its failed writes";
    }
    env.SimulatePowerLoss();
    const uint64_t resume_step = ExpectDurableState(&env, promised, interrupted.ok(), context);
    auto resumed = TrainOver(&env);
    ASSERT_TRUE(resumed.ok()) << context << ": resuming failed: " << resumed.status().ToString();
    EXPECT_EQ(resumed->resumed_from_step, resume_step)
        << context << ": the solver did not resume from the journal's last checkpoint";
    ExpectFinishedLikeTheReference(&env, *resumed, context);
    if (::testing::Test::HasFailure()) return;  // One broken point is enough to read.
  }
  EXPECT_GT(points, operations_ / 2);
  std::cout << operations_ << " file operations in the run: " << points << " power-loss points\n";
}

// Several power losses in one run at seeded random points, each resume
// possibly cut short again, until a run completes.
TEST_F(SolverPowerLoss, RepeatedPowerLossesStillEndWithTheIdenticalCertificate) {
  constexpr uint64_t kSeeds = 12;
  constexpr int kPowerLossesPerRunMax = 40;
  uint64_t power_losses = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    FaultInjectionEnv env;
    uint64_t resume_step = 0;
    bool finished = false;
    for (int round = 0; round < kPowerLossesPerRunMax && !finished; ++round) {
      const std::string context = "seed " + std::to_string(seed) + ", round " + std::to_string(round);
      Result<TrainResult> run = InvalidArgument("not run");
      size_t promised = 0;
      {
        PromiseTracker tracker(&env, paths_);
        // Early rounds crash early; the budget grows so that every run ends.
        env.CrashAfter(rng() % (operations_ / 4 + 1) + static_cast<uint64_t>(round) * 2);
        run = TrainOver(&env);
        promised = tracker.promised();
      }
      finished = run.ok() && !env.crashed();
      if (finished) {
        EXPECT_EQ(run->resumed_from_step, resume_step) << context;
        ExpectFinishedLikeTheReference(&env, *run, context);
        break;
      }
      power_losses++;
      env.SimulatePowerLoss();
      resume_step = ExpectDurableState(&env, promised, run.ok(), context);
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_TRUE(finished) << "seed " << seed << ": no run completed in " << kPowerLossesPerRunMax << " rounds";
    if (::testing::Test::HasFailure()) return;
  }
  std::cout << kSeeds << " seeds: " << power_losses << " power losses\n";
}

}  // namespace
}  // namespace cairn::train::testing
