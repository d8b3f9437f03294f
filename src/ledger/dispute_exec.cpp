// The pinpoint game's rules (docs/protocol.md, "Disputes"). The ledger only
// compares hashes and checks proofs; all computation happens off the
// ledger, by the parties and finally by the referee.
#include <algorithm>

#include "crypto/merkle.h"
#include "ledger/execute_internal.h"
#include "ledger/forced_error.h"

namespace cairn::ledger::internal {
namespace {

const Params& ParamsOf(const ExecContext& ctx) { return ctx.genesis->params; }

std::string Round(const Dispute& d) {
  return std::string(DisputePhaseName(d.phase)) + " at " + std::to_string(d.position);
}

struct OpenGame {
  Job job;
  Dispute dispute;
};

Result<OpenGame> LoadOpenGame(const Overlay& s, const Hash256& job_id) {
  CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(s, job_id));
  if (job.status != JobStatus::kDisputed || job.disputes == 0) {
    return FailedPrecondition(JobName(job_id) + " has no open dispute (it is " + JobStatusName(job.status) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(auto d, GetDispute(s, job_id, job.disputes - 1));
  if (!d) return Internal(JobName(job_id) + " is disputed but its dispute record is missing");
  return OpenGame{std::move(job), std::move(*d)};
}

Status StartRound(const ExecContext& ctx, Dispute* d, DisputePhase phase, uint64_t position) {
  d->phase = phase;
  d->position = position;
  d->solver.moved = false;
  d->challenger_claim.moved = false;
  CAIRN_ASSIGN_OR_RETURN(d->deadline_height,
                         HeightAfter(ctx.height, ParamsOf(ctx).dispute_round_blocks, "dispute round deadline"));
  return Status::Ok();
}

// Bisect the steps while more than one is in question; then trace that one.
Status NextStepRound(const ExecContext& ctx, Dispute* d) {
  if (d->hi_step - d->lo_step > 1) {
    return StartRound(ctx, d, DisputePhase::kSteps, d->lo_step + (d->hi_step - d->lo_step) / 2);
  }
  return StartRound(ctx, d, DisputePhase::kTraceRoots, d->lo_step);
}

Status NextOpRound(const ExecContext& ctx, Dispute* d) {
  if (d->op_hi - d->op_lo > 1) return StartRound(ctx, d, DisputePhase::kOps, d->op_lo + (d->op_hi - d->op_lo) / 2);
  return StartRound(ctx, d, DisputePhase::kRecords, d->op_lo);
}

void AwaitReferee(Dispute* d, RefereeTask task) {
  d->phase = DisputePhase::kReferee;
  d->task = task;
  d->deadline_height = 0;  // The referee has no deadline: it is the chain's own duty.
}

// Both parties moved in the current round: compare and move on.
Status Advance(const ExecContext& ctx, Dispute* d) {
  DisputeClaim& s = d->solver;
  DisputeClaim& c = d->challenger_claim;
  switch (d->phase) {
    case DisputePhase::kSteps:
      if (s.hash == c.hash) {
        d->lo_step = d->position;
        d->lo_hash = s.hash;
      } else {
        d->hi_step = d->position;
        d->solver_hi_hash = s.hash;
        d->challenger_hi_hash = c.hash;
      }
      return NextStepRound(ctx, d);
    case DisputePhase::kTraceRoots:
      if (s.trace_root == c.trace_root && s.trace_count == c.trace_count) {
        // Same operators, same results, yet different states after the
        // step: only recomputing the step can say who is right.
        AwaitReferee(d, RefereeTask::kStep);
        return Status::Ok();
      }
      d->op_lo = 0;
      d->op_lo_prefix = TracePrefixStart(d->lo_hash);
      d->op_hi = std::min(s.trace_count, c.trace_count);
      // Equal counts with different roots: the last prefixes differ (equal
      // last prefixes mean equal chains, hence equal roots), so bisect at
      // once. Different counts: first see whether one trace extends the other.
      d->op_hi_known = s.trace_count == c.trace_count;
      if (d->op_hi_known) return NextOpRound(ctx, d);
      return StartRound(ctx, d, DisputePhase::kOps, d->op_hi);
    case DisputePhase::kOps: {
      bool agree = s.hash == c.hash;
      if (!d->op_hi_known) {
        // The reveal at the shorter trace's end. Agreeing there means one
        // trace extends the other: the graphs differ, the step decides.
        if (agree) {
          AwaitReferee(d, RefereeTask::kStep);
          return Status::Ok();
        }
        d->op_hi_known = true;
        s.prefix_hi = s.hash;
        c.prefix_hi = c.hash;
      } else if (agree) {
        d->op_lo = d->position;
        d->op_lo_prefix = s.hash;
      } else {
        d->op_hi = d->position;
        s.prefix_hi = s.hash;
        c.prefix_hi = c.hash;
      }
      return NextOpRound(ctx, d);
    }
    case DisputePhase::kRecords:
      AwaitReferee(d, RefereeTask::kOperator);
      return Status::Ok();
    case DisputePhase::kReferee:
    case DisputePhase::kResolved:
      break;
  }
  return Internal("dispute advanced in phase " + std::string(DisputePhaseName(d->phase)));
}

// Ends the dispute: the loser's bond goes (by challenger_reward_bps) to the
// winner and the rest to the jackpot.
// An exact-mode job's accepts whose audited segments include the segment a
// ruling found wrong approved a real error: their bonds go to the challenger
// (and with any, a jackpot share). Returns how many. A timeout proves
// nothing about the segment, so it never costs an acceptor.
Result<uint32_t> SlashApprovers(Overlay* s, const ExecContext& ctx, Job* job, const Dispute& d) {
  const uint32_t audited = ParamsOf(ctx).audited_segments;
  const Job& j = *job;
  CAIRN_ASSIGN_OR_RETURN(uint32_t exposed, SlashAccepts(s, job, [&](const Vote& v) {
                           return AuditIncludes(j, v.verifier, audited, d.segment);
                         }, &d.challenger));
  if (exposed > 0) CAIRN_RETURN_IF_ERROR(PayJackpotShare(s, ctx, d.challenger).status());
  return exposed;
}

Status Resolve(Overlay* s, const ExecContext& ctx, Job job, Dispute d, bool solver_at_fault, std::string why,
               bool by_ruling) {
  if (job.votes.empty() || job.votes.back().accept || job.votes.back().verifier != d.challenger) {
    return Internal(JobName(job.job_id) + ": the open dispute's reject is not the last vote");
  }
  if (solver_at_fault) {
    if (by_ruling && job.exact_replay) {
      CAIRN_ASSIGN_OR_RETURN(uint32_t exposed, SlashApprovers(s, ctx, &job, d));
      if (exposed > 0) {
        why += "; " + std::to_string(exposed) + " accepting verifier(s) that audited segment " +
               std::to_string(d.segment) + " lost their bond to the challenger";
      }
    }
    CAIRN_RETURN_IF_ERROR(Slash(s, ctx, job.solver, job.solver_stake, d.challenger));
    CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee));
    for (const Vote& v : job.votes) CAIRN_RETURN_IF_ERROR(ReleaseBond(s, v.verifier, v.bond));
    job.fee = 0;
    job.status = JobStatus::kFailed;
  } else {
    CAIRN_RETURN_IF_ERROR(Slash(s, ctx, d.challenger, d.bond, job.solver));
    job.votes.pop_back();
    job.status = JobStatus::kCommitted;
    // The dispute froze verdicts; give the others their time back.
    CAIRN_ASSIGN_OR_RETURN(job.challenge_end_height,
                           HeightAfter(job.challenge_end_height, ctx.height - d.opened_height, "challenge end"));
  }
  d.phase = DisputePhase::kResolved;
  d.solver_at_fault = solver_at_fault;
  d.resolved_height = ctx.height;
  d.resolution = std::move(why);
  PutJob(s, job);
  PutDispute(s, d);
  return Status::Ok();
}

}  // namespace

