// Sequencer: the block producer of a single-machine ledger. It owns the
// mempool, admits transactions through Ledger::CheckTx, and turns the mempool
// into blocks: PrepareProposal -> FinalizeBlock -> Commit. Under a BFT engine
// this class is what the engine replaces.
//
// Thread-safety: Submit may be called from many threads; ProduceBlock from one.
#pragma once

#include <deque>
#include <mutex>

#include "ledger/ledger.h"

namespace cairn::ledger {

inline constexpr size_t kMempoolTxsMax = 50'000;

struct ProducedBlock {
  Block block;
  std::vector<DroppedTx> dropped;  // Admitted earlier, no longer valid.
};

class Sequencer {
 public:
  // `ledger` and `key` must outlive the Sequencer; key must be the genesis sequencer.
  Sequencer(Ledger* ledger, const crypto::KeyPair* key);

  // Admits one transaction, or says why not. A full mempool is
  // ResourceExhausted: the client should retry after the next block.
  Status Submit(const SignedTx& tx);
  // Admits a batch in order, verifying its signatures on every core first.
  // results[i] is the outcome for txs[i].
  void SubmitBatch(const std::vector<SignedTx>& txs, std::vector<Status>* results);

  // Seals up to `txs_max` mempool transactions into a committed block.
  // Returns nullopt when the mempool is empty (no empty blocks).
  Result<std::optional<ProducedBlock>> ProduceBlock(uint64_t time_ms, size_t txs_max = kBlockTxsMax);

  size_t mempool_size() const;

 private:
  Status AdmitLocked(const SignedTx& tx);

  Ledger* const ledger_;
  const crypto::KeyPair* const key_;
  mutable std::mutex mu_;
  std::deque<SignedTx> mempool_;  // GUARDED_BY(mu_); admission order = nonce order per sender.
};

}  // namespace cairn::ledger
