// The deterministic simulation under ctest: seven scenarios over 460 seeds in
// all, split into shards (one ctest each) so that two cores share them. A
// failure names its scenario and seed; to replay that one run, with a trace
// of what every node did:
//
//   CAIRN_SIM_SEED=17 CAIRN_SIM_TRACE=1 build/tests/sim/sim_test --gtest_filter='Seeds/*/Faults_*'
//
// CAIRN_SIM_SEEDS=N runs N seeds per scenario instead (a longer soak).
//
// The DISABLED_ tests at the end are scenarios in which the simulation found
// a real bug in a role or in the ledger; each says what and on which seed.
// Run them with --gtest_also_run_disabled_tests; enable each once its bug is
// fixed.
#include "sim/simulation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace cairn::sim {
namespace {

constexpr int kShards = 4;

std::optional<uint64_t> EnvNumber(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::strtoull(v, nullptr, 10);
}

// Runs seeds first..last (or only CAIRN_SIM_SEED) and fails the test once
// per violation, naming the seed and how to replay it.
RunStats ExpectEveryInvariant(const Scenario& scenario, uint64_t first, uint64_t last, const std::string& filter) {
  if (auto only = EnvNumber("CAIRN_SIM_SEED")) first = last = *only;
  const std::string disabled = filter.find("DISABLED_") != std::string::npos ? " --gtest_also_run_disabled_tests" : "";
  RunStats total;
  for (uint64_t seed = first; seed <= last; ++seed) {
    RunReport r = RunSimulation(scenario, seed);
    total.Add(r.stats);
    for (const std::string& v : r.violations) {
      ADD_FAILURE() << scenario.name << " seed " << seed << ": " << v << "\n  replay: CAIRN_SIM_SEED=" << seed
                    << " CAIRN_SIM_TRACE=1 sim_test" << disabled << " --gtest_filter='" << filter << "'";
    }
  }
  std::cout << scenario.name << " seeds " << first << ".." << last << ": " << total.ToString() << "\n";
  return total;
}

// Short windows and no faults: every claimed job settles within ~40 blocks.
Scenario Calm(const std::string& name) {
  Scenario s;
  s.name = name;
  s.active_ticks = 60;
  s.claim_window_blocks = 10;
  s.commit_window_blocks = 20;
  s.challenge_window_blocks = 10;
  return s;
}

// Bounded faults of every kind, at rates that keep each honest party able to
// meet its windows (those of Scenario's defaults), so that liveness and
// payment are asserted too.
Scenario Faulty(const std::string& name) {
  Scenario s;
  s.name = name;
  s.cheating_solvers = 1;
  s.jobs = 10;
  s.faults.drop_per_mille = 100;
  s.faults.delay_ticks_max = 2;
  s.faults.work_failure_per_mille = 150;
  s.faults.crash_per_mille = 8;
  s.faults.downtime_ticks_max = 8;
  return s;
}

struct Case {
  Scenario scenario;
  uint64_t seeds = 0;  // Over all shards.
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> c;
    c.push_back({Calm("Honest"), 40});
    {
      Scenario s = Calm("CheatingSolver");
      s.cheating_solvers = 1;
      c.push_back({s, 40});
    }
    c.push_back({Faulty("Faults"), 120});
    {
      Scenario s = Faulty("HostRestarts");
      s.faults.host_crash_per_mille = 10;
      s.faults.downtime_ticks_max = 5;
      s.solver_jobs_max = 2;
      c.push_back({s, 80});
    }
    {
      // One verifier rejects everything: it is slashed on honest jobs, and
      // the solvers it challenged get its bond's reward.
      Scenario s = Faulty("LyingVerifier");
      s.lying_verifiers = 1;
      c.push_back({s, 60});
    }
    {
      // Every other job forced, a cheater and a lazy verifier among faults:
      // honest verifiers catch forced errors for the prize, the lazy one's
      // accepts of them (and of the cheater's faked segment, once a ruling
      // proves it) cost it its bond, and a cheater whose faked segment lies
      // beside its forced checkpoint cannot excuse it by the reveal.
      Scenario s = Faulty("ForcedErrors");
      s.forced_error_bps = 5000;
      s.lazy_verifiers = 1;
      c.push_back({s, 60});
    }
    {
      // Unbounded faults: anyone may miss a window, even verifier 0, so only
      // safety is asserted (conservation, true rulings, exact payments, no
      // honest party slashed or failed) and that every job ends final.
      Scenario s = Faulty("Hostile");
      s.lying_verifiers = 1;
      s.anchor_verifier = false;
      s.faults.drop_per_mille = 300;
      s.faults.delay_ticks_max = 4;
      s.faults.work_failure_per_mille = 300;
      s.faults.crash_per_mille = 20;
      s.faults.host_crash_per_mille = 8;
      s.faults.downtime_ticks_max = 10;
      s.faults.bounded = false;
      c.push_back({s, 60});
    }
    return c;
  }();
  return cases;
}

