#include "node/roles/ledger_host_role.h"

namespace cairn::node {

using ledger::JobStatus;

std::optional<uint64_t> LedgerHostRole::SettleAfter(const Tracked& t) const {
  switch (t.job.status) {
    case JobStatus::kOpen: return t.job.claim_deadline_height;
    case JobStatus::kClaimed: return t.job.commit_deadline_height;
    case JobStatus::kCommitted:
      // The solver reveals its forced-error secret after the window; the
      // job settles at once then, or fails when the reveal window closes.
      if (t.job.forced == ledger::ForcedError::kUnrevealed) return t.job.challenge_end_height + policy_.reveal_window_blocks;
      return t.job.challenge_end_height;
    case JobStatus::kDisputed:
      if (!t.dispute || AwaitsReferee(t)) return std::nullopt;
      return t.dispute->deadline_height;
    default: return std::nullopt;
  }
}

std::vector<Action> LedgerHostRole::OnEvent(const Event& event) {
  std::vector<Action> out;
  if (auto* e = std::get_if<JobChanged>(&event)) {
    const ledger::Job& job = e->job;
    if (ledger::IsFinal(job.status)) {
      jobs_.erase(job.job_id);
      return out;
    }
    Tracked& t = jobs_[job.job_id];
    bool changed = t.job.status != job.status || t.job.votes.size() != job.votes.size() ||
                   t.job.challenge_end_height != job.challenge_end_height || t.dispute != e->dispute ||
                   t.job.forced != job.forced;
    t.job = job;
    t.dispute = e->dispute;
    if (changed) t.settle_sent_height = 0;
    if (!AwaitsReferee(t)) {
      t.ruling_running = false;
      t.ruling_sent_height = 0;
      t.ruling_failed_height = 0;
    } else if (policy_.referee && !t.ruling_running && t.ruling_sent_height == 0) {
      t.ruling_running = true;
      out.push_back(StartRuling{job, *t.dispute});
    }
  } else if (auto* h = std::get_if<NewHeight>(&event)) {
    height_ = h->height;
    for (auto& [id, t] : jobs_) {
      auto after = SettleAfter(t);
      // The next block has height height_ + 1 > *after.
      if (after && height_ >= *after &&
          (t.settle_sent_height == 0 || height_ >= t.settle_sent_height + policy_.resend_blocks)) {
        t.settle_sent_height = height_;
        out.push_back(SendTx{ledger::SettleOp{id}});
      }
      if (!AwaitsReferee(t) || !policy_.referee) continue;
      if (t.ruling_sent_height != 0 && height_ >= t.ruling_sent_height + policy_.resend_blocks) {
        t.ruling_sent_height = height_;
        out.push_back(SendTx{t.ruling, Signer::kReferee});
      } else if (!t.ruling_running && t.ruling_sent_height == 0 && t.ruling_failed_height != 0 &&
                 height_ >= t.ruling_failed_height + policy_.retry_blocks) {
        t.ruling_running = true;
        out.push_back(StartRuling{t.job, *t.dispute});
      }
    }
  } else if (auto* r = std::get_if<RulingReady>(&event)) {
    auto it = jobs_.find(r->job_id);
    if (it == jobs_.end() || !it->second.ruling_running) return out;
    Tracked& t = it->second;
    t.ruling_running = false;
    if (!r->status.ok()) {
      t.ruling_failed_height = height_;  // Could not recompute yet (inputs unreachable): retry.
      return out;
    }
    t.ruling = r->ruling;
    t.ruling_sent_height = height_;
    out.push_back(SendTx{r->ruling, Signer::kReferee});
  }
  return out;
}

}  // namespace cairn::node