Status OpenDispute(Overlay* s, const ExecContext& ctx, const AccountId& sender, Account& account,
                   const DisputeOpenOp& op) {
  CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
  if (job.status == JobStatus::kDisputed) {
    return FailedPrecondition(JobName(job.job_id) +
                              " already has an open dispute; the challenge window is extended by its length, so "
                              "retry after its ruling");
  }
  if (job.status != JobStatus::kCommitted) return WrongStatus(job, "committed (awaiting verdicts)");
  if (ctx.height > job.challenge_end_height) {
    return FailedPrecondition(JobName(job.job_id) + ": challenge window closed at height " +
                              std::to_string(job.challenge_end_height));
  }
  CAIRN_RETURN_IF_ERROR(CheckVerifierEligible(ctx, job, sender, account));
  // One dispute per challenger and job: a loser cannot hold the job hostage
  // by disputing again (each dispute extends the challenge window).
  for (uint32_t i = 0; i < job.disputes; ++i) {
    CAIRN_ASSIGN_OR_RETURN(auto earlier, GetDispute(*s, job.job_id, i));
    if (earlier && earlier->challenger == sender) {
      return AlreadyExists("this account already disputed " + JobName(job.job_id) + " (dispute " + std::to_string(i) +
                           ") and may not again");
    }
  }
  if (op.segment >= job.checkpoint_count - 1) {
    return InvalidArgument("segment " + std::to_string(op.segment) + " does not exist: the certificate has " +
                           std::to_string(job.checkpoint_count - 1) + " segments");
  }
  if (job.forced_leaf != 0 && (op.segment + 1 == job.forced_leaf || op.segment == job.forced_leaf)) {
    return FailedPrecondition("checkpoint " + std::to_string(job.forced_leaf) + " of " + JobName(job.job_id) +
                              " is its revealed forced error: segment " + std::to_string(op.segment) +
                              " is known to disagree");
  }
  if (op.end_step <= op.begin_step || op.end_step - op.begin_step > kDisputeSegmentStepsMax) {
    return InvalidArgument("a disputed segment runs 1.." + std::to_string(kDisputeSegmentStepsMax) + " steps");
  }
  if (!ProofShows(op.start_hash, op.segment, job.checkpoint_count, op.start_proof, job.checkpoint_root)) {
    return InvalidArgument("start_proof does not show start_hash as checkpoint " + std::to_string(op.segment) +
                           " under the committed checkpoint root");
  }
  if (!ProofShows(op.end_hash, op.segment + 1, job.checkpoint_count, op.end_proof, job.checkpoint_root)) {
    return InvalidArgument("end_proof does not show end_hash as checkpoint " + std::to_string(op.segment + 1) +
                           " under the committed checkpoint root");
  }
  Amount bond = ParamsOf(ctx).verifier_stake_min;
  CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, bond, "free stake to bond as a challenger"));
  CAIRN_RETURN_IF_ERROR(AddTo(&account.stake_bonded, bond, "bonded stake"));

  Dispute d;
  d.job_id = job.job_id;
  d.index = job.disputes;
  d.challenger = sender;
  d.bond = bond;
  d.opened_height = ctx.height;
  d.segment = op.segment;
  d.lo_step = op.begin_step;
  d.hi_step = op.end_step;
  d.lo_hash = op.start_hash;
  d.solver_hi_hash = op.end_hash;
  d.challenger_hi_hash = op.challenger_end_hash;
  if (op.challenger_end_hash == op.end_hash) {
    // The end state agrees: what is disputed is the segment's signed claims.
    AwaitReferee(&d, RefereeTask::kSegment);
  } else {
    CAIRN_RETURN_IF_ERROR(NextStepRound(ctx, &d));
  }
  job.votes.push_back({sender, false, bond, op.report_hash});
  job.status = JobStatus::kDisputed;
  job.disputes++;
  PutJob(s, job);
  PutDispute(s, d);
  return Status::Ok();
}

