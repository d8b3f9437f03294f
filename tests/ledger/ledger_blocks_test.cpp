// Blocks: replicas that follow the sequencer's blocks reach the same state
// roots, and a block that lies about itself is refused whole.
#include "crypto/merkle.h"
#include "ledger/audit.h"
#include "ledger/genesis.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerBlocks : public LedgerFixture {
 protected:
  // A second ledger with the same genesis, in its own store.
  std::unique_ptr<Ledger> Replica(store::MemoryStore* kv) {
    auto opened = Ledger::Open(kv, &genesis_);
    EXPECT_TRUE(opened.ok());
    return std::move(opened).value();
  }

  Block OneBlock() {
    EXPECT_TRUE(Submit(kSubmitter, TransferOp{Id(kOutsider), 7}).ok());
    EXPECT_TRUE(Submit(kSolver, StakeOp{100}).ok());
    Seal();
    return ledger_->GetBlock(ledger_->head().height).value();
  }
};

TEST_F(LedgerBlocks, ReplicaFollowingTheBlocksReachesTheSameStateRoot) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  EXPECT_EQ(replica->head(), ledger_->head());  // Same genesis, same root.
  CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier, VerdictOp{JobId(1), true, Hash256{}}).ok());
  Seal();
  for (uint64_t h = 1; h <= ledger_->head().height; ++h) {
    Block b = ledger_->GetBlock(h).value();
    auto root = replica->FinalizeBlock(b);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    ASSERT_TRUE(replica->Commit().ok());
  }
  EXPECT_EQ(replica->head(), ledger_->head());
  EXPECT_EQ(replica->GetJob(JobId(1)).value(), ledger_->GetJob(JobId(1)).value());
}

TEST_F(LedgerBlocks, BlockWithAWrongStateRootIsRefused) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  Block b = OneBlock();
  b.header.state_root.bytes[0] ^= 1;
  b.signature = keys_.at(kSequencer).Sign(ByteView(BlockHash(b.header).bytes));  // Validly signed lie.
  auto root = replica->FinalizeBlock(b);
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::kCorruption);
  EXPECT_NE(root.status().message().find("state root"), std::string::npos);
  EXPECT_EQ(replica->head().height, 0u);
}

TEST_F(LedgerBlocks, BlockFromAnotherProposerIsRefused) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  Block b = OneBlock();
  b.header.proposer = Id(kOutsider);
  b.signature = keys_.at(kOutsider).Sign(ByteView(BlockHash(b.header).bytes));
  EXPECT_EQ(replica->FinalizeBlock(b).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(LedgerBlocks, BlockWithATamperedTransactionIsRefused) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  Block b = OneBlock();
  std::get<TransferOp>(b.txs[0].body.op).amount = 70000;
  EXPECT_EQ(replica->FinalizeBlock(b).status().code(), StatusCode::kCorruption);  // Tx root no longer matches.
  b.header.tx_root = TxRoot(b.txs);
  b.signature = keys_.at(kSequencer).Sign(ByteView(BlockHash(b.header).bytes));
  EXPECT_EQ(replica->FinalizeBlock(b).status().code(), StatusCode::kPermissionDenied);  // Tx signature fails.
}

TEST_F(LedgerBlocks, BlockWithAnInvalidTransactionIsRefusedWhole) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  Block b = OneBlock();
  b.txs.push_back(Make(kOutsider, TransferOp{Id(kSubmitter), 500}));  // Outsider holds only 7.
  b.header.tx_count = static_cast<uint32_t>(b.txs.size());
  b.header.tx_root = TxRoot(b.txs);
  b.signature = keys_.at(kSequencer).Sign(ByteView(BlockHash(b.header).bytes));
  auto root = replica->FinalizeBlock(b);
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.status().message().find("tx 2"), std::string::npos) << root.status().message();
  EXPECT_EQ(replica->head().height, 0u);
  EXPECT_FALSE(replica->Commit().ok());
}

TEST_F(LedgerBlocks, BlockOutOfSequenceIsRefused) {
  store::MemoryStore replica_kv(LedgerColumnFamilies());
  auto replica = Replica(&replica_kv);
  OneBlock();
  Block second = OneBlock();
  EXPECT_EQ(replica->FinalizeBlock(second).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerBlocks, ProposalDropsTransactionsThatNoLongerApply) {
  // Both spend the whole balance of a fresh account; only the first fits.
  ASSERT_TRUE(Submit(kOutsider, FaucetOp{100}).ok());
  Seal();
  SignedTx a = Make(kOutsider, TransferOp{Id(kSubmitter), 100});
  TxBody b_body = a.body;
  b_body.op = TransferOp{Id(kSolver), 100};
  SignedTx b = SignTx(b_body, keys_.at(kOutsider));  // Same nonce.
  std::vector<DroppedTx> dropped;
  auto block = ledger_->PrepareProposal({a, b}, 5, keys_.at(kSequencer), &dropped);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->txs.size(), 1u);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].tx_id, TxId(b.body));
}

TEST_F(LedgerBlocks, IncrementalStateRootEqualsARootComputedFromScratch) {
  // The ledger rehashes only touched buckets and tree paths; a full
  // recomputation from the stored state must agree after every block.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Submit(kSubmitter, TransferOp{TestKey(static_cast<uint8_t>(40 + i)).public_key(), static_cast<Amount>(1 + i)}).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(Submit(kSolver, StakeOp{10}).ok());
    }
    Seal();
    auto buckets = StateRoot::ComputeAll(*kv_);
    ASSERT_TRUE(buckets.ok());
    EXPECT_EQ(crypto::MerkleRoot(*buckets), ledger_->head().state_root) << "after block " << i + 1;
  }
}

TEST_F(LedgerBlocks, EveryTransactionIsIndexed) {
  SignedTx tx = Make(kSubmitter, TransferOp{Id(kOutsider), 7});
  ASSERT_TRUE(sequencer_->Submit(tx).ok());
  uint64_t height = Seal();
  auto loc = ledger_->FindTx(TxId(tx.body)).value();
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->height, height);
  EXPECT_EQ(loc->index, 0u);
}

TEST_F(LedgerBlocks, AuditPassesOnAnHonestLogAndFindsAnEditedAccount) {
  CommittedJob(1);
  auto ok = AuditLedger(*kv_);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->blocks, ledger_->head().height);

  // Give the outsider money behind the ledger's back.
  Account forged;
  forged.balance = 1'000'000;
  store::WriteBatch batch;
  batch.Put(kStateColumnFamily, PhysicalStateKey(AccountKey(Id(kOutsider))), EncodeAccount(forged));
  ASSERT_TRUE(kv_->Write(batch, store::SyncPolicy::kNoSync).ok());
  auto bad = AuditLedger(*kv_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("account " + Id(kOutsider).ToHex().substr(0, 16)), std::string::npos)
      << bad.status().message();
}

TEST_F(LedgerBlocks, ReopeningDetectsBucketDigestsThatDisagreeWithTheHead) {
  Seal();
  store::WriteBatch batch;
  batch.Put(kMetaColumnFamily, std::string("bucket/") + '\x00' + '\x07', std::string(32, 'x'));
  ASSERT_TRUE(kv_->Write(batch, store::SyncPolicy::kNoSync).ok());
  auto reopened = Ledger::Open(kv_.get(), &genesis_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_NE(reopened.status().message().find("cairn ledger audit"), std::string::npos);
}

}  // namespace
}  // namespace cairn::ledger::testing
