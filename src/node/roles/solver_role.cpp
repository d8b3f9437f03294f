#include "node/roles/solver_role.h"

#include "crypto/hash.h"
#include "node/roles/forced_errors.h"

namespace cairn::node {

using ledger::JobStatus;

Hash256 SolverRole::ForcedErrorCommitment(const Hash256& job_id) const {
  return ledger::ForcedErrorCommitment(JobSecret(policy_.secret, job_id), job_id);
}

void SolverRole::CommitOrPlant(Tracked& t, std::vector<Action>* out) {
  t.since_height = height_;
  if (t.job.claim_seed.IsZero()) {
    t.phase = Phase::kAwaitingSeed;
    return;
  }
  t.forced_leaf = OwnForcedLeaf(policy_.secret, t.job, t.checkpoint_count, policy_.forced_error_bps);
  if (t.forced_leaf == 0) {
    t.phase = Phase::kCommitSent;
    out->push_back(Commit(t));
  } else {
    t.phase = Phase::kPlanting;
    out->push_back(PlantForcedError{t.job, t.forced_leaf});
  }
}

void SolverRole::MaybeReveal(Tracked& t, const std::optional<ledger::Dispute>& dispute, std::vector<Action>* out) {
  const ledger::Job& job = t.job;
  if (job.forced != ledger::ForcedError::kUnrevealed || job.claim_seed.IsZero()) return;
  if (t.reveal_sent != 0 && height_ < t.reveal_sent + policy_.resend_blocks) return;
  t.forced_leaf = OwnForcedLeaf(policy_.secret, job, job.checkpoint_count, policy_.forced_error_bps);
  const Hash256 secret = JobSecret(policy_.secret, job.job_id);
  if (job.status == JobStatus::kDisputed) {
    // A dispute on a segment next to the forced checkpoint is right: concede
    // it by revealing (the disputant role does not answer it).
    bool open = dispute && dispute->phase != ledger::DisputePhase::kReferee &&
                dispute->phase != ledger::DisputePhase::kResolved;
    if (!open || !ConcedesAsForced(t.forced_leaf, dispute->segment)) return;
    out->push_back(SendReveal{job, secret, 0});
  } else if (job.status == JobStatus::kCommitted && height_ > job.challenge_end_height) {
    out->push_back(SendReveal{job, secret, t.forced_leaf});
  } else {
    return;
  }
  t.reveal_sent = height_;
}

uint32_t SolverRole::Training() const {
  uint32_t n = 0;
  for (const auto& [id, t] : jobs_) {
    if (t.phase != Phase::kServing && t.phase != Phase::kGaveUp) n++;
  }
  return n;
}

bool SolverRole::WantsToClaim(const ledger::Job& job) const {
  if (job.submitter == me_ || job.manifest_hash.IsZero()) return false;
  if (job.fee < policy_.fee_min || job.solver_stake > policy_.stake_max) return false;
  if (job.solver_stake > account_.stake_free) return false;
  if (height_ >= job.claim_deadline_height) return false;  // The claim would land too late.
  for (const auto& [id, t] : jobs_) {
    if (job.replicas > 1 && t.job.group == job.group) return false;  // One replica per solver.
  }
  return Training() < policy_.jobs_max;
}

Action SolverRole::Commit(const Tracked& t) const {
  return SendTx{ledger::CommitCertificateOp{t.job.job_id, t.certificate_hash, t.checkpoint_root, t.final_model_hash,
                                            t.checkpoint_count}};
}

void SolverRole::CompareReplicas(std::vector<Action>* out) {
  for (const auto& [id, sibling] : siblings_) {
    if (compared_.count(id)) continue;
    for (const auto& [mine_id, t] : jobs_) {
      if (t.phase != Phase::kServing || t.job.group != sibling.group || t.job.checkpoint_root.IsZero()) continue;
      if (t.job.checkpoint_root == sibling.checkpoint_root) {
        compared_[id] = 0;  // The same checkpoints: nothing to dispute.
      } else if (account_.stake_height < sibling.committed_height) {
        compared_[id] = height_;
        out->push_back(StartVerification{sibling, {}, mine_id});
      }
      break;
    }
  }
}

void SolverRole::OnJob(const ledger::Job& job, const std::optional<ledger::Dispute>& dispute, std::vector<Action>* out) {
  auto it = jobs_.find(job.job_id);
  if (job.replicas > 1 && job.solver != me_) {
    bool open = job.status == JobStatus::kCommitted && height_ < job.challenge_end_height && !job.selection_seed.IsZero();
    if (open) {
      siblings_[job.job_id] = job;
    } else {
      siblings_.erase(job.job_id);
      if (ledger::IsFinal(job.status)) compared_.erase(job.job_id);
    }
  }
  if (job.status != JobStatus::kOpen) open_.erase(job.job_id);
  if (ledger::IsFinal(job.status)) {
    if (it != jobs_.end() || job.solver == me_) out->push_back(PruneJob{job.job_id});
    if (it != jobs_.end()) jobs_.erase(it);
    disputes_.erase(job.job_id);
    return;
  }
  switch (job.status) {
    case JobStatus::kOpen:
      if (it == jobs_.end()) {
        if (WantsToClaim(job)) {
          open_.erase(job.job_id);
          jobs_[job.job_id] = Tracked{job, Phase::kClaimSent, height_, 0, {}, {}, {}};
          out->push_back(SendTx{ledger::ClaimJobOp{job.job_id, ForcedErrorCommitment(job.job_id)}});
        } else {
          open_[job.job_id] = job;
        }
      }
      return;
    case JobStatus::kClaimed:
      if (job.solver != me_) {
        if (it != jobs_.end()) jobs_.erase(it);  // Another solver's claim landed first.
        return;
      }
      // Ours: just claimed, or found claimed at start-up (train, resuming).
      if (it == jobs_.end() || it->second.phase == Phase::kClaimSent) {
        Tracked& t = jobs_[job.job_id];
        t = Tracked{job, Phase::kFetching, height_, 1, {}, {}, {}};
        out->push_back(FetchInputs{job});
      } else {
        it->second.job = job;
        if (it->second.phase == Phase::kAwaitingSeed && !job.claim_seed.IsZero()) CommitOrPlant(it->second, out);
      }
      return;
    case JobStatus::kCommitted:
    case JobStatus::kDisputed: {
      if (job.solver != me_) return;
      Tracked& t = jobs_[job.job_id];
      bool changed = t.job.forced != job.forced || t.job.status != job.status;
      t.job = job;
      t.phase = Phase::kServing;
      if (changed) t.reveal_sent = 0;
      disputes_[job.job_id] = dispute;
      MaybeReveal(t, dispute, out);
      CompareReplicas(out);
      return;
    }
    default:
      return;
  }
}

void SolverRole::OnHeight(const NewHeight& e, std::vector<Action>* out) {
  height_ = e.height;
  account_ = e.account;
  for (auto it = open_.begin(); it != open_.end();) {
    if (height_ >= it->second.claim_deadline_height) {
      it = open_.erase(it);
    } else if (WantsToClaim(it->second)) {
      const ledger::Job job = it->second;
      it = open_.erase(it);
      jobs_[job.job_id] = Tracked{job, Phase::kClaimSent, height_, 0, {}, {}, {}};
      out->push_back(SendTx{ledger::ClaimJobOp{job.job_id, ForcedErrorCommitment(job.job_id)}});
    } else {
      ++it;
    }
  }
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Tracked& t = it->second;
    bool stale = height_ >= t.since_height + policy_.resend_blocks;
    if (t.phase == Phase::kClaimSent && height_ > t.job.claim_deadline_height) {
      it = jobs_.erase(it);  // Too late now; the job will expire.
      continue;
    }
    if (t.phase == Phase::kClaimSent && stale) {
      t.since_height = height_;
      out->push_back(SendTx{ledger::ClaimJobOp{t.job.job_id, ForcedErrorCommitment(t.job.job_id)}});
    } else if (t.phase == Phase::kCommitSent && stale && height_ <= t.job.commit_deadline_height) {
      t.since_height = height_;
      out->push_back(Commit(t));
    } else if (t.phase == Phase::kPlantFailed && height_ >= t.since_height + policy_.retry_blocks) {
      t.phase = Phase::kPlanting;
      t.since_height = height_;
      out->push_back(PlantForcedError{t.job, t.forced_leaf});
    } else if (t.phase == Phase::kServing) {
      MaybeReveal(t, disputes_[it->first], out);
    } else if (t.phase == Phase::kFetchFailed && height_ >= t.since_height + policy_.retry_blocks) {
      if (t.attempts >= policy_.fetch_attempts_max) {
        t.phase = Phase::kGaveUp;
      } else {
        t.phase = Phase::kFetching;
        t.attempts++;
        t.since_height = height_;
        out->push_back(FetchInputs{t.job});
      }
    }
    ++it;
  }
}

