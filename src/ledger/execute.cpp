#include "ledger/execute.h"

#include <algorithm>
#include <limits>

#include "ledger/dispute.h"
#include "ledger/execute_internal.h"

namespace cairn::ledger {
namespace {

using namespace internal;  // NOLINT: the helpers are the executor's vocabulary.

struct Executor {
  Overlay* s;
  const ExecContext& ctx;
  const AccountId& sender;
  Account& account;  // The sender's account, written back by ApplyTx.

  const Params& params() const { return ctx.genesis->params; }

  Status operator()(const TransferOp& op) {
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.amount, "transfer amount"));
    if (op.to == sender) return InvalidArgument("transfer to yourself");
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.balance, op.amount, "balance"));
    PutAccount(s, sender, account);
    CAIRN_RETURN_IF_ERROR(Credit(s, op.to, op.amount));
    CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
    return Status::Ok();
  }

  Status operator()(const FaucetOp& op) {
    if (params().faucet_amount_max == 0) return FailedPrecondition("this chain has no faucet (devnet only)");
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.amount, "faucet amount"));
    if (op.amount > params().faucet_amount_max) {
      return InvalidArgument("faucet gives at most " + Units(params().faucet_amount_max) + " per transaction");
    }
    CAIRN_ASSIGN_OR_RETURN(Amount supply, GetAmount(*s, kSupplyKey));
    CAIRN_RETURN_IF_ERROR(AddTo(&supply, op.amount, "total supply"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.balance, op.amount, "balance"));
    PutAmount(s, kSupplyKey, supply);
    return Status::Ok();
  }

  Status operator()(const StakeOp& op) {
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.amount, "stake amount"));
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.balance, op.amount, "balance"));
    account.stake_height = ctx.height;
    return AddTo(&account.stake_free, op.amount, "free stake");
  }

  Status operator()(const UnstakeOp& op) {
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.amount, "unstake amount"));
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, op.amount, "free stake (bonded stake cannot be unstaked)"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.unbonding, op.amount, "unbonding stake"));
    CAIRN_ASSIGN_OR_RETURN(uint64_t release, HeightAfter(ctx.height, params().unbonding_delay_blocks, "unbonding release"));
    CAIRN_ASSIGN_OR_RETURN(auto entries, GetUnbondings(*s, release));
    if (entries.size() >= kUnbondingsPerBlockMax) {
      return ResourceExhausted("too many unbondings release at height " + std::to_string(release) +
                               "; retry in the next block");
    }
    entries.push_back({sender, op.amount});
    PutUnbondings(s, release, entries);
    return Status::Ok();
  }

  Status operator()(const PostJobOp& op) {
    if (op.replicas == 0 || op.replicas > kReplicasMax) {
      return InvalidArgument("a job asks for 1.." + std::to_string(kReplicasMax) + " replicas");
    }
    for (uint8_t r = 0; r < op.replicas; ++r) {
      CAIRN_ASSIGN_OR_RETURN(auto existing, GetJob(*s, ReplicaJobId(op.job_id, r)));
      if (existing) return AlreadyExists(JobName(op.job_id) + " was already posted");
    }
    if (op.fee < params().job_fee_min) {
      return InvalidArgument("fee " + Units(op.fee) + " is below the minimum of " + Units(params().job_fee_min));
    }
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.solver_stake, "solver stake (cheating must cost something)"));
    for (uint64_t window : {op.claim_window_blocks, op.commit_window_blocks}) {
      if (window == 0 || window > kWindowBlocksMax) {
        return InvalidArgument("claim and commit windows must be 1.." + std::to_string(kWindowBlocksMax) +
                               " blocks");
      }
    }
    if (op.fee > std::numeric_limits<Amount>::max() / op.replicas) return InvalidArgument("fee * replicas overflows");
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.balance, op.fee * op.replicas, "balance for the job fee (per replica)"));
    Job job;
    job.job_id = op.job_id;
    job.group = op.job_id;
    job.replicas = op.replicas;
    job.exact_replay = op.exact_replay;
    job.submitter = sender;
    job.fee = op.fee;
    job.solver_stake = op.solver_stake;
    CAIRN_ASSIGN_OR_RETURN(job.claim_deadline_height, HeightAfter(ctx.height, op.claim_window_blocks, "claim deadline"));
    job.commit_window_blocks = op.commit_window_blocks;
    job.status = JobStatus::kOpen;
    job.manifest_hash = op.manifest_hash;
    job.posted_height = ctx.height;
    for (uint8_t r = 0; r < op.replicas; ++r) {
      job.job_id = ReplicaJobId(op.job_id, r);
      job.replica = r;
      PutJob(s, job);
    }
    return Status::Ok();
  }

  Status operator()(const ClaimJobOp& op) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.status != JobStatus::kOpen) return WrongStatus(job, "open");
    if (ctx.height > job.claim_deadline_height) {
      return FailedPrecondition(JobName(job.job_id) + ": claim deadline passed at height " +
                                std::to_string(job.claim_deadline_height));
    }
    if (job.submitter == sender) return FailedPrecondition("a submitter cannot claim its own job");
    for (uint8_t r = 0; r < job.replicas; ++r) {
      if (r == job.replica) continue;
      CAIRN_ASSIGN_OR_RETURN(Job sibling, LoadJob(*s, ReplicaJobId(job.group, r)));
      if (sibling.solver == sender && sibling.claimed_height != 0) {
        return FailedPrecondition("this solver already claimed replica " + std::to_string(r) + " of " +
                                  JobName(job.group) + ": each replica needs its own solver");
      }
    }
    if (op.forced_error_commitment.IsZero()) {
      return InvalidArgument("a claim commits to a forced-error secret (ForcedErrorCommitment); it is zero");
    }
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, job.solver_stake, "free stake to bond"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.stake_bonded, job.solver_stake, "bonded stake"));
    job.status = JobStatus::kClaimed;
    job.solver = sender;
    job.claimed_height = ctx.height;
    CAIRN_ASSIGN_OR_RETURN(job.commit_deadline_height,
                           HeightAfter(ctx.height, job.commit_window_blocks, "commit deadline"));
    job.forced_error_commitment = op.forced_error_commitment;
    // The next block's BeginBlock gives the job its claim seed.
    CAIRN_RETURN_IF_ERROR(QueueForSeed(job.job_id));
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const CommitCertificateOp& op) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.status != JobStatus::kClaimed) return WrongStatus(job, "claimed");
    if (job.solver != sender) return PermissionDenied("only the solver that claimed " + JobName(job.job_id) + " can commit");
    if (ctx.height > job.commit_deadline_height) {
      return FailedPrecondition(JobName(job.job_id) + ": commit deadline passed at height " +
                                std::to_string(job.commit_deadline_height));
    }
    if (job.claim_seed.IsZero()) {
      return FailedPrecondition(JobName(job.job_id) + ": commit from height " + std::to_string(job.claimed_height + 1) +
                                " on (the block after the claim draws the forced error)");
    }
    if (op.checkpoint_count < 2 || op.checkpoint_count > kCheckpointsMax) {
      return InvalidArgument("a certificate names 2.." + std::to_string(kCheckpointsMax) +
                             " checkpoints (the initial state and at least one more)");
    }
    job.certificate_hash = op.certificate_hash;
    job.checkpoint_root = op.checkpoint_root;
    job.final_model_hash = op.final_model_hash;
    job.checkpoint_count = op.checkpoint_count;
    job.committed_height = ctx.height;
    job.status = JobStatus::kCommitted;
    CAIRN_ASSIGN_OR_RETURN(job.challenge_end_height,
                           HeightAfter(ctx.height, params().challenge_window_blocks, "challenge end"));
    // The next block's BeginBlock gives the job its selection seed.
    CAIRN_RETURN_IF_ERROR(QueueForSeed(job.job_id));
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const VerdictOp& op) {
    if (!op.accept) {
      return InvalidArgument("a reject must open a dispute on the segment it found wrong (dispute_open)");
    }
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.status != JobStatus::kCommitted) return WrongStatus(job, "committed (awaiting verdicts)");
    if (ctx.height > job.challenge_end_height) {
      return FailedPrecondition(JobName(job.job_id) + ": challenge window closed at height " +
                                std::to_string(job.challenge_end_height));
    }
    CAIRN_RETURN_IF_ERROR(CheckVerifierEligible(ctx, job, sender, account));
    if (job.selection_seed.IsZero()) {
      return FailedPrecondition(JobName(job.job_id) + ": verifiers are drawn at the block after the commitment (height " +
                                std::to_string(job.committed_height + 1) + ")");
    }
    if (!SelectedVerifier(job.selection_seed, job.job_id, sender, params().verifier_sample_bps)) {
      return PermissionDenied("this verifier was not drawn for " + JobName(job.job_id) +
                              " (it may still dispute it)");
    }
    // Accepts are capped; a reject (DisputeOpenOp) never is, so accepts from
    // a cheater's own accounts cannot crowd it out. A job holds at most
    // kVerdictsPerJobMax accepts plus the open dispute's reject.
    size_t accepts = 0;
    for (const Vote& v : job.votes) accepts += v.accept ? 1 : 0;
    if (accepts >= kVerdictsPerJobMax) {
      return ResourceExhausted(JobName(job.job_id) + " already has " + std::to_string(kVerdictsPerJobMax) + " accepts");
    }
    Amount bond = params().verifier_stake_min;
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, bond, "free stake to bond as a verifier"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.stake_bonded, bond, "bonded stake"));
    job.votes.push_back({sender, true, bond, op.report_hash});
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const DisputeOpenOp& op) { return OpenDispute(s, ctx, sender, account, op); }

  Status operator()(const RevealOp& op) {
    PutAccount(s, sender, account);  // The rules below may pay or slash the sender.
    CAIRN_RETURN_IF_ERROR(Reveal(s, ctx, sender, op));
    CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
    return Status::Ok();
  }

  Status QueueForSeed(const Hash256& job_id) {
    CAIRN_ASSIGN_OR_RETURN(auto queue, GetSeedQueue(*s, ctx.height));
    queue.push_back(job_id);
    PutSeedQueue(s, ctx.height, queue);
    return Status::Ok();
  }

  Status operator()(const PinpointMoveOp& op) {
    PutAccount(s, sender, account);  // The rules below may pay or slash the sender.
    CAIRN_RETURN_IF_ERROR(MoveInDispute(s, ctx, sender, op));
    CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
    return Status::Ok();
  }

  Status operator()(const RulingOp& op) {
    if (sender != ctx.genesis->referee) return PermissionDenied("only the referee can rule on disputes");
    PutAccount(s, sender, account);  // The referee may also be a party below.
    CAIRN_RETURN_IF_ERROR(RuleOnDispute(s, ctx, op));
    CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
    return Status::Ok();
  }

  Status operator()(const SettleOp& op) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    PutAccount(s, sender, account);  // Anyone may settle, including a party to the job.
    switch (job.status) {
      case JobStatus::kOpen:
        if (ctx.height <= job.claim_deadline_height) {
          return FailedPrecondition(JobName(job.job_id) + " is open for claims until height " +
                                    std::to_string(job.claim_deadline_height));
        }
        CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee));
        job.status = JobStatus::kExpired;
        break;
      case JobStatus::kClaimed:
        if (ctx.height <= job.commit_deadline_height) {
          return FailedPrecondition(JobName(job.job_id) + ": the solver has until height " +
                                    std::to_string(job.commit_deadline_height) + " to commit");
        }
        // A solver that claims and never delivers forfeits its bond.
        CAIRN_RETURN_IF_ERROR(BurnBond(s, job.solver, job.solver_stake));
        CAIRN_RETURN_IF_ERROR(AddToJackpot(s, job.solver_stake));
        CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee));
        job.status = JobStatus::kExpired;
        break;
      case JobStatus::kCommitted: {
        if (ctx.height <= job.challenge_end_height) {
          return FailedPrecondition(JobName(job.job_id) + ": challenge window open until height " +
                                    std::to_string(job.challenge_end_height));
        }
        CAIRN_ASSIGN_OR_RETURN(uint64_t reveal_end,
                               HeightAfter(job.challenge_end_height, params().reveal_window_blocks, "reveal end"));
        if (job.forced == ForcedError::kUnrevealed) {
          if (ctx.height <= reveal_end) {
            return FailedPrecondition(JobName(job.job_id) + ": waiting for the solver to reveal its forced-error secret "
                                      "(until height " + std::to_string(reveal_end) + ")");
          }
          // Without the reveal nobody can tell whether a forced error went
          // uncaught: the solver forfeits its bond, the verifiers are paid.
          CAIRN_RETURN_IF_ERROR(PayOut(job, /*solver_revealed=*/false));
          job.status = JobStatus::kFailed;
        } else {
          CAIRN_RETURN_IF_ERROR(PayOut(job, /*solver_revealed=*/true));
          job.status = JobStatus::kSettled;
        }
        break;
      }
      case JobStatus::kDisputed: {
        // Only a missed move deadline closes a dispute this way.
        CAIRN_RETURN_IF_ERROR(TimeOutDispute(s, ctx, job.job_id));
        CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
        return Status::Ok();
      }
      default:
        return WrongStatus(job, "open, claimed or committed");
    }
    job.fee = 0;
    PutJob(s, job);
    CAIRN_ASSIGN_OR_RETURN(account, GetAccount(*s, sender));
    return Status::Ok();
  }

  Status operator()(const CancelJobOp& op) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.submitter != sender) return PermissionDenied("only the submitter of " + JobName(job.job_id) + " can cancel it");
    if (job.status != JobStatus::kOpen) return WrongStatus(job, "open (a claimed job cannot be cancelled)");
    CAIRN_RETURN_IF_ERROR(AddTo(&account.balance, job.fee, "balance"));
    job.fee = 0;
    job.status = JobStatus::kCancelled;
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const AnnounceOp& op) {
    if (op.endpoint.empty() || op.endpoint.size() > kEndpointBytesMax) {
      return InvalidArgument("endpoint must be 1.." + std::to_string(kEndpointBytesMax) + " bytes");
    }
    for (char c : op.endpoint) {
      if (c <= ' ' || c > '~') return InvalidArgument("endpoint must be printable ASCII without spaces (host:port)");
    }
    PutEndpoint(s, sender, op.endpoint);
    return Status::Ok();
  }

  // Fees and bonds of a job whose window has closed. A solver that never
  // revealed gets nothing: its bond goes to the jackpot and the fee, less
  // the verifiers' share, back to the submitter.
  Status PayOut(const Job& job, bool solver_revealed) {
    Amount tax = Share(job.fee, params().jackpot_tax_bps);
    std::vector<const Vote*> acceptors;
    for (const Vote& v : job.votes) {
      if (v.accept) acceptors.push_back(&v);
    }
    Amount each = 0;
    if (!acceptors.empty()) each = Share(job.fee, params().verifier_share_bps) / acceptors.size();
    Amount to_verifiers = each * acceptors.size();
    // Genesis validation keeps tax + verifier share <= 100%.
    CAIRN_ASSERT(tax + to_verifiers <= job.fee);
    for (const Vote* v : acceptors) CAIRN_RETURN_IF_ERROR(Credit(s, v->verifier, each));
    if (solver_revealed) {
      CAIRN_RETURN_IF_ERROR(AddToJackpot(s, tax));
      CAIRN_RETURN_IF_ERROR(Credit(s, job.solver, job.fee - tax - to_verifiers));
      CAIRN_RETURN_IF_ERROR(ReleaseBond(s, job.solver, job.solver_stake));
    } else {
      CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee - to_verifiers));
      CAIRN_RETURN_IF_ERROR(BurnBond(s, job.solver, job.solver_stake));
      CAIRN_RETURN_IF_ERROR(AddToJackpot(s, job.solver_stake));
    }
    for (const Vote& v : job.votes) CAIRN_RETURN_IF_ERROR(ReleaseBond(s, v.verifier, v.bond));
    return Status::Ok();
  }
};

}  // namespace

