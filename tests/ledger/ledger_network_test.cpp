// What the network leans on: the durable mempool, empty blocks as a clock,
// the job index and announced endpoints.
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerNetwork : public LedgerFixture {
 protected:
  void UseDurableMempool() {
    sequencer_ = std::make_unique<Sequencer>(ledger_.get(), &keys_.at(kSequencer),
                                             SequencerOptions{true, store::SyncPolicy::kNoSync});
    ASSERT_TRUE(sequencer_->Recover().ok());
  }
};

TEST_F(LedgerNetwork, AnAcceptedTransactionSurvivesASequencerRestart) {
  UseDurableMempool();
  ASSERT_TRUE(Submit(kSolver, StakeOp{100}).ok());
  ASSERT_TRUE(Submit(kVerifier, StakeOp{50}).ok());
  // The process dies before sealing: a new ledger and sequencer over the same store.
  Reopen();
  UseDurableMempool();
  EXPECT_EQ(sequencer_->mempool_size(), 2u);
  Seal();
  EXPECT_EQ(AccountOf(kSolver).stake_free, 5100u);
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1050u);
  // Sealed transactions are forgotten: a second restart re-admits nothing.
  Reopen();
  UseDurableMempool();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);
}

TEST_F(LedgerNetwork, RecoveryDropsWhatABlockAlreadyIncluded) {
  UseDurableMempool();
  SignedTx tx = Make(kSolver, StakeOp{100});
  ASSERT_TRUE(sequencer_->Submit(tx).ok());
  // Simulate a crash after the block committed but before the mempool entry
  // was removed: put the entry back by hand.
  Seal();
  store::WriteBatch batch;
  Bytes bytes = EncodeTx(tx);
  batch.Put(kMempoolColumnFamily, store::EncodeKeyU64(1), std::string(bytes.begin(), bytes.end()));
  ASSERT_TRUE(kv_->Write(batch, store::SyncPolicy::kNoSync).ok());
  Reopen();
  std::vector<DroppedTx> dropped;
  sequencer_ = std::make_unique<Sequencer>(ledger_.get(), &keys_.at(kSequencer),
                                           SequencerOptions{true, store::SyncPolicy::kNoSync});
  ASSERT_EQ(sequencer_->Recover(&dropped).value(), 0u);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].reason.code(), StatusCode::kAlreadyExists);  // Its nonce was used.
  EXPECT_EQ(AccountOf(kSolver).stake_free, 5100u);                 // Applied once, not twice.
}

TEST_F(LedgerNetwork, EmptyBlocksAdvanceTheHeightOnlyWhenAsked) {
  auto none = sequencer_->ProduceBlock(1000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Hash256 root = ledger_->head().state_root;
  auto empty = sequencer_->ProduceBlock(1000, kBlockTxsMax, /*allow_empty=*/true);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ((*empty)->block.header.tx_count, 0u);
  EXPECT_EQ(ledger_->head().height, 1u);
  EXPECT_EQ(ledger_->head().state_root, root);
}

TEST_F(LedgerNetwork, JobsAreListedInPostingOrderWithTheirManifest) {
  Hash256 manifest;
  manifest.bytes.fill(0x4d);
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(2), 1000, 2000, 10, 10, manifest}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(JobId(2))).ok());  // A change is not a second entry.
  Seal();
  std::vector<std::pair<Hash256, uint64_t>> listed;
  ASSERT_TRUE(ledger_->ListJobs([&](const Hash256& id, uint64_t height) {
                       listed.emplace_back(id, height);
                       return true;
                     })
                  .ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], std::make_pair(JobId(2), uint64_t{1}));
  EXPECT_EQ(listed[1], std::make_pair(JobId(1), uint64_t{2}));
  EXPECT_EQ(JobOf(JobId(2)).manifest_hash, manifest);
  EXPECT_EQ(JobOf(JobId(2)).posted_height, 1u);
}

TEST_F(LedgerNetwork, AnnouncedEndpointsAreReadableAndChecked) {
  ASSERT_TRUE(Submit(kSolver, AnnounceOp{"127.0.0.1:7001"}).ok());
  Seal();
  EXPECT_EQ(ledger_->GetEndpoint(Id(kSolver)).value(), std::optional<std::string>("127.0.0.1:7001"));
  EXPECT_FALSE(ledger_->GetEndpoint(Id(kVerifier)).value().has_value());
  EXPECT_EQ(Submit(kSolver, AnnounceOp{""}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kSolver, AnnounceOp{"host name:1"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kSolver, AnnounceOp{std::string(kEndpointBytesMax + 1, 'a')}).code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerNetwork, OnlyTheSubmitterCancelsAnOpenJobAndGetsTheFeeBack) {
  Amount before = AccountOf(kSubmitter).balance;
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).ok());
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(2), 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  EXPECT_EQ(Submit(kSolver, CancelJobOp{JobId(1)}).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(Submit(kSubmitter, CancelJobOp{JobId(1)}).ok());
  ASSERT_TRUE(Submit(kSolver, ClaimOf(JobId(2))).ok());
  Seal();
  EXPECT_EQ(JobOf(JobId(1)).status, JobStatus::kCancelled);
  EXPECT_EQ(AccountOf(kSubmitter).balance, before - 1000);  // Job 2's fee stays in escrow.
  EXPECT_EQ(Submit(kSubmitter, CancelJobOp{JobId(2)}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Submit(kSubmitter, CancelJobOp{JobId(1)}).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cairn::ledger::testing
