// The disputant role, on every solver and verifier node: in each dispute
// this node is a party to (as the job's solver or as the challenger), it
// computes its answer to the current round and posts it, before the round's
// deadline. The answer is always this node's own computation, so an honest
// node's moves are the truth and a round it misses is one it could not
// compute (retried until the deadline; a lost dispute is the ledger's rule).
#pragma once

#include <map>
#include <optional>
#include <tuple>

#include "node/roles/events.h"

namespace cairn::node {

struct DisputantPolicy {
  uint64_t resend_blocks = 6;  // Post again if the ledger has not seen the move by then.
  uint64_t retry_blocks = 2;   // Compute again after a failure.
  // A solver node's forced-error secret (SolverPolicy::secret): a dispute on
  // its forced checkpoint is answered by the solver role's reveal, not by moves.
  std::optional<Hash256> solver_secret;
  uint32_t forced_error_bps = 0;
};

class DisputantRole final : public Role {
 public:
  DisputantRole(ledger::AccountId me, DisputantPolicy policy) : me_(me), policy_(policy) {}
  const char* name() const override { return "disputant"; }
  std::vector<Action> OnEvent(const Event& event) override;

 private:
  enum class Phase { kComputing, kFailed, kSent };
  // One round of one dispute: (job, dispute index, phase, position).
  using RoundKey = std::tuple<Hash256, uint32_t, uint8_t, uint64_t>;
  struct Round {
    ledger::Job job;
    ledger::Dispute dispute;
    ledger::DisputeParty party = ledger::DisputeParty::kSolver;
    Phase phase = Phase::kComputing;
    uint64_t since_height = 0;
    ledger::PinpointMoveOp move;
  };
  static RoundKey KeyOf(const ledger::Dispute& d) {
    return {d.job_id, d.index, static_cast<uint8_t>(d.phase), d.position};
  }

  const ledger::AccountId me_;
  const DisputantPolicy policy_;
  uint64_t height_ = 0;
  std::map<RoundKey, Round> rounds_;  // Rounds this node still has to move in.
};

}  // namespace cairn::node
