// Helpers shared by the executor's files (internal to ledger/): checked
// arithmetic on amounts, moves of stake and funds, and the dispute rules
// (dispute_exec.cpp). Each keeps the calling rule about the rule.
#pragma once

#include <functional>
#include <string>

#include "ledger/dispute.h"
#include "ledger/execute.h"

namespace cairn::ledger::internal {

std::string Units(Amount a);
Status AddTo(Amount* target, Amount amount, const char* what);
// Heights: a height plus a window, overflow-checked.
Result<uint64_t> HeightAfter(uint64_t height, uint64_t blocks, const char* what);
Status TakeFrom(Amount* source, Amount amount, const char* what);
// floor(amount * bps / 10000) without overflow. REQUIRES: bps <= 10000.
Amount Share(Amount amount, uint32_t bps);
Status RequirePositive(Amount amount, const char* what);
std::string JobName(const Hash256& id);

Status Credit(Overlay* s, const AccountId& id, Amount amount);
Status AddToJackpot(Overlay* s, Amount amount);
// Moves bonded stake back to free stake.
Status ReleaseBond(Overlay* s, const AccountId& id, Amount bond);
// Removes bonded stake; the caller decides where it goes.
Status BurnBond(Overlay* s, const AccountId& id, Amount bond);
// Slashes a bond: the challenger's share to `beneficiary`, the rest to the jackpot.
Status Slash(Overlay* s, const ExecContext& ctx, const AccountId& offender, Amount bond,
             const AccountId& beneficiary);

// Whether `proof` shows `leaf_value` as leaf `index` of a tree of `size` leaves with this root.
bool ProofShows(const Hash256& leaf_value, uint64_t index, uint64_t size, const std::vector<Hash256>& proof,
                const Hash256& root);

// Pays `winner` params.jackpot_payout_bps of the jackpot; returns the prize.
Result<Amount> PayJackpotShare(Overlay* s, const ExecContext& ctx, const AccountId& winner);
// Slashes every accept of `job` that `approved_error` picks: its bond goes
// to `beneficiary` (nullptr: the jackpot) and the vote stays as a slashed
// accept (accept false, bond 0), so the account cannot accept the job again
// and earn a fee share after all. Returns how many.
Result<uint32_t> SlashAccepts(Overlay* s, Job* job, const std::function<bool(const Vote&)>& approved_error,
                              const AccountId* beneficiary);

Result<Job> LoadJob(const Overlay& s, const Hash256& job_id);
Status WrongStatus(const Job& job, const char* wanted);

// Whether `account` may judge `job` (accept or dispute): staked enough,
// staked before the commitment, not the solver, not voted yet.
Status CheckVerifierEligible(const ExecContext& ctx, const Job& job, const AccountId& sender, const Account& account);

// Jobs committed at a height, waiting for the next block's seed.
std::string SeedQueueKey(uint64_t height);
Result<std::vector<Hash256>> GetSeedQueue(const StateReader& s, uint64_t height);
void PutSeedQueue(Overlay* s, uint64_t height, const std::vector<Hash256>& jobs);

// The dispute rules (dispute_exec.cpp). `account` is the sender's, written
// back by ApplyTx.
Status OpenDispute(Overlay* s, const ExecContext& ctx, const AccountId& sender, Account& account,
                   const DisputeOpenOp& op);
Status MoveInDispute(Overlay* s, const ExecContext& ctx, const AccountId& sender, const PinpointMoveOp& op);
Status RuleOnDispute(Overlay* s, const ExecContext& ctx, const RulingOp& op);
// Forced errors (forced_error_exec.cpp): the solver's reveal, and the
// referee's ruling on a kForcedCheck dispute (REQUIRES: d is the job's open dispute).
Status Reveal(Overlay* s, const ExecContext& ctx, const AccountId& sender, const RevealOp& op);
Status RuleOnForcedCheck(Overlay* s, const ExecContext& ctx, Job job, Dispute d, const RulingOp& op);

// SettleOp on a disputed job: resolves the dispute against the party that
// missed its move deadline.
Status TimeOutDispute(Overlay* s, const ExecContext& ctx, const Hash256& job_id);

}  // namespace cairn::ledger::internal
