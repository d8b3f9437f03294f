#include "node/roles/verifier_role.h"

#include "node/roles/forced_errors.h"

namespace cairn::node {

bool VerifierRole::Voted(const ledger::Job& job) const {
  for (const ledger::Vote& v : job.votes) {
    if (v.verifier == me_) return true;
  }
  return disputed_.count(job.job_id) > 0;  // A lost dispute's vote is gone; one dispute per job.
}

SendTx VerifierRole::Verdict(const Tracked& t) const {
  if (!t.accept) return SendTx{*t.dispute};
  return SendTx{ledger::VerdictOp{t.job.job_id, true, t.report_hash}};
}

bool VerifierRole::MayJudge(const ledger::Job& job) const {
  if (job.solver == me_ || job.selection_seed.IsZero()) return false;  // Not yet drawn: next block.
  if (account_.stake_height >= job.committed_height) return false;     // The ledger would refuse it.
  return policy_.challenge || ledger::SelectedVerifier(job.selection_seed, job.job_id, me_, policy_.sample_bps);
}

std::vector<Action> VerifierRole::OnEvent(const Event& event) {
  std::vector<Action> out;
  if (auto* e = std::get_if<JobChanged>(&event)) {
    const ledger::Job& job = e->job;
    auto it = jobs_.find(job.job_id);
    bool open = job.status == ledger::JobStatus::kCommitted && height_ < job.challenge_end_height;
    if (e->dispute && e->dispute->challenger == me_) disputed_.insert(job.job_id);
    if (ledger::IsFinal(job.status)) disputed_.erase(job.job_id);
    if (!open || !MayJudge(job) || Voted(job)) {
      // Judged, disputed (verdicts wait for the ruling) or closed. A dispute
      // ruled against the challenger reopens the job and it comes back here.
      if (it != jobs_.end()) jobs_.erase(it);
      waiting_for_stake_.erase(job.job_id);
      if (!open) passed_.erase(job.job_id);
      return out;
    }
    if (passed_.count(job.job_id)) return out;
    if (it == jobs_.end()) {
      if (account_.stake_free < policy_.bond) {
        waiting_for_stake_[job.job_id] = job;  // Cannot bond a verdict yet.
        return out;
      }
      jobs_[job.job_id] = Tracked{job, Phase::kVerifying, height_, 1, false, {}, std::nullopt};
      out.push_back(StartVerification{job});
    } else {
      Tracked& t = it->second;
      t.job = job;
      if (t.dispute && ConcedesAsForced(job.forced_leaf, t.dispute->segment) && t.phase != Phase::kVerifying) {
        // Our reject found the solver's forced error, which someone else
        // caught first: the ledger now refuses it. Judge the rest again.
        t.phase = Phase::kVerifying;
        t.dispute.reset();
        t.since_height = height_;
        out.push_back(StartVerification{job});
      }
    }
  } else if (auto* h = std::get_if<NewHeight>(&event)) {
    height_ = h->height;
    account_ = h->account;
    for (auto it = waiting_for_stake_.begin(); it != waiting_for_stake_.end();) {
      if (height_ >= it->second.challenge_end_height) {
        it = waiting_for_stake_.erase(it);
      } else if (account_.stake_free >= policy_.bond && !jobs_.count(it->first)) {
        jobs_[it->first] = Tracked{it->second, Phase::kVerifying, height_, 1, false, {}, std::nullopt};
        out.push_back(StartVerification{it->second});
        it = waiting_for_stake_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Tracked& t = it->second;
      if (height_ >= t.job.challenge_end_height) {
        it = jobs_.erase(it);  // Window closed: a verdict would be refused.
        continue;
      }
      if (t.phase == Phase::kAwaitingStake && account_.stake_free >= policy_.bond) {
        t.phase = Phase::kVerdictSent;
        t.since_height = height_;
        out.push_back(Verdict(t));
      } else if (t.phase == Phase::kVerdictSent && height_ >= t.since_height + policy_.resend_blocks) {
        t.since_height = height_;
        out.push_back(Verdict(t));
      } else if (t.phase == Phase::kFailed && height_ >= t.since_height + policy_.retry_blocks &&
                 t.attempts < policy_.attempts_max) {
        t.phase = Phase::kVerifying;
        t.attempts++;
        t.since_height = height_;
        out.push_back(StartVerification{t.job});
      }
      ++it;
    }
  } else if (auto* r = std::get_if<TxRefused>(&event)) {
    auto it = jobs_.find(r->job_id);
    if (it != jobs_.end() && it->second.phase == Phase::kVerdictSent &&
        r->status.message().find("free stake") != std::string::npos) {
      it->second.phase = Phase::kAwaitingStake;
    }
  } else if (auto* v = std::get_if<VerificationFinished>(&event)) {
    auto it = jobs_.find(v->job_id);
    if (it == jobs_.end() || it->second.phase != Phase::kVerifying) return out;
    it->second.since_height = height_;
    if (!v->status.ok()) {
      it->second.phase = Phase::kFailed;
      return out;
    }
    it->second.accept = v->accept;
    it->second.report_hash = v->report_hash;
    it->second.dispute = v->dispute;
    bool drawn = ledger::SelectedVerifier(it->second.job.selection_seed, v->job_id, me_, policy_.sample_bps);
    if ((v->accept && !drawn) || (!v->accept && (!v->dispute || !policy_.challenge))) {
      // An accept from an undrawn verifier would be refused; a reject that
      // cannot be proven, or without challenge mode, is left to the operator.
      passed_.insert(v->job_id);
      jobs_.erase(it);
      return out;
    }
    if (account_.stake_free < policy_.bond) {
      it->second.phase = Phase::kAwaitingStake;  // Another verdict holds the stake for now.
      return out;
    }
    it->second.phase = Phase::kVerdictSent;
    out.push_back(Verdict(it->second));
  }
  return out;
}

}  // namespace cairn::node
