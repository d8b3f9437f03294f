#include "net/messages.h"

#include "net/grpc_util.h"

namespace cairn::net {

void ToProto(const ledger::Job& job, ::cairn::v1::Job* out) {
  out->set_job_id(ToField(job.job_id));
  out->set_submitter(ToField(job.submitter));
  out->set_fee(job.fee);
  out->set_solver_stake(job.solver_stake);
  out->set_status(ledger::JobStatusName(job.status));
  out->set_solver(ToField(job.solver));
  out->set_certificate_hash(ToField(job.certificate_hash));
  out->set_checkpoint_root(ToField(job.checkpoint_root));
  out->set_final_model_hash(ToField(job.final_model_hash));
  out->set_challenge_end_height(job.challenge_end_height);
  out->set_claim_deadline_height(job.claim_deadline_height);
  out->set_commit_deadline_height(job.commit_deadline_height);
  out->set_claimed_height(job.claimed_height);
  out->set_posted_height(job.posted_height);
  out->set_manifest_hash(ToField(job.manifest_hash));
  out->set_checkpoint_count(job.checkpoint_count);
  out->set_committed_height(job.committed_height);
  out->set_selection_seed(ToField(job.selection_seed));
  out->set_disputes(job.disputes);
  out->set_claim_seed(ToField(job.claim_seed));
  out->set_forced(ledger::ForcedErrorName(job.forced));
  out->set_forced_leaf(job.forced_leaf);
  out->set_forced_error_secret(ToField(job.forced_error_secret));
  out->set_exact_replay(job.exact_replay);
  out->set_group(ToField(job.group));
  out->set_replica(job.replica);
  out->set_replicas(job.replicas);
  for (const ledger::Vote& v : job.votes) {
    auto* pv = out->add_votes();
    pv->set_verifier(ToField(v.verifier));
    pv->set_accept(v.accept);
    pv->set_bond(v.bond);
    pv->set_report_hash(ToField(v.report_hash));
  }
}

void ToProto(const ledger::Account& a, const std::string& endpoint, ::cairn::v1::Account* out) {
  out->set_nonce(a.nonce);
  out->set_balance(a.balance);
  out->set_stake_free(a.stake_free);
  out->set_stake_bonded(a.stake_bonded);
  out->set_unbonding(a.unbonding);
  out->set_endpoint(endpoint);
}

Result<ledger::Job> FromProto(const ::cairn::v1::Job& in) {
  ledger::Job j;
  CAIRN_ASSIGN_OR_RETURN(j.job_id, HashField(in.job_id(), "job_id"));
  CAIRN_ASSIGN_OR_RETURN(j.submitter, KeyField(in.submitter(), "submitter"));
  CAIRN_ASSIGN_OR_RETURN(j.solver, KeyField(in.solver(), "solver"));
  CAIRN_ASSIGN_OR_RETURN(j.certificate_hash, HashField(in.certificate_hash(), "certificate_hash"));
  CAIRN_ASSIGN_OR_RETURN(j.checkpoint_root, HashField(in.checkpoint_root(), "checkpoint_root"));
  CAIRN_ASSIGN_OR_RETURN(j.final_model_hash, HashField(in.final_model_hash(), "final_model_hash"));
  CAIRN_ASSIGN_OR_RETURN(j.manifest_hash, HashField(in.manifest_hash(), "manifest_hash"));
  j.fee = in.fee();
  j.solver_stake = in.solver_stake();
  j.challenge_end_height = in.challenge_end_height();
  j.claim_deadline_height = in.claim_deadline_height();
  j.commit_deadline_height = in.commit_deadline_height();
  j.claimed_height = in.claimed_height();
  j.posted_height = in.posted_height();
  CAIRN_ASSIGN_OR_RETURN(j.selection_seed, HashField(in.selection_seed(), "selection_seed"));
  j.checkpoint_count = in.checkpoint_count();
  j.committed_height = in.committed_height();
  j.disputes = in.disputes();
  CAIRN_ASSIGN_OR_RETURN(j.claim_seed, HashField(in.claim_seed(), "claim_seed"));
  CAIRN_ASSIGN_OR_RETURN(j.forced_error_secret, HashField(in.forced_error_secret(), "forced_error_secret"));
  j.forced_leaf = in.forced_leaf();
  j.exact_replay = in.exact_replay();
  CAIRN_ASSIGN_OR_RETURN(j.group, HashField(in.group(), "group"));
  const uint32_t replicas = in.replicas() == 0 ? 1 : in.replicas();  // Absent (an older host): a plain job.
  if (replicas > ledger::kReplicasMax || in.replica() >= replicas) {
    return InvalidArgument("replica " + std::to_string(in.replica()) + " of " + std::to_string(replicas) +
                           " is not a replica of 1.." + std::to_string(ledger::kReplicasMax));
  }
  j.replica = static_cast<uint8_t>(in.replica());
  j.replicas = static_cast<uint8_t>(replicas);
  bool forced_known = false;
  for (uint8_t f = 0; f <= static_cast<uint8_t>(ledger::ForcedError::kMasked); ++f) {
    if (in.forced() == ledger::ForcedErrorName(static_cast<ledger::ForcedError>(f))) {
      j.forced = static_cast<ledger::ForcedError>(f);
      forced_known = true;
    }
  }
  if (!forced_known) return InvalidArgument("unknown forced-error state '" + in.forced() + "'");
  bool known = false;
  for (uint8_t s = 1; s <= 8; ++s) {
    if (in.status() == ledger::JobStatusName(static_cast<ledger::JobStatus>(s))) {
      j.status = static_cast<ledger::JobStatus>(s);
      known = true;
    }
  }
  if (!known) return InvalidArgument("unknown job status '" + in.status() + "'");
  if (in.votes_size() > 2 * static_cast<int>(ledger::kVerdictsPerJobMax) + 1) return InvalidArgument("too many votes");
  for (const auto& pv : in.votes()) {
    ledger::Vote v;
    CAIRN_ASSIGN_OR_RETURN(v.verifier, KeyField(pv.verifier(), "vote.verifier"));
    CAIRN_ASSIGN_OR_RETURN(v.report_hash, HashField(pv.report_hash(), "vote.report_hash"));
    v.accept = pv.accept();
    v.bond = pv.bond();
    j.votes.push_back(v);
  }
  return j;
}

ledger::Account FromProto(const ::cairn::v1::Account& in) {
  ledger::Account a;
  a.nonce = in.nonce();
  a.balance = in.balance();
  a.stake_free = in.stake_free();
  a.stake_bonded = in.stake_bonded();
  a.unbonding = in.unbonding();
  return a;
}

}  // namespace cairn::net