class Simulation : public ::testing::TestWithParam<std::tuple<size_t, int>> {};

TEST_P(Simulation, EveryInvariantHoldsForEverySeed) {
  const auto [index, shard] = GetParam();
  const Case& c = Cases()[index];
  const std::optional<uint64_t> only = EnvNumber("CAIRN_SIM_SEED");
  const uint64_t seeds = EnvNumber("CAIRN_SIM_SEEDS").value_or(c.seeds);
  uint64_t first = 1 + seeds * shard / kShards, last = seeds * (shard + 1) / kShards;  // Inclusive.
  if (only && shard != 0) GTEST_SKIP() << "CAIRN_SIM_SEED runs in shard 0 only";
  const std::string filter = "Seeds/Simulation.*/" + c.scenario.name + "_*";
  RunStats total = ExpectEveryInvariant(c.scenario, first, last, filter);
  if (only || last - first < 4) return;
  // The runs exercised what the scenario is about: a simulation that
  // injects nothing proves nothing.
  const Scenario& s = c.scenario;
  EXPECT_GT(total.settled, 0u);
  EXPECT_GT(total.expired, 0u);
  if (s.cheating_solvers > 0 && s.anchor_verifier) {
    EXPECT_GT(total.cheats_caught, 0u);
  }
  if (s.faults.crash_per_mille > 0) {
    EXPECT_GT(total.crashes, 0u);
  }
  if (s.faults.host_crash_per_mille > 0) {
    EXPECT_GT(total.host_crashes, 0u);
  }
  if (s.faults.drop_per_mille > 0) {
    EXPECT_GT(total.messages_dropped, 0u);
  }
  if (s.faults.work_failure_per_mille > 0) {
    EXPECT_GT(total.work_failures, 0u);
  }
  if (s.forced_error_bps >= 5000) {
    EXPECT_GT(total.forced_confirmed, 0u);
    EXPECT_GT(total.forced_caught, 0u);
    if (s.lazy_verifiers > 0) {
      EXPECT_GT(total.accepts_slashed, 0u);
    }
    if (s.cheating_solvers > 0) {
      EXPECT_GT(total.forced_masked, 0u);
    }
  }
  if (s.lying_verifiers > 0) {
    EXPECT_GT(total.rulings_for_solver, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Simulation,
                         ::testing::Combine(::testing::Range<size_t>(0, Cases().size()), ::testing::Range(0, kShards)),
                         [](const ::testing::TestParamInfo<std::tuple<size_t, int>>& param) {
                           return Cases()[std::get<0>(param.param)].scenario.name + "_" +
                                  std::to_string(std::get<1>(param.param));
                         });

// The same seed is the same run, to the last byte of the ledger.
TEST(SimulationReplay, SameSeedSameRun) {
  Scenario s = Faulty("HostRestarts");
  s.faults.host_crash_per_mille = 10;
  RunReport a = RunSimulation(s, 7), b = RunSimulation(s, 7), other = RunSimulation(s, 8);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.stats.ToString(), b.stats.ToString());
  EXPECT_EQ(a.violations, b.violations);
  EXPECT_NE(a.fingerprint, other.fingerprint);
}

// The checks bite: with nobody to verify it, a forged certificate settles,
// and the simulation says so.
TEST(SimulationChecks, ReportsAForgeryThatNobodyVerified) {
  Scenario s = Calm("NoVerifiers");
  s.solvers = 1;
  s.cheating_solvers = 1;
  s.verifiers = 0;
  s.anchor_verifier = false;
  s.jobs = 3;
  bool reported = false;
  for (uint64_t seed = 1; seed <= 5 && !reported; ++seed) {
    for (const std::string& v : RunSimulation(s, seed).violations) {
      if (v.find("settled on solver-0's forged certificate") != std::string::npos) reported = true;
    }
  }
  EXPECT_TRUE(reported);
}

// ---- Bugs the simulation found (src/ unchanged; see each comment) ----

// VerifierRole skips a commitment for good when, at the moment it sees it,
// its free stake is below the verdict bond, even if the bond of an earlier
// verdict is released while the window is still open. Seed 1: verifier-0
// (stake 100, one bond) accepts job c17b7319 at height 22, bonding all its
// stake until that job settles at height 29; solver-0 commits a forged
// certificate for job 036016a5 at height 26 (window to 36); verifier-0 skips
// it, is free again at 29, never looks back, and the forgery settles at 37.
// A cheater can time its commitments, or post cheap jobs to tie up the
// verifiers' stake. Fixed in part: the role now keeps the skipped job and
// checks it once stake is free, and holds a verdict refused for lack of stake
// until stake is released (seeds 1..20: 15 failures down to 3). What remains
// (seeds 7, 11, 20) is a verifier with one bond's worth of stake finishing two
// checks at once: the accept takes the stake, the reject waits, and the window
// closes first. Rejects should take precedence and verifier stake must be
// sized to the verdicts in flight: issue 8 (verifier selection and stake).
TEST(SimulationKnownBugs, DISABLED_VerifierChecksACommitmentOnceItsStakeIsFree) {
  Scenario s = Calm("ScarceVerifierStake");
  s.cheating_solvers = 1;
  s.verifiers = 1;
  s.verifier_stake = 100;
  ExpectEveryInvariant(s, 1, 20, "SimulationKnownBugs.DISABLED_VerifierChecks*");
}

// FIXED (the ledger no longer counts a reject against the cap; the runtime no
// longer retries final refusals). The ledger capped the verdicts on a job at
// kVerdictsPerJobMax (16) and counted rejections against the cap, so 16 accepting verdicts (16 cheap keys of a
// cheating solver, or lazy verifiers) leave no room for the one honest
// rejection: it is refused "already has 16 verdicts" and the forgery settles.
// Seed 1: solver-0 commits a forged certificate for job 41560dee at height
// 41, 16 lazy verifiers accept it within a block, verifier-0's rejection
// (sent at t45) is refused on every attempt, and the job settles at 52. (The
// runtime retries that refusal kTxAttemptsMax times over ~9 blocks as if it
// were transient, holding up the verifier's other verdicts.) Fix in the ledger,
// e.g. never count a rejection against the cap (a dispute stops verdicts
// until the ruling, and a false one costs the challenger its bond).
TEST(SimulationRegressions, LazyVerifiersCannotCrowdOutAChallenge) {
  Scenario s = Calm("VerdictSlotsFilled");
  s.cheating_solvers = 1;
  s.verifiers = 17;
  s.lazy_verifiers = 16;
  ExpectEveryInvariant(s, 1, 10, "SimulationRegressions.LazyVerifiers*");
}

// FIXED (SolverRole remembers declined open jobs and reconsiders them on
// every block). SolverRole looked at an open job only when a block touched it.
// A job posted while every solver is busy (jobs_max reached) is never looked
// at again, though the solvers become free long before its claim deadline;
// it expires unserved. Seed 11: job 5eb3ac24 is posted at height 12 while
// all three solvers train; they commit at heights 13-14 and stand idle until
// its deadline at 22; it expires at 23. Fix: remember declined open jobs and
// reconsider them on NewHeight (capacity or stake freed, before the deadline).
TEST(SimulationRegressions, SolverClaimsAJobPostedWhileItWasBusy) {
  Scenario s = Calm("IdleSolvers");
  s.check_idle_solvers = true;
  ExpectEveryInvariant(s, 1, 40, "SimulationRegressions.SolverClaims*");
}

}  // namespace
}  // namespace cairn::sim
