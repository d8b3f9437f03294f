#include "ledger/execute.h"

#include <algorithm>
#include <limits>

namespace cairn::ledger {
namespace {

std::string Units(Amount a) { return std::to_string(a); }

Status AddTo(Amount* target, Amount amount, const char* what) {
  if (*target > std::numeric_limits<Amount>::max() - amount) {
    return InvalidArgument(std::string(what) + " would overflow");
  }
  *target += amount;
  return Status::Ok();
}

Status TakeFrom(Amount* source, Amount amount, const char* what) {
  if (*source < amount) {
    return FailedPrecondition(std::string("insufficient ") + what + ": have " + Units(*source) + ", need " +
                              Units(amount));
  }
  *source -= amount;
  return Status::Ok();
}

// floor(amount * bps / 10000) without overflow. REQUIRES: bps <= 10000.
// With amount = q * 10000 + r, the product splits exactly into q * bps + r * bps / 10000.
Amount Share(Amount amount, uint32_t bps) {
  CAIRN_ASSERT(bps <= 10000);
  return (amount / 10000) * bps + (amount % 10000) * bps / 10000;
}

Status RequirePositive(Amount amount, const char* what) {
  if (amount == 0) return InvalidArgument(std::string(what) + " must be positive");
  return Status::Ok();
}

std::string JobName(const Hash256& id) { return "job " + id.ToHex().substr(0, 16); }

// Read-modify-write helpers that keep the code below about the rules.
Status Credit(Overlay* s, const AccountId& id, Amount amount) {
  CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*s, id));
  CAIRN_RETURN_IF_ERROR(AddTo(&a.balance, amount, "balance"));
  PutAccount(s, id, a);
  return Status::Ok();
}

Status AddToJackpot(Overlay* s, Amount amount) {
  CAIRN_ASSIGN_OR_RETURN(Amount jackpot, GetAmount(*s, kJackpotKey));
  CAIRN_RETURN_IF_ERROR(AddTo(&jackpot, amount, "jackpot"));
  PutAmount(s, kJackpotKey, jackpot);
  return Status::Ok();
}

// Moves bonded stake back to free stake.
Status ReleaseBond(Overlay* s, const AccountId& id, Amount bond) {
  CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*s, id));
  CAIRN_RETURN_IF_ERROR(TakeFrom(&a.stake_bonded, bond, "bonded stake"));
  CAIRN_RETURN_IF_ERROR(AddTo(&a.stake_free, bond, "free stake"));
  PutAccount(s, id, a);
  return Status::Ok();
}

// Removes bonded stake; the caller decides where it goes.
Status BurnBond(Overlay* s, const AccountId& id, Amount bond) {
  CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*s, id));
  CAIRN_RETURN_IF_ERROR(TakeFrom(&a.stake_bonded, bond, "bonded stake"));
  PutAccount(s, id, a);
  return Status::Ok();
}

// Slashes a bond: the challenger's share to `beneficiary`, the rest to the jackpot.
Status Slash(Overlay* s, const ExecContext& ctx, const AccountId& offender, Amount bond,
             const AccountId& beneficiary) {
  CAIRN_RETURN_IF_ERROR(BurnBond(s, offender, bond));
  Amount reward = Share(bond, ctx.genesis->params.challenger_reward_bps);
  CAIRN_RETURN_IF_ERROR(Credit(s, beneficiary, reward));
  return AddToJackpot(s, bond - reward);
}

Result<Job> LoadJob(const Overlay& s, const Hash256& job_id) {
  CAIRN_ASSIGN_OR_RETURN(auto job, GetJob(s, job_id));
  if (!job) return NotFound(JobName(job_id) + " was never posted");
  return std::move(*job);
}

