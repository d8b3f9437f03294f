#include "ledger/sequencer.h"

#include <algorithm>

namespace cairn::ledger {

Sequencer::Sequencer(Ledger* ledger, const crypto::KeyPair* key, SequencerOptions options)
    : ledger_(ledger), key_(key), options_(options) {
  CAIRN_ASSERT(key_->public_key() == ledger_->genesis().sequencer);
}

Result<size_t> Sequencer::Recover(std::vector<DroppedTx>* dropped) {
  if (!options_.durable_mempool) return size_t{0};
  std::vector<std::pair<uint64_t, std::string>> stored;
  Status bad = Status::Ok();
  CAIRN_RETURN_IF_ERROR(ledger_->store()->Scan(kMempoolColumnFamily, "", [&](std::string_view key, std::string_view value) {
    if (key.size() != 8) {
      bad = Corruption("mempool key of " + std::to_string(key.size()) + " bytes");
      return false;
    }
    stored.emplace_back(store::DecodeKeyU64(key), std::string(value));
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(bad);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> stale;
  for (auto& [sequence, bytes] : stored) {
    next_sequence_ = std::max(next_sequence_, sequence + 1);
    auto tx = DecodeTx(ByteView(std::string_view(bytes)));
    if (!tx.ok()) return tx.status().WithContext("stored mempool entry " + std::to_string(sequence));
    // Already in a block (the crash came between the block and this cleanup)
    // or no longer valid: forget it.
    Status s = ledger_->CheckTx(*tx);
    if (s.ok()) {
      mempool_.push_back({std::move(*tx), sequence, /*durable=*/true});
    } else {
      stale.push_back(sequence);
      if (dropped) dropped->push_back({TxId(tx->body), s});
    }
  }
  CAIRN_RETURN_IF_ERROR(ForgetLocked(stale));
  return mempool_.size();
}

Status Sequencer::AdmitLocked(const SignedTx& tx, uint64_t* sequence) {
  if (mempool_.size() >= kMempoolTxsMax) {
    return ResourceExhausted("mempool is full (" + std::to_string(kMempoolTxsMax) +
                             " transactions); retry after the next block");
  }
  CAIRN_RETURN_IF_ERROR(ledger_->CheckTx(tx));
  *sequence = next_sequence_++;
  mempool_.push_back({tx, *sequence, /*durable=*/!options_.durable_mempool});
  return Status::Ok();
}

void Sequencer::SettleLocked(uint64_t sequence, bool written) {
  auto it = std::lower_bound(mempool_.begin(), mempool_.end(), sequence,
                             [](const Pending& p, uint64_t s) { return p.sequence < s; });
  // Gone already: ProduceBlock found it no longer valid and dropped it.
  if (it == mempool_.end() || it->sequence != sequence) return;
  CAIRN_ASSERT(!it->durable);
  if (written) {
    it->durable = true;
  } else {
    // Not admitted unless durable. The check state still counts it (and any
    // later transaction of its sender that relied on it): Commit() clears
    // the check state and ProduceBlock rebuilds it from the mempool, so it
    // is gone by the next block.
    mempool_.erase(it);
  }
}

Status Sequencer::ForgetLocked(const std::vector<uint64_t>& sequences) {
  if (!options_.durable_mempool || sequences.empty()) return Status::Ok();
  store::WriteBatch batch;
  for (uint64_t seq : sequences) batch.Delete(kMempoolColumnFamily, store::EncodeKeyU64(seq));
  // No sync needed: losing a delete only means re-checking (and dropping) it on recovery.
  return ledger_->store()->Write(batch, store::SyncPolicy::kNoSync);
}

Status Sequencer::Submit(const SignedTx& tx) {
  std::vector<Status> results;
  SubmitBatch({tx}, &results);
  return results.front();
}

void Sequencer::SubmitBatch(const std::vector<SignedTx>& txs, std::vector<Status>* results) {
  // Outside the lock: CheckTx then finds each good signature in the cache
  // (and verifies again the ones that failed, producing the proper message).
  std::vector<bool> signed_ok;
  ledger_->PreverifySignatures(txs, &signed_ok);
  results->assign(txs.size(), Status::Ok());
  std::vector<std::pair<size_t, uint64_t>> admitted;  // (index in txs, sequence)
  store::WriteBatch batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < txs.size(); ++i) {
      uint64_t sequence = 0;
      (*results)[i] = AdmitLocked(txs[i], &sequence);
      if (!(*results)[i].ok() || !options_.durable_mempool) continue;
      admitted.emplace_back(i, sequence);
      Bytes bytes = EncodeTx(txs[i]);
      batch.Put(kMempoolColumnFamily, store::EncodeKeyU64(sequence),
                std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
  }
  if (admitted.empty()) return;
  // Outside the lock, so that concurrent submitters' writes are synced
  // together. Acknowledged means durable: no result is OK before this.
  Status written = ledger_->store()->Write(batch, options_.sync).WithContext("persisting the mempool");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [index, sequence] : admitted) {
    SettleLocked(sequence, written.ok());
    if (!written.ok()) (*results)[index] = written;
  }
}

Result<std::optional<ProducedBlock>> Sequencer::ProduceBlock(uint64_t time_ms, size_t txs_max, bool allow_empty) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only what is durable, and in admission order: a transaction whose write
  // is still in flight waits for the next block, with everything after it.
  size_t durable = 0;
  while (durable < mempool_.size() && mempool_[durable].durable) durable++;
  if (durable == 0 && !allow_empty) return std::optional<ProducedBlock>();
  size_t n = std::min({durable, txs_max, static_cast<size_t>(kBlockTxsMax)});
  std::vector<SignedTx> candidates;
  std::vector<uint64_t> sealed;
  candidates.reserve(n);
  size_t block_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    block_bytes += EncodeTx(mempool_[i].tx).size() + 8;  // The length prefix and then some.
    if (block_bytes > kBlockBytesMax - 4096) {
      n = i;  // The rest waits for the next block.
      break;
    }
    candidates.push_back(mempool_[i].tx);
    sealed.push_back(mempool_[i].sequence);
  }
  ProducedBlock produced;
  CAIRN_ASSIGN_OR_RETURN(produced.block, ledger_->PrepareProposal(candidates, time_ms, *key_, &produced.dropped));
  CAIRN_RETURN_IF_ERROR(ledger_->FinalizeBlock(produced.block).status());
  CAIRN_RETURN_IF_ERROR(ledger_->Commit());
  mempool_.erase(mempool_.begin(), mempool_.begin() + static_cast<long>(n));
  // The check state restarted at the new head: re-admit what is left, in order.
  std::deque<Pending> rest;
  rest.swap(mempool_);
  for (auto& pending : rest) {
    Status s = ledger_->CheckTx(pending.tx);
    if (s.ok()) {
      mempool_.push_back(std::move(pending));
    } else {
      produced.dropped.push_back({TxId(pending.tx.body), s});
      sealed.push_back(pending.sequence);
    }
  }
  CAIRN_RETURN_IF_ERROR(ForgetLocked(sealed));
  return std::optional<ProducedBlock>(std::move(produced));
}

size_t Sequencer::mempool_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mempool_.size();
}

}  // namespace cairn::ledger
