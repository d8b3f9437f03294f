// Sequencer: the block producer of a single-machine ledger. It owns the
// mempool, admits transactions through Ledger::CheckTx, and turns the mempool
// into blocks: PrepareProposal -> FinalizeBlock -> Commit. Under a BFT engine
// this class is what the engine replaces.
//
// The mempool is durable when the sequencer is given the ledger's store: an
// admitted transaction is written (with the ledger's sync policy) to the
// "mempool" column family before Submit returns, and removed once a block
// includes or drops it. A sequencer restarted after a crash re-admits what is
// there, so a transaction a client was told was accepted is never lost.
// Group commit: Submit checks and queues a transaction under the lock but
// writes it outside, so concurrent submitters' writes share one sync (the
// store's write group); a block only takes the longest prefix of the
// mempool whose writes have completed, so nothing reaches a block before it
// is durable, and a failed write takes its transaction back out. Signatures
// are verified before the lock too, so concurrent submitters use every core.
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

struct SequencerOptions {
  // Persist the mempool in the ledger's store (kMempoolColumnFamily).
  bool durable_mempool = false;
  store::SyncPolicy sync = store::SyncPolicy::kSync;
};

class Sequencer {
 public:
  // `ledger` and `key` must outlive the Sequencer; key must be the genesis sequencer.
  Sequencer(Ledger* ledger, const crypto::KeyPair* key, SequencerOptions options = {});

  // With a durable mempool: re-admits the transactions a previous run
  // persisted (those no longer valid are dropped and reported). Call once,
  // before Submit. Returns how many were re-admitted.
  Result<size_t> Recover(std::vector<DroppedTx>* dropped = nullptr);

  // Admits one transaction, or says why not; OK only once it is durable
  // (with a durable mempool). A full mempool is ResourceExhausted: the
  // client should retry after the next block.
  Status Submit(const SignedTx& tx);
  // Admits a batch in order, verifying its signatures on every core first
  // and persisting the admitted ones in one write. results[i] is the
  // outcome for txs[i].
  void SubmitBatch(const std::vector<SignedTx>& txs, std::vector<Status>* results);

  // Seals up to `txs_max` mempool transactions (the durable ones at its
  // front) into a committed block. Returns nullopt when none is ready,
  // unless `allow_empty` (a
  // network's ledger host seals a block per interval: heights are its clock).
  Result<std::optional<ProducedBlock>> ProduceBlock(uint64_t time_ms, size_t txs_max = kBlockTxsMax,
                                                    bool allow_empty = false);

  size_t mempool_size() const;

 private:
  struct Pending {
    SignedTx tx;
    uint64_t sequence = 0;  // Key in the mempool column family; ascending in mempool_.
    bool durable = true;    // False while its write to the mempool column family is in flight.
  };
  // Checks `tx` and queues it with the next sequence (returned in *sequence),
  // not yet durable when the mempool is.
  Status AdmitLocked(const SignedTx& tx, uint64_t* sequence);
  // The write of `sequence` finished: mark it durable, or take it back out.
  void SettleLocked(uint64_t sequence, bool written);
  Status ForgetLocked(const std::vector<uint64_t>& sequences);

  Ledger* const ledger_;
  const crypto::KeyPair* const key_;
  const SequencerOptions options_;
  mutable std::mutex mu_;
  std::deque<Pending> mempool_;  // GUARDED_BY(mu_); admission order = nonce order per sender.
  uint64_t next_sequence_ = 1;   // GUARDED_BY(mu_)
};

}  // namespace cairn::ledger
