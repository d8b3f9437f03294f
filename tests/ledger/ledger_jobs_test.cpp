// The life of a job on the ledger: escrow, bonded claims, certificates,
// verdicts, disputes, slashing, payout and expiry.
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerJobs : public LedgerFixture {};

TEST_F(LedgerJobs, PostingEscrowsTheFee) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  EXPECT_EQ(AccountOf(kSubmitter).balance, 99000u);
  Job job = JobOf(JobId(1));
  EXPECT_EQ(job.status, JobStatus::kOpen);
  EXPECT_EQ(job.fee, 1000u);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).code(), StatusCode::kAlreadyExists);
}

TEST_F(LedgerJobs, PostingNeedsFundsStakeAndSaneWindows) {
  EXPECT_EQ(Submit(kOutsider, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 0, 10, 10, Hash256{}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 10, 0, 10, Hash256{}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{JobId(1), 0, 10, 10, 10, Hash256{}}).code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerJobs, ClaimBondsTheSolversStake) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(JobId(1))).ok());
  Seal();
  Account solver = AccountOf(kSolver);
  EXPECT_EQ(solver.stake_free, 3000u);
  EXPECT_EQ(solver.stake_bonded, 2000u);
  EXPECT_EQ(JobOf(JobId(1)).status, JobStatus::kClaimed);
  EXPECT_EQ(JobOf(JobId(1)).solver, Id(kSolver));
  // Only one solver, and bonded stake cannot be unstaked.
  EXPECT_EQ(Submit(kVerifier, ClaimOf(JobId(1))).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Submit(kSolver, UnstakeOp{3001}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerJobs, ClaimNeedsEnoughFreeStake) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 6000, 10, 10, Hash256{}}).ok());
  Seal();
  Status s = Submit(kSolver, ClaimOf(JobId(1)));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("free stake"), std::string::npos);
}

TEST_F(LedgerJobs, OnlyTheClaimingSolverCommits) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(JobId(1))).ok());
  Seal();
  EXPECT_EQ(Submit(kVerifier, CommitCertificateOp{JobId(1), {}, {}, {}}).code(), StatusCode::kPermissionDenied);
}

TEST_F(LedgerJobs, HonestJobPaysSolverVerifiersAndJackpot) {
  Hash256 id = CommittedJob(1, /*fee=*/1000, /*solver_stake=*/2000);
  ASSERT_TRUE(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).ok());
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  Seal();
  EXPECT_EQ(AccountOf(kVerifier).stake_bonded, 100u);
  EXPECT_EQ(Submit(kSubmitter, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Window open.
  SealUntil(JobOf(id).challenge_end_height);
  EXPECT_EQ(Submit(kSubmitter, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Not revealed.
  RevealAfterWindow(id);
  Status settled = Submit(kOutsider, SettleOp{id});
  ASSERT_TRUE(settled.ok()) << settled.ToString();
  Seal();
  // Fee 1000: 1% tax = 10 to the jackpot, 10% = 100 split between 2 verifiers, 890 to the solver.
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
  EXPECT_EQ(ledger_->GetJackpot().value(), 10u);
  EXPECT_EQ(AccountOf(kVerifier).balance, 10050u);
  EXPECT_EQ(AccountOf(kVerifier2).balance, 10050u);
  Account solver = AccountOf(kSolver);
  EXPECT_EQ(solver.balance, 10890u);
  EXPECT_EQ(solver.stake_bonded, 0u);
  EXPECT_EQ(solver.stake_free, 5000u);
  EXPECT_EQ(AccountOf(kVerifier).stake_bonded, 0u);
  EXPECT_EQ(Submit(kOutsider, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Only once.
}

TEST_F(LedgerJobs, SolverCannotVerifyItselfOrVoteTwice) {
  Hash256 id = CommittedJob(1);
  EXPECT_EQ(Submit(kSolver, VerdictOp{id, true, Hash256{}}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).ok());
  EXPECT_EQ(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).code(), StatusCode::kAlreadyExists);
}

TEST_F(LedgerJobs, VerdictAfterTheWindowIsRejected) {
  Hash256 id = CommittedJob(1);
  SealUntil(JobOf(id).challenge_end_height + 1);
  EXPECT_EQ(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).code(), StatusCode::kFailedPrecondition);
}

// Disputes (slashing a cheater, a false accusation) are in ledger_dispute_test.cpp.

TEST_F(LedgerJobs, UnclaimedJobExpiresAndRefunds) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 3, 10, Hash256{}}).ok());
  uint64_t posted = Seal();
  EXPECT_EQ(Submit(kOutsider, SettleOp{JobId(1)}).code(), StatusCode::kFailedPrecondition);
  SealUntil(posted + 3);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{JobId(1)}).ok());
  Seal();
  EXPECT_EQ(JobOf(JobId(1)).status, JobStatus::kExpired);
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);
}

TEST_F(LedgerJobs, SolverThatNeverCommitsForfeitsItsBond) {
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{JobId(1), 1000, 2000, 10, 2, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(JobId(1))).ok());
  uint64_t claimed = Seal();
  SealUntil(claimed + 2);
  EXPECT_EQ(Submit(kSolver, CommitCertificateOp{JobId(1), {}, {}, {}}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Submit(kSubmitter, SettleOp{JobId(1)}).ok());
  Seal();
  EXPECT_EQ(JobOf(JobId(1)).status, JobStatus::kExpired);
  EXPECT_EQ(AccountOf(kSolver).stake_bonded, 0u);
  EXPECT_EQ(AccountOf(kSolver).stake_free, 3000u);
  EXPECT_EQ(ledger_->GetJackpot().value(), 2000u);
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);
}

TEST_F(LedgerJobs, UnknownJobIsNamedInTheError) {
  Status s = Submit(kSolver, ClaimOf(JobId(9)));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("never posted"), std::string::npos);
}

}  // namespace
}  // namespace cairn::ledger::testing