Status MoveInDispute(Overlay* s, const ExecContext& ctx, const AccountId& sender, const PinpointMoveOp& op) {
  CAIRN_ASSIGN_OR_RETURN(OpenGame g, LoadOpenGame(*s, op.job_id));
  Dispute& d = g.dispute;
  DisputeParty party;
  if (sender == g.job.solver) {
    party = DisputeParty::kSolver;
  } else if (sender == d.challenger) {
    party = DisputeParty::kChallenger;
  } else {
    return PermissionDenied("only the solver and the challenger move in " + JobName(op.job_id) + "'s dispute");
  }
  if (d.phase == DisputePhase::kReferee) {
    return FailedPrecondition("the dispute's game is over; the referee rules next");
  }
  if (ctx.height > d.deadline_height) {
    return FailedPrecondition("the round's deadline passed at height " + std::to_string(d.deadline_height) +
                              "; the party that did not move loses (settle the job to close the dispute)");
  }
  if (op.phase != static_cast<uint8_t>(d.phase) || op.position != d.position) {
    return FailedPrecondition("this move is for round (phase " + std::to_string(op.phase) + ", position " +
                              std::to_string(op.position) + ") but the dispute is " + Round(d));
  }
  DisputeClaim& claim = party == DisputeParty::kSolver ? d.solver : d.challenger_claim;
  if (claim.moved) return AlreadyExists("this party already moved in the dispute's current round (" + Round(d) + ")");
  switch (d.phase) {
    case DisputePhase::kSteps:
      claim.hash = op.hash;
      break;
    case DisputePhase::kTraceRoots:
      if (op.count == 0 || op.count > kTraceRecordsMax) {
        return InvalidArgument("a trace holds 1.." + std::to_string(kTraceRecordsMax) + " records");
      }
      claim.hash = op.hash;
      claim.count = op.count;
      claim.trace_root = op.hash;
      claim.trace_count = op.count;
      break;
    case DisputePhase::kOps:
      if (!ProofShows(op.hash, d.position - 1, claim.trace_count, op.proof, claim.trace_root)) {
        return InvalidArgument("the proof does not show this hash as prefix " + std::to_string(d.position) +
                               " under the trace root this party committed");
      }
      claim.hash = op.hash;
      break;
    case DisputePhase::kRecords: {
      if (op.record.empty()) return InvalidArgument("the record is empty");
      // The record extends the agreed prefix to a prefix under this party's
      // root: `proof` is that prefix's Merkle path (leaf op_lo).
      Hash256 next = TracePrefixNext(d.op_lo_prefix, TraceRecordHash(ByteView(op.record)));
      if (!ProofShows(next, d.op_lo, claim.trace_count, op.proof, claim.trace_root)) {
        return InvalidArgument("the record does not extend the agreed prefix " + std::to_string(d.op_lo) +
                               " to a prefix under the trace root this party committed");
      }
      claim.hash = op.hash;  // Where the party's inputs of the operator are (a blob hash; the referee's business).
      claim.record = op.record;
      claim.prefix_hi = next;
      break;
    }
    case DisputePhase::kReferee:
    case DisputePhase::kResolved:
      return Internal("move in phase " + std::string(DisputePhaseName(d.phase)));
  }
  claim.moved = true;
  if (d.moves.size() >= kDisputeMovesMax) return ResourceExhausted("the dispute's transcript is full");
  d.moves.push_back({ctx.height, party, d.phase, d.position, claim.hash, claim.count});
  if (d.solver.moved && d.challenger_claim.moved) CAIRN_RETURN_IF_ERROR(Advance(ctx, &d));
  PutDispute(s, d);
  return Status::Ok();
}

