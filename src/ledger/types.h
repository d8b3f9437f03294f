// The ledger's domain types: accounts, jobs, parameters and genesis.
// Amounts are integer base units (u64), never floating point; every addition
// on them is overflow-checked by the executor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "crypto/keys.h"

namespace cairn::ledger {

using Amount = uint64_t;
using AccountId = crypto::PublicKey;

// Limits (units last). Everything a peer can make us store is bounded.
inline constexpr size_t kChainIdBytesMax = 64;
// A dispute move carries a Merkle proof or an operator record, hence 8 KiB.
inline constexpr size_t kTxBytesMax = 8192;
inline constexpr uint32_t kBlockTxsMax = 10000;
// Below the 16 MiB gRPC message limit, so that any block can be streamed
// (the sequencer stops filling a block at this size).
inline constexpr size_t kBlockBytesMax = 12 << 20;
inline constexpr uint32_t kVerdictsPerJobMax = 16;
inline constexpr size_t kEndpointBytesMax = 256;
inline constexpr uint32_t kGenesisAllocationsMax = 100000;
inline constexpr uint32_t kUnbondingsPerBlockMax = 100000;
// Every window and delay in blocks (genesis parameters and job windows), so
// that a height plus a window can never overflow.
inline constexpr uint64_t kWindowBlocksMax = 10'000'000;
// Checkpoints a commitment may name: the initial state plus one per segment
// (proof::kCheckpointsPerJobMax segments).
inline constexpr uint64_t kCheckpointsMax = 1'000'001;
// Params::audited_segments at most.
inline constexpr uint32_t kAuditedSegmentsMax = 64;
// Solvers a replicated job may ask for.
inline constexpr uint8_t kReplicasMax = 8;

struct Account {
  uint64_t nonce = 0;         // Nonce of the last transaction this account sent.
  Amount balance = 0;         // Spendable.
  Amount stake_free = 0;      // Staked, not bonded to any job: can be bonded or unstaked.
  Amount stake_bonded = 0;    // Bonded to claimed jobs or verdicts: slashable.
  Amount unbonding = 0;       // Unstaked, returns to balance after the unbonding delay.
  // Height of the last StakeOp that added stake: a verifier may judge only
  // jobs committed after it, so stake cannot be raised in reaction to a
  // commitment (sybils staked for one job). 0 for genesis stake.
  uint64_t stake_height = 0;

