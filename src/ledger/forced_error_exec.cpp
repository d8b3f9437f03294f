// Forced errors on the ledger (docs/protocol.md, "Forced errors"): the
// solver's reveal of the secret it committed at claim, and the referee's
// check of a revealed forced checkpoint. The ledger never trusts the
// solver's word that it planted an error: accepting verifiers lose their
// bonds only once the referee has replayed the segment and confirmed it.
#include "ledger/execute_internal.h"
#include "ledger/forced_error.h"

namespace cairn::ledger::internal {
namespace {

bool IsZeroKey(const AccountId& id) {
  for (uint8_t b : id.bytes) {
    if (b != 0) return false;
  }
  return true;
}

bool AcceptedWithAudit(const Job& job, const Params& p, const Vote& v) {
  return v.accept && AuditCovers(job, v.verifier, p.audited_segments, job.forced_leaf);
}

void AwaitForcedCheck(Dispute* d) {
  d->phase = DisputePhase::kReferee;
  d->task = RefereeTask::kForcedCheck;
  d->deadline_height = 0;  // The referee has no deadline: it is the chain's own duty.
}

// A reveal answering the open dispute: the disputed segment ends or starts
// at the forced checkpoint, so the solver concedes it and the referee checks.
Status RevealInDispute(Overlay* s, const ExecContext& ctx, Job job, const RevealOp& op, uint64_t leaf) {
  CAIRN_ASSIGN_OR_RETURN(auto found, GetDispute(*s, job.job_id, job.disputes - 1));
  if (!found) return Internal(JobName(job.job_id) + " is disputed but its dispute record is missing");
  Dispute d = std::move(*found);
  if (leaf == 0) return FailedPrecondition("the draw gave " + JobName(job.job_id) + " no forced error: answer the dispute's moves");
  if (d.segment + 1 != leaf && d.segment != leaf) {
    return FailedPrecondition("the forced error is checkpoint " + std::to_string(leaf) + " but the dispute is on segment " +
                              std::to_string(d.segment) + ": answer its moves");
  }
  if (d.phase == DisputePhase::kReferee) return FailedPrecondition("the dispute's game is over; the referee rules next");
  AwaitForcedCheck(&d);
  if (d.moves.size() >= kDisputeMovesMax) return ResourceExhausted("the dispute's transcript is full");
  d.moves.push_back({ctx.height, DisputeParty::kSolver, DisputePhase::kReferee, leaf, op.secret, 0});
  job.forced = ForcedError::kChecking;
  job.forced_error_secret = op.secret;
  job.forced_leaf = leaf;
  PutJob(s, job);
  PutDispute(s, d);
  return Status::Ok();
}

// The reveal every solver owes after the challenge window.
Status RevealAfterWindow(Overlay* s, const ExecContext& ctx, Job job, const RevealOp& op, uint64_t leaf) {
  const Params& p = ctx.genesis->params;
  if (ctx.height <= job.challenge_end_height) {
    return FailedPrecondition("reveal after the challenge window, from height " +
                              std::to_string(job.challenge_end_height + 1) +
                              " (or in answer to a dispute on the forced checkpoint)");
  }
  CAIRN_ASSIGN_OR_RETURN(uint64_t reveal_end, HeightAfter(job.challenge_end_height, p.reveal_window_blocks, "reveal end"));
  if (ctx.height > reveal_end) {
    return FailedPrecondition("the reveal window of " + JobName(job.job_id) + " closed at height " + std::to_string(reveal_end));
  }
  job.forced_error_secret = op.secret;
  job.forced_leaf = leaf;
  if (leaf == 0) {
    job.forced = ForcedError::kNone;
    PutJob(s, job);
    return Status::Ok();
  }
  bool exposed = false;
  for (const Vote& v : job.votes) exposed = exposed || AcceptedWithAudit(job, p, v);
  if (!exposed) {
    // Nobody answered for the forced checkpoint: there is nothing to decide.
    job.forced = ForcedError::kConfirmed;
    PutJob(s, job);
    return Status::Ok();
  }
  if (!ProofShows(op.start_hash, leaf - 1, job.checkpoint_count, op.start_proof, job.checkpoint_root) ||
      !ProofShows(op.end_hash, leaf, job.checkpoint_count, op.end_proof, job.checkpoint_root)) {
    return InvalidArgument("a forced job's reveal must prove checkpoints " + std::to_string(leaf - 1) + " and " +
                           std::to_string(leaf) + " under the committed checkpoint root (start/end_proof)");
  }
  // Verifiers accepted the job with the forced checkpoint audited: the
  // referee checks it, with no challenger (the ledger opens the check).
  Dispute d;
  d.job_id = job.job_id;
  d.index = job.disputes;
  d.opened_height = ctx.height;
  d.segment = leaf - 1;
  d.lo_hash = op.start_hash;
  d.solver_hi_hash = op.end_hash;
  AwaitForcedCheck(&d);
  d.moves.push_back({ctx.height, DisputeParty::kSolver, DisputePhase::kReferee, leaf, op.secret, 0});
  job.forced = ForcedError::kChecking;
  job.status = JobStatus::kDisputed;
  job.disputes++;
  PutJob(s, job);
  PutDispute(s, d);
  return Status::Ok();
}

}  // namespace

Status Reveal(Overlay* s, const ExecContext& ctx, const AccountId& sender, const RevealOp& op) {
  CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
  if (job.status != JobStatus::kCommitted && job.status != JobStatus::kDisputed) {
    return WrongStatus(job, "committed or disputed");
  }
  if (sender != job.solver) return PermissionDenied("only the solver of " + JobName(job.job_id) + " reveals its secret");
  if (job.forced != ForcedError::kUnrevealed) return AlreadyExists(JobName(job.job_id) + "'s secret was already revealed");
  if (ForcedErrorCommitment(op.secret, job.job_id) != job.forced_error_commitment) {
    return InvalidArgument("the secret does not open the forced-error commitment made at claim");
  }
  uint64_t leaf = JobForcedLeaf(op.secret, job, job.checkpoint_count, ctx.genesis->params.forced_error_bps);
  if (job.status == JobStatus::kDisputed) return RevealInDispute(s, ctx, std::move(job), op, leaf);
  return RevealAfterWindow(s, ctx, std::move(job), op, leaf);
}

Status RuleOnForcedCheck(Overlay* s, const ExecContext& ctx, Job job, Dispute d, const RulingOp& op) {
  const Params& p = ctx.genesis->params;
  // value: the referee's state hash after replaying the disputed segment
  // from its committed start. solver_at_fault with a real error: the
  // referee also replayed both segments beside the forced checkpoint from
  // its honest twin (the planted bit flipped back) and one of them failed,
  // so the reveal was hiding a faked segment.
  const bool error_real = op.value != d.solver_hi_hash;
  if (!error_real && !op.solver_at_fault) {
    return InvalidArgument("the ruling says the solver is not at fault, but its recomputed end state equals the "
                           "committed checkpoint (so the forced error is not real)");
  }
  const bool caught = !IsZeroKey(d.challenger);
  if (caught && (job.votes.empty() || job.votes.back().accept || job.votes.back().verifier != d.challenger)) {
    return Internal(JobName(job.job_id) + ": the open dispute's reject is not the last vote");
  }
  std::string why;
  if (error_real && !op.solver_at_fault) {
    // The catcher earns the prize only with the state the referee found
    // (it replayed); a lucky guess of the segment gets its bond back.
    const bool earned = caught && op.value == d.challenger_hi_hash;
    const AccountId& winner = d.challenger;
    if (caught) {
      job.votes.pop_back();
      CAIRN_RETURN_IF_ERROR(ReleaseBond(s, d.challenger, d.bond));
    }
    Amount prize = 0;
    if (earned) {
      CAIRN_ASSIGN_OR_RETURN(prize, PayJackpotShare(s, ctx, winner));
    }
    // Accepts of a checkpoint that was wrong in a segment they answer for.
    const Job& j = job;
    CAIRN_ASSIGN_OR_RETURN(uint32_t exposed, SlashAccepts(s, &job, [&](const Vote& v) {
                             return AcceptedWithAudit(j, p, v);
                           }, earned ? &winner : nullptr));
    job.forced = ForcedError::kConfirmed;
    job.status = JobStatus::kCommitted;
    if (caught) {
      // The dispute froze verdicts; give the others their time back.
      CAIRN_ASSIGN_OR_RETURN(job.challenge_end_height,
                             HeightAfter(job.challenge_end_height, ctx.height - d.opened_height, "challenge end"));
    }
    why = "forced error confirmed: the referee replayed segment " + std::to_string(d.segment) +
          " and its end is not the committed checkpoint " + std::to_string(job.forced_leaf) +
          ", and both segments beside it replay through the honest twin; " +
          (earned ? "the challenger caught it (jackpot share " + Units(prize) + ")"
                  : caught ? "the challenger's end state was not the referee's: its bond is returned, no prize"
                           : "nobody caught it") +
          "; " + std::to_string(exposed) + " accepting verifier(s) that audited it lost their bond";
  } else {
    // Either the solver revealed a forced error its checkpoint does not
    // carry (the segment replays to it: a lie, say to hand a friend the
    // prize), or it hid a real error behind its forced one. The job fails.
    const bool masked = error_real;
    if (masked) {
      // The challenger (if any) was right: its bond stays with its reject,
      // and if its end state is the referee's (it replayed; a guess of the
      // segment earns nothing) the solver's bond pays it as a lost dispute
      // does. Accepts that answered for the forced checkpoint approved a
      // wrong segment.
      const bool earned = caught && op.value == d.challenger_hi_hash;
      const Job& j = job;
      CAIRN_ASSIGN_OR_RETURN(uint32_t exposed, SlashAccepts(s, &job, [&](const Vote& v) {
                               return AcceptedWithAudit(j, p, v);
                             }, earned ? &d.challenger : nullptr));
      if (earned && exposed > 0) CAIRN_RETURN_IF_ERROR(PayJackpotShare(s, ctx, d.challenger).status());
      if (earned) {
        CAIRN_RETURN_IF_ERROR(Slash(s, ctx, job.solver, job.solver_stake, d.challenger));
      } else {
        CAIRN_RETURN_IF_ERROR(BurnBond(s, job.solver, job.solver_stake));
        CAIRN_RETURN_IF_ERROR(AddToJackpot(s, job.solver_stake));
      }
      why = "forced error masking a real one: checkpoint " + std::to_string(job.forced_leaf) +
            " is wrong, but a segment beside it does not replay through its honest twin either; " +
            std::to_string(exposed) + " accepting verifier(s) that audited it lost their bond";
    } else {
      if (caught) job.votes.pop_back();
      CAIRN_RETURN_IF_ERROR(BurnBond(s, job.solver, job.solver_stake));
      CAIRN_RETURN_IF_ERROR(AddToJackpot(s, job.solver_stake));
      if (caught) {
        CAIRN_RETURN_IF_ERROR(BurnBond(s, d.challenger, d.bond));
        CAIRN_RETURN_IF_ERROR(AddToJackpot(s, d.bond));
      }
      why = "forced error refuted: the referee replayed segment " + std::to_string(d.segment) +
            " to the committed checkpoint, so the solver revealed an error it never made" +
            (caught ? " and the challenger disputed a right segment" : "");
    }
    CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee));
    for (const Vote& v : job.votes) CAIRN_RETURN_IF_ERROR(ReleaseBond(s, v.verifier, v.bond));
    job.fee = 0;
    job.forced = masked ? ForcedError::kMasked : ForcedError::kRefuted;
    job.status = JobStatus::kFailed;
  }
  d.phase = DisputePhase::kResolved;
  d.solver_at_fault = op.solver_at_fault;
  d.resolved_height = ctx.height;
  d.resolution = std::move(why);
  PutJob(s, job);
  PutDispute(s, d);
  return Status::Ok();
}

}  // namespace cairn::ledger::internal
