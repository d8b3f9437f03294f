#include "node/roles/disputant_role.h"

#include "node/roles/forced_errors.h"

namespace cairn::node {

using ledger::DisputeParty;
using ledger::DisputePhase;

std::vector<Action> DisputantRole::OnEvent(const Event& event) {
  std::vector<Action> out;
  if (auto* e = std::get_if<JobChanged>(&event)) {
    // Rounds of this job that are over (moved, or the game went on) are dropped.
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      if (std::get<0>(it->first) != e->job.job_id) {
        ++it;
        continue;
      }
      bool current = e->dispute && KeyOf(*e->dispute) == it->first;
      bool moved = current && (it->second.party == DisputeParty::kSolver ? e->dispute->solver.moved
                                                                          : e->dispute->challenger_claim.moved);
      it = current && !moved ? std::next(it) : rounds_.erase(it);
    }
    if (!e->dispute) return out;
    const ledger::Dispute& d = *e->dispute;
    if (d.phase == DisputePhase::kReferee || d.phase == DisputePhase::kResolved) return out;
    DisputeParty party;
    if (e->job.solver == me_) {
      party = DisputeParty::kSolver;
      const ledger::Job& job = e->job;
      if (policy_.solver_secret && job.forced == ledger::ForcedError::kUnrevealed && !job.claim_seed.IsZero() &&
          ConcedesAsForced(OwnForcedLeaf(*policy_.solver_secret, job, job.checkpoint_count, policy_.forced_error_bps),
                           d.segment)) {
        return out;  // Our forced error, caught: the solver role reveals.
      }
    } else if (d.challenger == me_) {
      party = DisputeParty::kChallenger;
    } else {
      return out;
    }
    const ledger::DisputeClaim& mine = party == DisputeParty::kSolver ? d.solver : d.challenger_claim;
    if (mine.moved || rounds_.count(KeyOf(d))) return out;
    rounds_[KeyOf(d)] = Round{e->job, d, party, Phase::kComputing, height_, {}};
    out.push_back(ComputeMove{e->job, d, party});
  } else if (auto* h = std::get_if<NewHeight>(&event)) {
    height_ = h->height;
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      Round& r = it->second;
      if (height_ > r.dispute.deadline_height) {
        it = rounds_.erase(it);  // Too late: the ledger refuses the move now.
        continue;
      }
      if (r.phase == Phase::kFailed && height_ >= r.since_height + policy_.retry_blocks) {
        r.phase = Phase::kComputing;
        r.since_height = height_;
        out.push_back(ComputeMove{r.job, r.dispute, r.party});
      } else if (r.phase == Phase::kSent && height_ >= r.since_height + policy_.resend_blocks) {
        r.since_height = height_;
        out.push_back(SendTx{r.move});
      }
      ++it;
    }
  } else if (auto* r = std::get_if<TxRefused>(&event)) {
    // A move the ledger refused for good (the round is over, or was already
    // answered): stop resending it; the next JobChanged starts the round the
    // dispute is really in.
    if (r->operation != "pinpoint_move" || r->status.code() == StatusCode::kUnavailable) return out;
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      bool mine = std::get<0>(it->first) == r->job_id && it->second.phase == Phase::kSent;
      it = mine ? rounds_.erase(it) : std::next(it);
    }
  } else if (auto* m = std::get_if<MoveComputed>(&event)) {
    RoundKey key{m->job_id, m->dispute, m->move.phase, m->move.position};
    auto it = rounds_.find(key);
    if (it == rounds_.end() || it->second.phase != Phase::kComputing) return out;
    it->second.since_height = height_;
    if (!m->status.ok()) {
      it->second.phase = Phase::kFailed;
      return out;
    }
    it->second.phase = Phase::kSent;
    it->second.move = m->move;
    out.push_back(SendTx{m->move});
  }
  return out;
}

}  // namespace cairn::node
