// The sequencer's durable mempool under concurrent submitters (group
// commit): a transaction is acknowledged only once its write is durable, a
// block never takes one whose write is still in flight, and a failed write
// leaves nothing behind.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ledger/sequencer.h"
#include "store/memory_store.h"

namespace cairn::ledger {
namespace {

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

// A MemoryStore whose writes to the mempool column family can be held
// (until released) or failed, to see what the sequencer does meanwhile.
class GatedStore final : public store::KvStore {
 public:
  GatedStore() : inner_(LedgerColumnFamilies()) {}

  Result<std::string> Get(std::string_view cf, std::string_view key) const override { return inner_.Get(cf, key); }
  Status Scan(std::string_view cf, std::string_view prefix, const store::ScanVisitor& visit) const override {
    return inner_.Scan(cf, prefix, visit);
  }
  const std::vector<std::string>& column_families() const override { return inner_.column_families(); }

  Status Write(const store::WriteBatch& batch, store::SyncPolicy sync) override {
    const bool mempool_put = !batch.empty() && batch.ops().front().column_family == kMempoolColumnFamily &&
                             batch.ops().front().value.has_value();
    if (mempool_put) {
      std::unique_lock<std::mutex> lock(mu_);
      mempool_puts_++;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !hold_; });
      if (fail_) return IoError("disk full (injected)");
    }
    return inner_.Write(batch, sync);
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    changed_.notify_all();
  }
  void FailMempoolWrites() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = true;
  }
  void WaitForPuts(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return mempool_puts_ >= n; });
  }

 private:
  store::MemoryStore inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool hold_ = false;     // GUARDED_BY(mu_)
  bool fail_ = false;     // GUARDED_BY(mu_)
  int mempool_puts_ = 0;  // GUARDED_BY(mu_)
};

class DurableMempool : public ::testing::Test {
 protected:
  static constexpr int kSenders = 4;

  DurableMempool() {
    genesis_.chain_id = "sequencer-test";
    genesis_.sequencer = key_.public_key();
    genesis_.referee = Key(2).public_key();
    for (int i = 0; i < kSenders; ++i) genesis_.allocations.push_back({Sender(i).public_key(), 1'000'000, 0});
    Open();
  }

  void Open() {
    sequencer_.reset();
    ledger_ = Ledger::Open(&kv_, &genesis_, {store::SyncPolicy::kNoSync, 2}).value();
    sequencer_ = std::make_unique<Sequencer>(ledger_.get(), &key_, SequencerOptions{true, store::SyncPolicy::kSync});
    ASSERT_TRUE(sequencer_->Recover().ok());
  }

  static crypto::KeyPair Sender(int i) { return Key(static_cast<uint8_t>(10 + i)); }
  SignedTx Stake(int sender, uint64_t nonce) {
    return SignTx(TxBody{genesis_.chain_id, Sender(sender).public_key(), nonce, StakeOp{1}}, Sender(sender));
  }
  uint64_t StakeOf(int sender) { return ledger_->GetAccount(Sender(sender).public_key()).value().stake_free; }
  size_t SealAll() {
    size_t sealed = 0;
    for (;;) {
      auto produced = sequencer_->ProduceBlock(1000 + ledger_->head().height);
      EXPECT_TRUE(produced.ok()) << produced.status().ToString();
      if (!produced.ok() || !produced->has_value()) return sealed;
      EXPECT_TRUE((*produced)->dropped.empty());
      sealed += (*produced)->block.txs.size();
    }
  }

  GatedStore kv_;
  Genesis genesis_;
  crypto::KeyPair key_ = Key(1);
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Sequencer> sequencer_;
};

TEST_F(DurableMempool, ConcurrentSubmittersAreAllAdmittedInNonceOrder) {
  constexpr int kPerSender = 50;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      for (uint64_t n = 1; n <= kPerSender; ++n) {
        if (!sequencer_->Submit(Stake(s, n)).ok()) refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(SealAll(), size_t{kSenders * kPerSender});
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(StakeOf(s), uint64_t{kPerSender});
}

TEST_F(DurableMempool, ABlockDoesNotTakeATransactionWhoseWriteIsInFlight) {
  kv_.Hold();
  Status submitted = Internal("not yet");
  std::thread submitter([&] { submitted = sequencer_->Submit(Stake(0, 1)); });
  kv_.WaitForPuts(1);
  // Admitted (it counts for the next nonce) but not durable: not sealed.
  EXPECT_EQ(ledger_->NextNonce(Sender(0).public_key()).value(), 2u);
  EXPECT_EQ(SealAll(), 0u);
  kv_.Release();
  submitter.join();
  ASSERT_TRUE(submitted.ok()) << submitted.ToString();
  EXPECT_EQ(SealAll(), 1u);
  EXPECT_EQ(StakeOf(0), 1u);
}

TEST_F(DurableMempool, AFailedWriteIsRefusedAndNeverSealed) {
  kv_.FailMempoolWrites();
  Status s = sequencer_->Submit(Stake(0, 1));
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);
  EXPECT_EQ(SealAll(), 0u);
  EXPECT_EQ(StakeOf(0), 0u);
}

TEST_F(DurableMempool, WhatWasAcknowledgedSurvivesARestart) {
  ASSERT_TRUE(sequencer_->Submit(Stake(0, 1)).ok());
  ASSERT_TRUE(sequencer_->Submit(Stake(1, 1)).ok());
  Open();  // As after a crash: nothing sealed, a new ledger and sequencer over the same store.
  EXPECT_EQ(sequencer_->mempool_size(), 2u);
  EXPECT_EQ(SealAll(), 2u);
  Open();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);  // Sealed ones are forgotten.
}

TEST_F(DurableMempool, ABatchIsWrittenOnceAndSealedWhole) {
  std::vector<SignedTx> batch;
  for (uint64_t n = 1; n <= 10; ++n) batch.push_back(Stake(2, n));
  batch.push_back(Stake(3, 5));  // A nonce gap: refused, the rest admitted.
  std::vector<Status> results;
  sequencer_->SubmitBatch(batch, &results);
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i + 1 < batch.size(); ++i) EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  EXPECT_FALSE(results.back().ok());
  EXPECT_EQ(SealAll(), 10u);
  EXPECT_EQ(StakeOf(2), 10u);
}

}  // namespace
}  // namespace cairn::ledger