Status BeginBlock(Overlay* state, const ExecContext& ctx) {
  CAIRN_ASSIGN_OR_RETURN(auto entries, GetUnbondings(*state, ctx.height));
  for (const Unbonding& u : entries) {
    CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*state, u.account));
    CAIRN_RETURN_IF_ERROR(TakeFrom(&a.unbonding, u.amount, "unbonding stake"));
    CAIRN_RETURN_IF_ERROR(AddTo(&a.balance, u.amount, "balance"));
    PutAccount(state, u.account, a);
  }
  if (!entries.empty()) PutUnbondings(state, ctx.height, {});
  if (ctx.height == 0) return Status::Ok();
  // Jobs claimed or committed in the previous block get that block's hash:
  // a claim its forced-error draw, a commitment its verifier selection.
  CAIRN_ASSIGN_OR_RETURN(auto queued, GetSeedQueue(*state, ctx.height - 1));
  for (const Hash256& id : queued) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*state, id));
    if (job.claim_seed.IsZero()) {
      job.claim_seed = ctx.prev_block_hash;
    } else if (job.selection_seed.IsZero() && job.committed_height != 0) {
      job.selection_seed = ctx.prev_block_hash;
    }
    PutJob(state, job);
  }
  if (!queued.empty()) PutSeedQueue(state, ctx.height - 1, {});
  return Status::Ok();
}

