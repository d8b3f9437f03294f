// A deterministic simulation of a cairn network in one process (issue 7,
// item 6), in the manner of TigerBeetle's VOPR and FoundationDB's simulator.
//
// One run is one seed. It wires a real ledger::Ledger and ledger::Sequencer
// over store::MemoryStore with the real LedgerHostRole, SolverRoles and
// VerifierRoles, a submitter and two bystanders, and plays the node runtime
// around them (src/node/node.cpp): it carries out the roles' actions, signs
// their transactions with the right key and nonce, sends them to the
// sequencer through a simulated network, seals one block per tick and shows
// every node each block (the jobs it touched, then the node's account).
// Time is a tick counter, one block interval; the network, the work (fetch,
// training, replay, ruling), the faults (dropped and delayed messages,
// transient work failures, crashes and restarts of any node including the
// ledger host) and the cheats are all drawn from the seed, so a seed replays
// exactly. After the run it checks the invariants listed in RunSimulation.
//
// Not thread-safe; a run owns everything it touches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::sim {

// SplitMix64 (Steele, Lea and Flood): small, fast and the same on every
// platform, unlike the std distributions. Every random choice of a run comes
// from one of these, seeded by the run's seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Next() % (hi - lo + 1); }
  // True with probability per_mille / 1000.
  bool Chance(uint32_t per_mille) { return Next() % 1000 < per_mille; }

 private:
  uint64_t state_;
};

// Faults, all off by default. "Bounded" faults keep every honest party able
// to meet its windows (so that liveness and payment can be asserted); the
// unbounded kind can starve anyone and only safety is asserted.
struct Faults {
  uint32_t drop_per_mille = 0;          // Each request and each reply to the ledger host.
  uint64_t delay_ticks_max = 0;         // Extra latency of each message and of each block view.
  uint32_t work_failure_per_mille = 0;  // A fetch, replay or ruling fails transiently.
  uint32_t crash_per_mille = 0;         // Per node that may crash, per tick.
  uint64_t downtime_ticks_max = 8;      // A crashed node restarts after 1..this many ticks.
  uint32_t host_crash_per_mille = 0;    // The ledger host itself (ledger reopened, mempool recovered).
  bool bounded = true;
};

struct Scenario {
  std::string name;
  uint32_t solvers = 3;
  uint32_t cheating_solvers = 0;  // The first ones commit a forged certificate.
  uint32_t verifiers = 3;
  uint32_t lying_verifiers = 0;  // The last ones reject every certificate, honest ones too.
  uint32_t lazy_verifiers = 0;   // Those before the liars accept every certificate, at once, unchecked.
  // Verifier 0 is honest and never crashes, so every forged certificate meets
  // an honest verifier during its window: with bounded faults, a cheat must
  // then end failed.
  bool anchor_verifier = true;
  uint32_t jobs = 6;
  uint32_t solver_jobs_max = 1;      // SolverPolicy::jobs_max.
  uint64_t solver_stake = 50'000;    // Each solver's genesis stake.
  uint64_t verifier_stake = 20'000;  // Each verifier's: params.verifier_stake_min (100) per verdict.
  uint64_t active_ticks = 160;       // Jobs are posted and faults happen during these ticks...
  uint64_t quiet_ticks_max = 400;    // ...then, faults off, at most this many until every job is final.
  uint64_t claim_window_blocks = 20;
  uint64_t commit_window_blocks = 90;
  uint64_t challenge_window_blocks = 35;
  uint32_t forced_error_bps = 1000;  // Genesis (the chain's default): every job is exact-replay, so forced errors apply.
  Faults faults;
  // Without faults: a job a solver can afford must not expire unclaimed while
  // that solver is idle for part of its claim window (see the report on
  // DISABLED_SolverClaimsAJobPostedWhileItWasBusy in simulation_test.cpp).
  bool check_idle_solvers = false;
};

struct RunStats {
  uint64_t blocks = 0;
  uint64_t txs = 0;          // In blocks.
  uint64_t txs_refused = 0;  // TxRefused events the roles saw.
  uint64_t messages_dropped = 0;
  uint64_t mempool_dropped = 0;  // Admitted, then no longer valid when a block was sealed.
  uint64_t crashes = 0;
  uint64_t host_crashes = 0;
  uint64_t work_failures = 0;
  uint64_t disputes = 0;  // Rejecting verdicts in blocks.
  uint64_t rulings_against_solver = 0;
  uint64_t rulings_for_solver = 0;
  uint64_t settled = 0, failed = 0, expired = 0, cancelled = 0;
  uint64_t cheats_caught = 0;  // A forged certificate whose job ended failed.
  uint64_t forced_planted = 0;    // Forced checkpoints planted (again after a crash counts again).
  uint64_t forced_confirmed = 0;  // Jobs ending with a forced error the referee confirmed (or nobody answered for).
  uint64_t forced_caught = 0;     // Forced checks in which a challenger earned the jackpot share.
  uint64_t forced_masked = 0;     // Forced errors that hid a faked segment: the job failed.
  uint64_t accepts_slashed = 0;   // Accepts that approved a forced or real error.
  uint64_t ticks = 0;

  void Add(const RunStats& o);
  std::string ToString() const;
};

struct RunReport {
  uint64_t seed = 0;
  std::vector<std::string> violations;  // Empty: every invariant held.
  RunStats stats;
  std::string fingerprint;  // The final head and state root: equal for equal seeds.
};

// Runs `scenario` with `seed` and checks, after every block:
//   - conservation: every unit is in an account (balance, free, bonded or
//     unbonding stake), in a live job's escrow or in the jackpot, and they sum
//     to the genesis total plus what the faucet minted (the ledger's g/supply);
//   - every ruling in a block is the true one (a forged certificate's solver
//     at fault, an honest one not);
// and at the end:
//   - every posted job is settled, failed, expired or cancelled, and the audit
//     of the stored ledger passes;
//   - every account of a solver, verifier and the submitter holds exactly
//     what the rules pay it (fee shares, refunds, rewards, slashes and
//     slashed accepts recomputed from the final jobs and the rulings), plus
//     only for those owed one a jackpot prize, the prizes adding up to what
//     the jackpot paid out; nothing stays bonded;
//   - honest solvers: no job of theirs failed (a forced error included), and
//     with bounded faults every job they claimed settled and paid them;
//     honest verifiers: never slashed, no accept of theirs slashed;
//     forged certificates: with bounded faults or an anchor
//     verifier never settled, and with both every one ends failed, its
//     solver slashed and the submitter refunded;
//   - a solver prunes a job only once it is final, and forgets every job;
//   - with check_idle_solvers, that no job expired unclaimed beside an idle solver.
RunReport RunSimulation(const Scenario& scenario, uint64_t seed);

}  // namespace cairn::sim