std::vector<Action> SolverRole::OnEvent(const Event& event) {
  std::vector<Action> out;
  if (auto* e = std::get_if<JobChanged>(&event)) {
    OnJob(e->job, e->dispute, &out);
    if (siblings_.count(e->job.job_id)) CompareReplicas(&out);
  } else if (auto* v = std::get_if<VerificationFinished>(&event)) {
    // A sibling replica checked against ours: dispute it where it differs.
    auto c = compared_.find(v->job_id);
    if (c == compared_.end() || c->second == 0) return out;
    if (!v->status.ok()) {
      compared_.erase(c);  // Retried at the next change or block.
      return out;
    }
    c->second = 0;
    if (!v->accept && v->dispute) out.push_back(SendTx{*v->dispute});
  } else if (auto* h = std::get_if<NewHeight>(&event)) {
    OnHeight(*h, &out);
    CompareReplicas(&out);
  } else if (auto* f = std::get_if<InputsFetched>(&event)) {
    auto it = jobs_.find(f->job_id);
    if (it == jobs_.end() || it->second.phase != Phase::kFetching) return out;
    if (f->status.ok()) {
      it->second.phase = Phase::kTraining;
      out.push_back(StartTraining{it->second.job});
    } else {
      it->second.phase = Phase::kFetchFailed;
    }
    it->second.since_height = height_;
  } else if (auto* t = std::get_if<TrainingFinished>(&event)) {
    auto it = jobs_.find(t->job_id);
    if (it == jobs_.end() || it->second.phase != Phase::kTraining) return out;
    if (!t->status.ok()) {
      // The job itself failed (a NaN loss, a model that does not load): no
      // certificate can be made. The bond is lost when the commit window
      // closes; retrying cannot change a deterministic outcome.
      it->second.phase = Phase::kGaveUp;
      return out;
    }
    it->second.certificate_hash = t->certificate_hash;
    it->second.checkpoint_root = t->checkpoint_root;
    it->second.checkpoint_count = t->checkpoint_count;
    it->second.final_model_hash = t->final_model_hash;
    CommitOrPlant(it->second, &out);
  } else if (auto* p = std::get_if<ForcedErrorPlanted>(&event)) {
    auto it = jobs_.find(p->job_id);
    if (it == jobs_.end() || it->second.phase != Phase::kPlanting) return out;
    it->second.since_height = height_;
    if (!p->status.ok()) {
      it->second.phase = Phase::kPlantFailed;
      return out;
    }
    it->second.certificate_hash = p->certificate_hash;
    it->second.checkpoint_root = p->checkpoint_root;
    it->second.phase = Phase::kCommitSent;
    out.push_back(Commit(it->second));
  } else if (auto* r = std::get_if<TxRefused>(&event)) {
    auto it = jobs_.find(r->job_id);
    if (it != jobs_.end() && it->second.phase == Phase::kClaimSent) jobs_.erase(it);  // Lost the race or cannot afford it.
  }
  return out;
}

}  // namespace cairn::node