Status RuleOnDispute(Overlay* s, const ExecContext& ctx, const RulingOp& op) {
  CAIRN_ASSIGN_OR_RETURN(OpenGame g, LoadOpenGame(*s, op.job_id));
  const Dispute& d = g.dispute;
  if (d.phase != DisputePhase::kReferee) {
    return FailedPrecondition("the dispute's game has not ended (" + Round(d) + "): nothing to rule on yet");
  }
  if (op.task != static_cast<uint8_t>(d.task)) {
    return InvalidArgument("the ruling is for task " + std::to_string(op.task) + ", the dispute asks for task " +
                           std::to_string(static_cast<int>(d.task)));
  }
  if (d.task == RefereeTask::kForcedCheck) return RuleOnForcedCheck(s, ctx, std::move(g.job), d, op);
  Hash256 solver_value = d.task == RefereeTask::kOperator ? TraceRecordHash(ByteView(d.solver.record)) : d.solver_hi_hash;
  // kSegment: claims other than hashes; the referee's replay decides.
  bool solver_wrong = d.task == RefereeTask::kSegment ? op.solver_at_fault : op.value != solver_value;
  if (op.solver_at_fault != solver_wrong) {
    return InvalidArgument(std::string("the ruling says the solver is ") + (op.solver_at_fault ? "" : "not ") +
                           "at fault, but its recomputed value " + (solver_wrong ? "differs from" : "equals") +
                           " the solver's claim");
  }
  std::string what = d.task == RefereeTask::kOperator
                         ? "operator " + op.op_name + " (record " + std::to_string(d.op_lo) + ") of step " +
                               std::to_string(d.lo_step)
                     : d.task == RefereeTask::kStep ? "step " + std::to_string(d.lo_step)
                                                    : "segment " + std::to_string(d.segment) + " and its claims";
  return Resolve(s, ctx, std::move(g.job), d, solver_wrong,
                 "ruling: the referee recomputed " + what + "; " +
                     (solver_wrong ? "the solver's" : "the challenger's") + " claim was wrong",
                 /*by_ruling=*/true);
}

Status TimeOutDispute(Overlay* s, const ExecContext& ctx, const Hash256& job_id) {
  CAIRN_ASSIGN_OR_RETURN(OpenGame g, LoadOpenGame(*s, job_id));
  const Dispute& d = g.dispute;
  if (d.phase == DisputePhase::kReferee) {
    return FailedPrecondition(JobName(job_id) + "'s dispute waits for the referee's ruling");
  }
  if (ctx.height <= d.deadline_height) {
    return FailedPrecondition(JobName(job_id) + "'s dispute round is open until height " +
                              std::to_string(d.deadline_height));
  }
  // The accuser carries the burden: if neither moved, the challenger loses.
  bool solver_at_fault = !d.solver.moved && d.challenger_claim.moved;
  std::string who = solver_at_fault ? "the solver" : "the challenger";
  return Resolve(s, ctx, std::move(g.job), d, solver_at_fault,
                 "timeout: " + who + " did not move in round " + Round(d) + " by height " +
                     std::to_string(d.deadline_height),
                 /*by_ruling=*/false);
}

}  // namespace cairn::ledger::internal