  // An account holding nothing; its record is erased (stake_height means
  // nothing without stake).
  bool IsEmpty() const {
    return nonce == 0 && balance == 0 && stake_free == 0 && stake_bonded == 0 && unbonding == 0;
  }
  friend bool operator==(const Account&, const Account&) = default;
};

enum class JobStatus : uint8_t {
  kOpen = 1,       // Posted, fee in escrow, waiting for a solver.
  kClaimed = 2,    // A solver bonded stake and is training.
  kCommitted = 3,  // Certificate committed; challenge window running.
  kDisputed = 4,   // A verifier rejected the certificate; the referee must rule.
  kSettled = 5,    // Fee paid out, bonds released. Final.
  kFailed = 6,     // The solver was ruled at fault and slashed; fee refunded. Final.
  kExpired = 7,    // Nobody claimed or the solver missed its deadline; fee refunded. Final.
  kCancelled = 8,  // The submitter withdrew it before any claim; fee refunded. Final.
};
const char* JobStatusName(JobStatus status);
// Settled, failed, expired or cancelled: nothing more can happen to the job.
inline bool IsFinal(JobStatus s) { return s >= JobStatus::kSettled; }

// Truebit-style forced errors (docs/protocol.md, "Forced errors"): where
// the solver's reveal of its committed secret stands.
enum class ForcedError : uint8_t {
  kUnrevealed = 0,
  kNone = 1,       // Revealed: the draw put no forced error in this job.
  kConfirmed = 2,  // Revealed and forced; the referee confirmed the checkpoint is wrong (or nobody answered for it).
  kChecking = 3,   // Revealed and forced; the referee checks the checkpoint (kForcedCheck).
  kRefuted = 4,    // Revealed and forced, but the checkpoint was right: the solver was slashed.
  kMasked = 5,     // Revealed and forced, and a segment beside it was really wrong: the solver was slashed.
};
const char* ForcedErrorName(ForcedError f);  // "unrevealed", "none", "confirmed", "checking", "refuted", "masked".

// An accept, the open dispute's reject (the last vote), or a slashed accept
// (accept false, bond 0: an accept of a forced or real error a ruling proved).
struct Vote {
  AccountId verifier;
  bool accept = false;
  Amount bond = 0;
  Hash256 report_hash;  // Hash of the verifier's report (sampled segments, distances).
  bool slashed() const { return !accept && bond == 0; }
  friend bool operator==(const Vote&, const Vote&) = default;
};
// "ACCEPT", "REJECT" or "SLASHED ACCEPT", as the CLI shows a vote.
inline const char* VoteName(const Vote& v) { return v.accept ? "ACCEPT" : v.slashed() ? "SLASHED ACCEPT" : "REJECT"; }

struct Job {
  Hash256 job_id;  // Hash of the canonical job spec (off-ledger).
  AccountId submitter;
  Amount fee = 0;            // In escrow until settle.
  Amount solver_stake = 0;   // Bond the solver must post to claim.
  uint64_t claim_deadline_height = 0;
  uint64_t commit_window_blocks = 0;    // Solver's time from claim to commit.
  uint64_t commit_deadline_height = 0;  // Set at claim.
  JobStatus status = JobStatus::kOpen;
  AccountId solver;
  uint64_t claimed_height = 0;
  Hash256 forced_error_commitment;  // Solver's hidden bits (Truebit forced errors).
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
  Hash256 final_model_hash;
  uint64_t challenge_end_height = 0;
  std::vector<Vote> votes;
  Hash256 manifest_hash;  // Where the job's spec and inputs are (PostJobOp).
  uint64_t posted_height = 0;
  // Leaves of checkpoint_root (the root alone does not commit to its size).
  uint64_t checkpoint_count = 0;
  uint64_t committed_height = 0;
  // Hash of the first block after the commitment: decides which verifiers
  // may judge the job (SelectedVerifier), so the solver cannot choose them.
  // Zero until that block.
  Hash256 selection_seed;
  uint32_t disputes = 0;  // Disputes ever opened; the open one (kDisputed) is the last.
  // Hash of the first block after the claim: with the solver's secret it
  // draws whether the job carries a forced error (ForcedErrorLeaf). Zero
  // until that block.
  Hash256 claim_seed;
  ForcedError forced = ForcedError::kUnrevealed;
  Hash256 forced_error_secret;  // Revealed by the solver (RevealOp).
  uint64_t forced_leaf = 0;     // The checkpoint made wrong on purpose; 0 for none.
  // Replicated jobs: the posted job id (the spec's hash) every replica
  // trains, this record's replica number and how many there are. A plain
  // job is replica 0 of 1, its own group.
  Hash256 group;
  uint8_t replica = 0;
  uint8_t replicas = 1;
  bool exact_replay = false;  // PostJobOp::exact_replay.
  friend bool operator==(const Job&, const Job&) = default;
};

// The id of the spec a job record trains: its group (the posted job id)
// for a replica, the record's own id otherwise.
inline const Hash256& SpecIdOf(const Job& job) { return job.group.IsZero() ? job.job_id : job.group; }

// Consensus parameters, fixed at genesis.
struct Params {
  uint64_t unbonding_delay_blocks = 100;
  uint64_t challenge_window_blocks = 20;
  Amount faucet_amount_max = 0;        // Per faucet transaction; 0 disables the faucet.
  Amount verifier_stake_min = 1;       // Bond a verifier posts with each verdict; positive.
  Amount job_fee_min = 1;
  uint32_t jackpot_tax_bps = 100;      // Of each settled fee, into the jackpot.
  uint32_t verifier_share_bps = 1000;  // Of each settled fee, split among accepting verifiers.
  uint32_t challenger_reward_bps = 5000;  // Of a slashed bond, to whoever proved the fault.
  // Blocks each party of a dispute has for each move of the pinpoint game.
  // Room for a replay of up to a segment and a congested network.
  uint64_t dispute_round_blocks = 60;
  // Chance that a given staked verifier is drawn to judge a given job
  // (accepts from others are refused; anyone staked may dispute).
  uint32_t verifier_sample_bps = 10000;
  // Forced errors: the chance that a job must carry one deliberately wrong
  // checkpoint, and the share of the jackpot paid to whoever catches it.
  uint32_t forced_error_bps = 1000;
  uint32_t jackpot_payout_bps = 1000;
  // Segments each accepting verifier answers for (AuditedSegments): an
  // accept of a job whose forced or real error lies in them costs its bond.
  uint32_t audited_segments = 2;
  // Blocks after the challenge window in which the solver must reveal its
  // forced-error secret; the job settles after the reveal.
  uint64_t reveal_window_blocks = 20;
  friend bool operator==(const Params&, const Params&) = default;
};

struct Allocation {
  AccountId account;
  Amount balance = 0;
  Amount stake = 0;
  friend bool operator==(const Allocation&, const Allocation&) = default;
};

struct Genesis {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  AccountId sequencer;  // Signs blocks.
  AccountId referee;    // Rules on disputes (stands in for a contract).
  Params params;
  std::vector<Allocation> allocations;
  Amount jackpot = 0;  // The jackpot at genesis (part of the supply).
  friend bool operator==(const Genesis&, const Genesis&) = default;
};

}  // namespace cairn::ledger
