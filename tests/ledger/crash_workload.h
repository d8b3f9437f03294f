// The chain the crash tests run (tests/ledger/crash_*): fixed keys, a fixed
// genesis, and a workload that keeps producing blocks of valid signed
// transactions of every common kind (transfers, faucet, staking and
// unbonding, and the job life cycle: post, claim, commit, verdicts, disputes,
// rulings, settlement), so that a writer killed at a random moment is killed
// in the middle of real work. Shared by crash_child (the process that gets
// killed) and the tests (which build ledgers to tamper with).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <vector>

#include "ledger/sequencer.h"

namespace cairn::ledger::crash {

inline constexpr char kChainId[] = "cairn-crash";
inline constexpr uint8_t kUsers = 8;
// Jobs the workload keeps moving through their life cycle.
inline constexpr size_t kTrackedJobsMax = 64;
// How far back a restarted workload looks for jobs in flight, in blocks.
inline constexpr uint64_t kRecoverBlocksMax = 64;

// Deterministic keys: the sequencer, the referee and kUsers users.
class Parties {
 public:
  Parties();
  const crypto::KeyPair& sequencer() const { return sequencer_; }
  const crypto::KeyPair& referee() const { return referee_; }
  const crypto::KeyPair& user(size_t i) const { return users_[i]; }
  // The key of `id` (a user or the referee). REQUIRES: id is one of them.
  const crypto::KeyPair& KeyOf(const AccountId& id) const;

 private:
  crypto::KeyPair sequencer_;
  crypto::KeyPair referee_;
  std::vector<crypto::KeyPair> users_;
};

// The same genesis on every start (no clock in it), so a restarted process
// reopens its store instead of refusing a different chain.
Genesis CrashGenesis(const Parties& parties);

// Generates transactions against the ledger's current check state. Keeps no
// state that a restart would lose except the list of jobs in flight, which
// Recover() rebuilds from the last blocks. Not thread-safe.
class Workload {
 public:
  Workload(Ledger* ledger, const Parties* parties, uint64_t seed);

  // Finds the jobs posted in the last kRecoverBlocksMax committed blocks.
  Status Recover();
  // Up to `count` transactions; most are valid (a few may be refused at
  // admission because an earlier one in the batch changed the state).
  Result<std::vector<SignedTx>> NextBatch(size_t count);
  // Learns the jobs a committed block posted.
  void OnCommitted(const Block& block);

 private:
  Result<SignedTx> Make(const crypto::KeyPair& key, Operation op);
  // A transaction that moves `job_id` one step on, or nullopt if the job is
  // finished (then it is forgotten).
  Result<std::optional<SignedTx>> Advance(const Hash256& job_id, bool* finished);
  size_t RandomUser(size_t not_this = SIZE_MAX);

  Ledger* const ledger_;
  const Parties* const parties_;
  std::mt19937_64 rng_;
  std::map<AccountId, uint64_t> next_nonce_;  // Within the batch being built.
  std::deque<Hash256> jobs_;                  // Posted, maybe not finished.
  uint64_t posted_ = 0;
};

// Runs `workload` for `blocks` blocks of about `txs_per_block` transactions
// (0 = forever), calling on_commit after each Commit returns.
Status RunBlocks(Sequencer* sequencer, Ledger* ledger, Workload* workload, uint64_t blocks, size_t txs_per_block,
                 const std::function<void(const Block&)>& on_commit);

}  // namespace cairn::ledger::crash
