#include <limits>

#include "crypto/merkle.h"
#include "ledger/execute_internal.h"
#include "store/kv_store.h"
#include "util/codec.h"

namespace cairn::ledger::internal {

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

Status ReleaseBond(Overlay* s, const AccountId& id, Amount bond) {
  CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*s, id));
  CAIRN_RETURN_IF_ERROR(TakeFrom(&a.stake_bonded, bond, "bonded stake"));
  CAIRN_RETURN_IF_ERROR(AddTo(&a.stake_free, bond, "free stake"));
  PutAccount(s, id, a);
  return Status::Ok();
}

Status BurnBond(Overlay* s, const AccountId& id, Amount bond) {
  CAIRN_ASSIGN_OR_RETURN(Account a, GetAccount(*s, id));
  CAIRN_RETURN_IF_ERROR(TakeFrom(&a.stake_bonded, bond, "bonded stake"));
  PutAccount(s, id, a);
  return Status::Ok();
}

Status Slash(Overlay* s, const ExecContext& ctx, const AccountId& offender, Amount bond,
             const AccountId& beneficiary) {
  CAIRN_RETURN_IF_ERROR(BurnBond(s, offender, bond));
  Amount reward = Share(bond, ctx.genesis->params.challenger_reward_bps);
  CAIRN_RETURN_IF_ERROR(Credit(s, beneficiary, reward));
  return AddToJackpot(s, bond - reward);
}

bool ProofShows(const Hash256& leaf_value, uint64_t index, uint64_t size, const std::vector<Hash256>& proof,
                const Hash256& root) {
  return index < size &&
         crypto::VerifyMerkleProof(crypto::MerkleLeafHash(ByteView(leaf_value.bytes)), index, size, proof, root);
}

Result<Amount> PayJackpotShare(Overlay* s, const ExecContext& ctx, const AccountId& winner) {
  CAIRN_ASSIGN_OR_RETURN(Amount jackpot, GetAmount(*s, kJackpotKey));
  Amount prize = Share(jackpot, ctx.genesis->params.jackpot_payout_bps);
  PutAmount(s, kJackpotKey, jackpot - prize);
  CAIRN_RETURN_IF_ERROR(Credit(s, winner, prize));
  return prize;
}

Result<uint32_t> SlashAccepts(Overlay* s, Job* job, const std::function<bool(const Vote&)>& approved_error,
                              const AccountId* beneficiary) {
  uint32_t slashed = 0;
  for (Vote& v : job->votes) {
    if (!v.accept || !approved_error(v)) continue;
    CAIRN_RETURN_IF_ERROR(BurnBond(s, v.verifier, v.bond));
    CAIRN_RETURN_IF_ERROR(beneficiary ? Credit(s, *beneficiary, v.bond) : AddToJackpot(s, v.bond));
    v.accept = false;
    v.bond = 0;
    slashed++;
  }
  return slashed;
}

Result<Job> LoadJob(const Overlay& s, const Hash256& job_id) {
  CAIRN_ASSIGN_OR_RETURN(auto job, GetJob(s, job_id));
  if (!job) return NotFound(JobName(job_id) + " was never posted");
  return std::move(*job);
}

Status WrongStatus(const Job& job, const char* wanted) {
  return FailedPrecondition(JobName(job.job_id) + " is " + JobStatusName(job.status) + ", not " + wanted);
}


Result<uint64_t> HeightAfter(uint64_t height, uint64_t blocks, const char* what) {
  if (height > std::numeric_limits<uint64_t>::max() - blocks) {
    return InvalidArgument(std::string(what) + " height would overflow");
  }
  return height + blocks;
}

Status CheckVerifierEligible(const ExecContext& ctx, const Job& job, const AccountId& sender, const Account& account) {
  if (job.solver == sender) return FailedPrecondition("a solver cannot verify its own job");
  for (const Vote& v : job.votes) {
    if (v.verifier == sender) return AlreadyExists("this verifier already gave a verdict on " + JobName(job.job_id));
  }
  if (account.stake_free < ctx.genesis->params.verifier_stake_min) {
    return FailedPrecondition("insufficient free stake to bond as a verifier: have " + Units(account.stake_free) +
                              ", need " + Units(ctx.genesis->params.verifier_stake_min));
  }
  if (account.stake_height >= job.committed_height) {
    return FailedPrecondition("this verifier's stake (last added at height " + std::to_string(account.stake_height) +
                              ") must predate " + JobName(job.job_id) + "'s commitment at height " +
                              std::to_string(job.committed_height));
  }
  return Status::Ok();
}

std::string SeedQueueKey(uint64_t height) { return "s/" + store::EncodeKeyU64(height); }

Result<std::vector<Hash256>> GetSeedQueue(const StateReader& s, uint64_t height) {
  std::vector<Hash256> out;
  CAIRN_ASSIGN_OR_RETURN(auto raw, s.Read(SeedQueueKey(height)));
  if (!raw) return out;
  util::Reader r{ByteView(*raw)};
  uint32_t n = r.ListLength(kBlockTxsMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.Hash());
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("seed queue record"));
  return out;
}

void PutSeedQueue(Overlay* s, uint64_t height, const std::vector<Hash256>& jobs) {
  if (jobs.empty()) {
    s->Erase(SeedQueueKey(height));
    return;
  }
  util::Writer w;
  w.U32(static_cast<uint32_t>(jobs.size()));
  for (const Hash256& j : jobs) w.Hash(j);
  s->Put(SeedQueueKey(height), std::string(w.bytes().begin(), w.bytes().end()));
}



}  // namespace cairn::ledger::internal
