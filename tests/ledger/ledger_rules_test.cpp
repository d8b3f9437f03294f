// Accounts, nonces and staking: what a user relies on when sending a
// transaction, and that a rejected transaction changes nothing.
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerRules : public LedgerFixture {};

TEST_F(LedgerRules, TransferMovesFundsAndBumpsNonce) {
  ASSERT_TRUE(Submit(kSubmitter, TransferOp{Id(kOutsider), 250}).ok());
  Seal();
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u - 250);
  EXPECT_EQ(AccountOf(kSubmitter).nonce, 1u);
  EXPECT_EQ(AccountOf(kOutsider).balance, 250u);
}

TEST_F(LedgerRules, ReplayedTransactionIsRejectedAndChangesNothing) {
  SignedTx tx = Make(kSubmitter, TransferOp{Id(kOutsider), 250});
  ASSERT_TRUE(sequencer_->Submit(tx).ok());
  Seal();
  Head before = ledger_->head();
  // In the same block window and after it.
  Status again = sequencer_->Submit(tx);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("already used"), std::string::npos) << again.message();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);
  EXPECT_EQ(ledger_->head(), before);
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u - 250);
}

TEST_F(LedgerRules, ReplayInsideTheMempoolIsRejected) {
  SignedTx tx = Make(kSubmitter, TransferOp{Id(kOutsider), 5});
  ASSERT_TRUE(sequencer_->Submit(tx).ok());
  EXPECT_FALSE(sequencer_->Submit(tx).ok());
  EXPECT_EQ(sequencer_->mempool_size(), 1u);
}

TEST_F(LedgerRules, MisSignedTransactionIsRejected) {
  SignedTx tx = Make(kSubmitter, TransferOp{Id(kOutsider), 5});
  std::get<TransferOp>(tx.body.op).amount = 5000;  // Changed after signing.
  Status s = sequencer_->Submit(tx);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  SignedTx other = Make(kSubmitter, TransferOp{Id(kOutsider), 5});
  other.signature = keys_.at(kOutsider).Sign(ByteView(TxId(other.body).bytes));  // Signed by someone else.
  EXPECT_EQ(sequencer_->Submit(other).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(AccountOf(kSubmitter).nonce, 0u);
}

TEST_F(LedgerRules, OverspendIsRejectedWithTheAmounts) {
  Status s = Submit(kOutsider, TransferOp{Id(kSubmitter), 1});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("insufficient balance: have 0, need 1"), std::string::npos) << s.message();
  EXPECT_EQ(AccountOf(kOutsider), Account{});
}

TEST_F(LedgerRules, OutOfOrderNonceIsRejected) {
  Status s = sequencer_->Submit(Make(kSubmitter, StakeOp{10}, /*nonce=*/3));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("next nonce is 1"), std::string::npos) << s.message();
  EXPECT_EQ(sequencer_->Submit(Make(kSubmitter, StakeOp{10}, /*nonce=*/0)).code(), StatusCode::kAlreadyExists);
}

TEST_F(LedgerRules, ConsecutiveNoncesQueueInTheMempool) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Submit(kSubmitter, TransferOp{Id(kOutsider), 1}).ok());
  EXPECT_EQ(sequencer_->mempool_size(), 5u);
  Seal();
  EXPECT_EQ(AccountOf(kSubmitter).nonce, 5u);
}

TEST_F(LedgerRules, TransactionForAnotherChainIsRejected) {
  TxBody body;
  body.chain_id = "some-other-chain";
  body.sender = Id(kSubmitter);
  body.nonce = 1;
  body.op = TransferOp{Id(kOutsider), 1};
  Status s = sequencer_->Submit(SignTx(body, keys_.at(kSubmitter)));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("some-other-chain"), std::string::npos);
}

TEST_F(LedgerRules, ZeroAmountsAndSelfTransfersAreRejected) {
  EXPECT_FALSE(Submit(kSubmitter, TransferOp{Id(kOutsider), 0}).ok());
  EXPECT_FALSE(Submit(kSubmitter, TransferOp{Id(kSubmitter), 10}).ok());
  EXPECT_FALSE(Submit(kSubmitter, StakeOp{0}).ok());
}

TEST_F(LedgerRules, FaucetIsCappedAndCanBeDisabled) {
  EXPECT_TRUE(Submit(kOutsider, FaucetOp{1000}).ok());
  EXPECT_EQ(Submit(kOutsider, FaucetOp{1001}).code(), StatusCode::kInvalidArgument);
  Seal();
  EXPECT_EQ(AccountOf(kOutsider).balance, 1000u);

  genesis_.chain_id = "no-faucet";
  genesis_.params.faucet_amount_max = 0;
  kv_.reset();
  Reopen();
  EXPECT_EQ(Submit(kOutsider, FaucetOp{1}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerRules, UnstakedFundsReturnExactlyAfterTheUnbondingDelay) {
  ASSERT_TRUE(Submit(kSolver, UnstakeOp{1500}).ok());
  uint64_t unstaked_at = Seal();
  Account a = AccountOf(kSolver);
  EXPECT_EQ(a.stake_free, 3500u);
  EXPECT_EQ(a.unbonding, 1500u);
  EXPECT_EQ(a.balance, 10000u);
  SealUntil(unstaked_at + genesis_.params.unbonding_delay_blocks - 1);
  EXPECT_EQ(AccountOf(kSolver).unbonding, 1500u);
  Seal();
  a = AccountOf(kSolver);
  EXPECT_EQ(a.unbonding, 0u);
  EXPECT_EQ(a.balance, 11500u);
}

TEST_F(LedgerRules, CannotUnstakeMoreThanFreeStake) {
  Status s = Submit(kVerifier, UnstakeOp{1001});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerRules, StateSurvivesReopen) {
  ASSERT_TRUE(Submit(kSubmitter, TransferOp{Id(kOutsider), 42}).ok());
  Seal();
  Head head = ledger_->head();
  Reopen();
  EXPECT_EQ(ledger_->head(), head);
  EXPECT_EQ(AccountOf(kOutsider).balance, 42u);
  // The next transaction continues from the stored nonce.
  EXPECT_TRUE(Submit(kSubmitter, TransferOp{Id(kOutsider), 1}).ok());
}

TEST_F(LedgerRules, StoreOfAnotherChainIsRefused) {
  Genesis other = genesis_;
  other.chain_id = "another";
  auto opened = Ledger::Open(kv_.get(), &other);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("cairn-test"), std::string::npos);
}

TEST_F(LedgerRules, InvalidGenesisIsRefused) {
  Genesis bad = genesis_;
  bad.params.jackpot_tax_bps = 6000;
  bad.params.verifier_share_bps = 5000;
  store::MemoryStore kv(LedgerColumnFamilies());
  EXPECT_EQ(Ledger::Open(&kv, &bad).status().code(), StatusCode::kInvalidArgument);
  bad = genesis_;
  bad.allocations.push_back(bad.allocations[0]);
  EXPECT_EQ(Ledger::Open(&kv, &bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::ledger::testing
