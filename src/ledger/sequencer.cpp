#include "ledger/sequencer.h"

namespace cairn::ledger {

Sequencer::Sequencer(Ledger* ledger, const crypto::KeyPair* key) : ledger_(ledger), key_(key) {
  CAIRN_ASSERT(key_->public_key() == ledger_->genesis().sequencer);
}

Status Sequencer::AdmitLocked(const SignedTx& tx) {
  if (mempool_.size() >= kMempoolTxsMax) {
    return ResourceExhausted("mempool is full (" + std::to_string(kMempoolTxsMax) +
                             " transactions); retry after the next block");
  }
  CAIRN_RETURN_IF_ERROR(ledger_->CheckTx(tx));
  mempool_.push_back(tx);
  return Status::Ok();
}

Status Sequencer::Submit(const SignedTx& tx) {
  std::lock_guard<std::mutex> lock(mu_);
  return AdmitLocked(tx);
}

void Sequencer::SubmitBatch(const std::vector<SignedTx>& txs, std::vector<Status>* results) {
  std::vector<bool> signed_ok;
  ledger_->PreverifySignatures(txs, &signed_ok);
  results->clear();
  results->reserve(txs.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < txs.size(); ++i) {
    // CheckTx re-derives the signature verdict from the cache, or verifies
    // again for the ones that failed, producing the proper message.
    results->push_back(AdmitLocked(txs[i]));
  }
}

Result<std::optional<ProducedBlock>> Sequencer::ProduceBlock(uint64_t time_ms, size_t txs_max) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mempool_.empty()) return std::optional<ProducedBlock>();
  size_t n = std::min({mempool_.size(), txs_max, static_cast<size_t>(kBlockTxsMax)});
  std::vector<SignedTx> candidates(mempool_.begin(), mempool_.begin() + static_cast<long>(n));
  ProducedBlock produced;
  CAIRN_ASSIGN_OR_RETURN(produced.block, ledger_->PrepareProposal(candidates, time_ms, *key_, &produced.dropped));
  CAIRN_RETURN_IF_ERROR(ledger_->FinalizeBlock(produced.block).status());
  CAIRN_RETURN_IF_ERROR(ledger_->Commit());
  mempool_.erase(mempool_.begin(), mempool_.begin() + static_cast<long>(n));
  // The check state restarted at the new head: re-admit what is left, in order.
  std::deque<SignedTx> rest;
  rest.swap(mempool_);
  for (auto& tx : rest) {
    Status s = ledger_->CheckTx(tx);
    if (s.ok()) {
      mempool_.push_back(std::move(tx));
    } else {
      produced.dropped.push_back({TxId(tx.body), s});
    }
  }
  return std::optional<ProducedBlock>(std::move(produced));
}

size_t Sequencer::mempool_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mempool_.size();
}

}  // namespace cairn::ledger