Status WrongStatus(const Job& job, const char* wanted) {
  return FailedPrecondition(JobName(job.job_id) + " is " + JobStatusName(job.status) + ", not " + wanted);
}

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
    return AddTo(&account.stake_free, op.amount, "free stake");
  }

  Status operator()(const UnstakeOp& op) {
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.amount, "unstake amount"));
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, op.amount, "free stake (bonded stake cannot be unstaked)"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.unbonding, op.amount, "unbonding stake"));
    uint64_t release = ctx.height + params().unbonding_delay_blocks;
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
    CAIRN_ASSIGN_OR_RETURN(auto existing, GetJob(*s, op.job_id));
    if (existing) return AlreadyExists(JobName(op.job_id) + " was already posted");
    if (op.fee < params().job_fee_min) {
      return InvalidArgument("fee " + Units(op.fee) + " is below the minimum of " + Units(params().job_fee_min));
    }
    CAIRN_RETURN_IF_ERROR(RequirePositive(op.solver_stake, "solver stake (cheating must cost something)"));
    for (uint64_t window : {op.claim_window_blocks, op.commit_window_blocks}) {
      if (window == 0 || window > kJobWindowBlocksMax) {
        return InvalidArgument("claim and commit windows must be 1.." + std::to_string(kJobWindowBlocksMax) +
                               " blocks");
      }
    }
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.balance, op.fee, "balance for the job fee"));
    Job job;
    job.job_id = op.job_id;
    job.submitter = sender;
    job.fee = op.fee;
    job.solver_stake = op.solver_stake;
    job.claim_deadline_height = ctx.height + op.claim_window_blocks;
    job.commit_window_blocks = op.commit_window_blocks;
    job.status = JobStatus::kOpen;
    job.manifest_hash = op.manifest_hash;
    job.posted_height = ctx.height;
    PutJob(s, job);
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
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, job.solver_stake, "free stake to bond"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.stake_bonded, job.solver_stake, "bonded stake"));
    job.status = JobStatus::kClaimed;
    job.solver = sender;
    job.claimed_height = ctx.height;
    job.commit_deadline_height = ctx.height + job.commit_window_blocks;
    job.forced_error_commitment = op.forced_error_commitment;
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
    job.certificate_hash = op.certificate_hash;
    job.checkpoint_root = op.checkpoint_root;
    job.final_model_hash = op.final_model_hash;
    job.status = JobStatus::kCommitted;
    job.challenge_end_height = ctx.height + params().challenge_window_blocks;
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const VerdictOp& op) {
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.status != JobStatus::kCommitted) return WrongStatus(job, "committed (awaiting verdicts)");
    if (ctx.height > job.challenge_end_height) {
      return FailedPrecondition(JobName(job.job_id) + ": challenge window closed at height " +
                                std::to_string(job.challenge_end_height));
    }
    if (job.solver == sender) return FailedPrecondition("a solver cannot verify its own job");
    for (const Vote& v : job.votes) {
      if (v.verifier == sender) return AlreadyExists("this verifier already gave a verdict on " + JobName(job.job_id));
    }
    // Accepts are capped; a reject is never refused for lack of room (so
    // accepts from a cheater's own accounts cannot crowd it out). At most
    // one reject is pending at a time (it disputes the job), so a job holds
    // at most kVerdictsPerJobMax + 1 votes.
    size_t accepts = 0;
    for (const Vote& v : job.votes) accepts += v.accept ? 1 : 0;
    if (op.accept && accepts >= kVerdictsPerJobMax) {
      return ResourceExhausted(JobName(job.job_id) + " already has " + std::to_string(kVerdictsPerJobMax) + " accepts");
    }
    Amount bond = params().verifier_stake_min;
    CAIRN_RETURN_IF_ERROR(TakeFrom(&account.stake_free, bond, "free stake to bond as a verifier"));
    CAIRN_RETURN_IF_ERROR(AddTo(&account.stake_bonded, bond, "bonded stake"));
    job.votes.push_back({sender, op.accept, bond, op.report_hash});
    if (!op.accept) job.status = JobStatus::kDisputed;
    PutJob(s, job);
    return Status::Ok();
  }

  Status operator()(const RulingOp& op) {
    if (sender != ctx.genesis->referee) return PermissionDenied("only the referee can rule on disputes");
    CAIRN_ASSIGN_OR_RETURN(Job job, LoadJob(*s, op.job_id));
    if (job.status != JobStatus::kDisputed) return WrongStatus(job, "disputed");
    // Verdicts are refused while a dispute is open, so the challenger is the last vote.
    CAIRN_ASSERT(!job.votes.empty() && !job.votes.back().accept);
    Vote challenger = job.votes.back();
    PutAccount(s, sender, account);  // The referee may also be a party below.
    if (op.solver_at_fault) {
      CAIRN_RETURN_IF_ERROR(Slash(s, ctx, job.solver, job.solver_stake, challenger.verifier));
      CAIRN_RETURN_IF_ERROR(Credit(s, job.submitter, job.fee));
      for (const Vote& v : job.votes) CAIRN_RETURN_IF_ERROR(ReleaseBond(s, v.verifier, v.bond));
      job.fee = 0;
      job.status = JobStatus::kFailed;
    } else {
      CAIRN_RETURN_IF_ERROR(Slash(s, ctx, challenger.verifier, challenger.bond, job.solver));
      job.votes.pop_back();
      job.status = JobStatus::kCommitted;
    }
    PutJob(s, job);
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
      case JobStatus::kCommitted:
        if (ctx.height <= job.challenge_end_height) {
          return FailedPrecondition(JobName(job.job_id) + ": challenge window open until height " +
                                    std::to_string(job.challenge_end_height));
        }
        CAIRN_RETURN_IF_ERROR(PayOut(job));
        job.status = JobStatus::kSettled;
        break;
      case JobStatus::kDisputed:
        return FailedPrecondition(JobName(job.job_id) + " has an open dispute; wait for the referee's ruling");
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

  Status PayOut(const Job& job) {
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
    CAIRN_RETURN_IF_ERROR(AddToJackpot(s, tax));
    for (const Vote* v : acceptors) CAIRN_RETURN_IF_ERROR(Credit(s, v->verifier, each));
    CAIRN_RETURN_IF_ERROR(Credit(s, job.solver, job.fee - tax - to_verifiers));
    CAIRN_RETURN_IF_ERROR(ReleaseBond(s, job.solver, job.solver_stake));
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
