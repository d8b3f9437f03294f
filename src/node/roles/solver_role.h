// The solver role: claims open jobs it can afford, fetches their inputs,
// trains them, commits the certificate, serves proofs until the job is
// final, then prunes. Everything it needs to resume after a restart is on
// the ledger (the job is claimed by this key) or in the checkpoints the
// trainer resumes from, so its own state is only what is in flight.
#pragma once

#include <map>

#include "node/roles/events.h"

namespace cairn::node {

struct SolverPolicy {
  ledger::Amount fee_min = 1;          // Ignore jobs that pay less.
  ledger::Amount stake_max = UINT64_MAX;  // Ignore jobs that want a larger bond.
  uint32_t jobs_max = 1;               // Jobs trained at once.
  uint64_t resend_blocks = 10;         // Resend a transaction the chain has not reflected after this many blocks.
  uint64_t retry_blocks = 5;           // Retry a failed fetch after this many blocks.
  uint32_t fetch_attempts_max = 20;
  Hash256 secret;  // Seeds the forced-error commitments (Truebit); never leaves the node.
  uint32_t forced_error_bps = 0;  // Genesis: the chance the draw forces an error.
};

class SolverRole final : public Role {
 public:
  SolverRole(ledger::AccountId me, SolverPolicy policy) : me_(me), policy_(policy) {}
  const char* name() const override { return "solver"; }
  std::vector<Action> OnEvent(const Event& event) override;

  // For status displays and tests.
  size_t active_jobs() const { return jobs_.size(); }

 private:
  enum class Phase {
    kClaimSent, kFetching, kFetchFailed, kTraining,
    kAwaitingSeed,  // Trained; the forced-error draw waits for the block after the claim.
    kPlanting, kPlantFailed, kCommitSent, kServing, kGaveUp
  };
  struct Tracked {
    ledger::Job job;
    Phase phase = Phase::kClaimSent;
    uint64_t since_height = 0;  // When the phase began (or the transaction was last sent).
    uint32_t attempts = 0;
    Hash256 certificate_hash, checkpoint_root, final_model_hash;
    uint64_t checkpoint_count = 0;
    uint64_t forced_leaf = 0;    // Known once trained and the claim seed is in.
    uint64_t reveal_sent = 0;    // Height the reveal was last sent; 0 = not yet.
  };

  void OnJob(const ledger::Job& job, const std::optional<ledger::Dispute>& dispute, std::vector<Action>* out);
  // Trained and the claim seed known: plant the forced error or commit.
  void CommitOrPlant(Tracked& t, std::vector<Action>* out);
  // The reveal a serving job owes now (in answer to a dispute on the forced
  // checkpoint, or after the challenge window), if any.
  void MaybeReveal(Tracked& t, const std::optional<ledger::Dispute>& dispute, std::vector<Action>* out);
  void OnHeight(const NewHeight& e, std::vector<Action>* out);
  bool WantsToClaim(const ledger::Job& job) const;
  uint32_t Training() const;
  Action Commit(const Tracked& t) const;
  Hash256 ForcedErrorCommitment(const Hash256& job_id) const;

  const ledger::AccountId me_;
  const SolverPolicy policy_;
  uint64_t height_ = 0;
  ledger::Account account_;
  std::map<Hash256, Tracked> jobs_;
  std::map<Hash256, std::optional<ledger::Dispute>> disputes_;  // The open dispute of each serving job.
  // Replicated jobs: committed replicas of other solvers in groups this
  // solver also holds a replica of, and those already checked against ours.
  void CompareReplicas(std::vector<Action>* out);
  std::map<Hash256, ledger::Job> siblings_;
  std::map<Hash256, uint64_t> compared_;  // Sibling -> height its check started (0: done).
  // Open jobs this solver passed over (busy, or short of free stake): looked
  // at again on every block while they stay open.
  std::map<Hash256, ledger::Job> open_;
};

}  // namespace cairn::node
