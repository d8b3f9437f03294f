#include "node/roles/whistleblower_role.h"

#include "ledger/forced_error.h"
#include "node/roles/forced_errors.h"

namespace cairn::node {

bool WhistleblowerRole::MayDispute(const ledger::Job& job) const {
  if (job.solver == me_ || job.selection_seed.IsZero() || disputed_.count(job.job_id)) return false;
  for (const ledger::Vote& v : job.votes) {
    if (v.verifier == me_) return false;
  }
  return account_.stake_height < job.committed_height && account_.stake_free >= policy_.bond;
}

void WhistleblowerRole::OnJob(const ledger::Job& job, std::vector<Action>* out) {
  bool open = job.status == ledger::JobStatus::kCommitted && height_ < job.challenge_end_height;
  if (!open || !MayDispute(job)) {
    if (ledger::IsFinal(job.status)) {
      checked_.erase(job.job_id);
      disputed_.erase(job.job_id);
    }
    if (!open) jobs_.erase(job.job_id);
    return;
  }
  auto it = jobs_.find(job.job_id);
  if (it != jobs_.end()) {
    it->second.job = job;
    if (it->second.phase != Phase::kDisputeSent) return;  // Busy with this job already.
    if (!it->second.dispute || !ConcedesAsForced(job.forced_leaf, it->second.dispute->segment)) return;
    jobs_.erase(it);  // Our finding was someone else's catch first; look again below.
  }
  // The segments the accepts answer for, less those already replayed and
  // those of a forced error already revealed (the ledger refuses them).
  std::set<uint64_t> todo;
  const std::set<uint64_t>& done = checked_[job.job_id];
  for (const ledger::Vote& v : job.votes) {
    if (!v.accept) continue;
    for (uint64_t s : ledger::AuditedSegments(job.selection_seed, job.job_id, v.verifier, job.checkpoint_count - 1,
                                              policy_.audited_segments)) {
      if (!done.count(s) && !ConcedesAsForced(job.forced_leaf, s)) todo.insert(s);
    }
  }
  if (todo.empty()) return;
  Tracked t{job, Phase::kChecking, height_, 1, std::vector<uint64_t>(todo.begin(), todo.end()), std::nullopt};
  out->push_back(StartVerification{job, t.segments});
  jobs_[job.job_id] = std::move(t);
}

std::vector<Action> WhistleblowerRole::OnEvent(const Event& event) {
  std::vector<Action> out;
  if (auto* e = std::get_if<JobChanged>(&event)) {
    if (e->dispute && e->dispute->challenger == me_) disputed_.insert(e->job.job_id);
    OnJob(e->job, &out);
  } else if (auto* h = std::get_if<NewHeight>(&event)) {
    height_ = h->height;
    account_ = h->account;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Tracked& t = it->second;
      if (height_ >= t.job.challenge_end_height) {
        it = jobs_.erase(it);
        continue;
      }
      if (t.phase == Phase::kFailed && height_ >= t.since_height + policy_.retry_blocks &&
          t.attempts < policy_.attempts_max) {
        t.phase = Phase::kChecking;
        t.attempts++;
        t.since_height = height_;
        out.push_back(StartVerification{t.job, t.segments});
      } else if (t.phase == Phase::kDisputeSent && height_ >= t.since_height + policy_.resend_blocks) {
        t.since_height = height_;
        out.push_back(SendTx{*t.dispute});
      }
      ++it;
    }
  } else if (auto* v = std::get_if<VerificationFinished>(&event)) {
    auto it = jobs_.find(v->job_id);
    if (it == jobs_.end() || it->second.phase != Phase::kChecking) return out;
    Tracked& t = it->second;
    t.since_height = height_;
    if (!v->status.ok()) {
      t.phase = Phase::kFailed;
      return out;
    }
    if (v->accept || !v->dispute) {
      // The accepts' audits hold (or the reject cannot be proven): done
      // until a new accept comes in.
      for (uint64_t s : t.segments) checked_[v->job_id].insert(s);
      jobs_.erase(it);
      return out;
    }
    t.phase = Phase::kDisputeSent;
    t.dispute = v->dispute;
    out.push_back(SendTx{*v->dispute});
  } else if (auto* r = std::get_if<TxRefused>(&event)) {
    auto it = jobs_.find(r->job_id);
    if (it != jobs_.end() && it->second.phase == Phase::kDisputeSent && r->operation == "dispute_open" &&
        r->status.code() != StatusCode::kUnavailable && r->status.message().find("already has an open dispute") == std::string::npos) {
      jobs_.erase(it);  // Refused for good (window closed, already disputed).
    }
  }
  return out;
}

}  // namespace cairn::node