Status ApplyTx(Overlay* state, const SignedTx& tx, const ExecContext& ctx) {
  const TxBody& body = tx.body;
  if (body.chain_id != ctx.genesis->chain_id) {
    return InvalidArgument("transaction is for chain '" + body.chain_id + "', this is '" + ctx.genesis->chain_id + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(Account account, GetAccount(*state, body.sender));
  if (body.nonce != account.nonce + 1) {
    if (body.nonce <= account.nonce) {
      return AlreadyExists("nonce " + std::to_string(body.nonce) + " was already used (replayed transaction); next nonce is " +
                           std::to_string(account.nonce + 1));
    }
    return FailedPrecondition("nonce " + std::to_string(body.nonce) + " is out of order; next nonce is " +
                              std::to_string(account.nonce + 1));
  }
  Executor exec{state, ctx, body.sender, account};
  CAIRN_RETURN_IF_ERROR(std::visit(exec, body.op).WithContext(OperationName(body.op)));
  account.nonce = body.nonce;
  PutAccount(state, body.sender, account);
  return Status::Ok();
}

const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kOpen: return "open";
    case JobStatus::kClaimed: return "claimed";
    case JobStatus::kCommitted: return "committed";
    case JobStatus::kDisputed: return "disputed";
    case JobStatus::kSettled: return "settled";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kExpired: return "expired";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace cairn::ledger
