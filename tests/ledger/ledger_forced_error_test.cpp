// Forced errors on the ledger: the claim's commitment, the reveal, the
// referee's check of a forced checkpoint, and who is paid or slashed in
// each outcome (docs/protocol.md, "Forced errors").
#include <set>

#include "ledger/forced_error.h"
#include "ledger/genesis.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

Hash256 Tagged(std::string_view what, int n = 0) {
  return crypto::TaggedHash("test/forced", ByteView(std::string(what) + std::to_string(n)));
}

class ForcedErrorTest : public LedgerFixture {
 protected:
  void SetUp() override {
    LedgerFixture::SetUp();
    // Every job of three checkpoints is forced, at checkpoint 1; both
    // segments are audited by every accepting verifier.
    genesis_.params.forced_error_bps = 10000;
    exact_jobs_ = true;
    genesis_.params.audited_segments = 2;
    genesis_.params.jackpot_payout_bps = 1000;
    genesis_.jackpot = 10000;
    kv_.reset();
    Reopen();
  }

  RevealOp RevealWithProofs(const Hash256& id, const Hash256& secret) {
    crypto::MerkleTree tree = CheckpointTree();
    return RevealOp{id, secret, CheckpointHash(0), tree.Proof(0), CheckpointHash(1), tree.Proof(1)};
  }

  RulingOp Check(const Hash256& id, const Hash256& value, bool solver_at_fault) {
    RulingOp r;
    r.job_id = id;
    r.task = static_cast<uint8_t>(RefereeTask::kForcedCheck);
    r.value = value;
    r.solver_at_fault = solver_at_fault;
    return r;
  }

  // A dispute by kVerifier on `segment` claiming `claimed_end`, the solver's
  // reveal in answer, and the referee's forced check with `value`.
  void DisputeRevealAndCheck(const Hash256& id, uint64_t segment, const Hash256& claimed_end, const Hash256& value,
                             bool solver_at_fault) {
    ASSERT_TRUE(Submit(kVerifier, OpenOn(id, segment, claimed_end)).ok());
    Seal();
    ASSERT_TRUE(Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}}).ok());
    Seal();
    ASSERT_TRUE(Submit(kReferee, Check(id, value, solver_at_fault)).ok());
    Seal();
  }

  // The honest end of segment 0: what a verifier's replay and the referee find.
  const Hash256 honest_end_ = Tagged("honest checkpoint 1");
};

TEST_F(ForcedErrorTest, TheDrawAndTheAuditAreFunctionsOfLedgerData) {
  Hash256 job = Tagged("job"), seed = Tagged("seed");
  int forced = 0;
  for (int i = 0; i < 4000; ++i) {
    uint64_t leaf = ForcedErrorLeaf(Tagged("secret", i), seed, job, 12, 2500);
    if (leaf != 0) {
      forced++;
      EXPECT_GE(leaf, 1u);
      EXPECT_LE(leaf, 10u);  // Never the initial state or the final model.
    }
  }
  EXPECT_NEAR(forced / 4000.0, 0.25, 0.04);  // 5.8 sigma.
  EXPECT_EQ(ForcedErrorLeaf(Tagged("secret"), seed, job, 2, 10000), 0u) << "one segment has no intermediate checkpoint";
  EXPECT_EQ(ForcedErrorLeaf(Tagged("secret"), seed, job, 12, 0), 0u);

  AccountId v = Id(kVerifier);
  auto audited = AuditedSegments(seed, job, v, 100, 5);
  ASSERT_EQ(audited.size(), 5u);
  EXPECT_EQ(std::set<uint64_t>(audited.begin(), audited.end()).size(), 5u);
  EXPECT_TRUE(std::is_sorted(audited.begin(), audited.end()));
  EXPECT_LT(audited.back(), 100u);
  EXPECT_EQ(audited, AuditedSegments(seed, job, v, 100, 5));
  EXPECT_NE(audited, AuditedSegments(Tagged("another seed"), job, v, 100, 5));
  EXPECT_NE(audited, AuditedSegments(seed, job, Id(kVerifier2), 100, 5));
  EXPECT_EQ(AuditedSegments(seed, job, v, 3, 5), (std::vector<uint64_t>{0, 1, 2}));
}

TEST_F(ForcedErrorTest, AClaimCommitsAndTheCommitmentWaitsForTheNextBlock) {
  Hash256 id = JobId(1);
  PostJobOp post{id, 1000, 2000, 10, 10, Hash256{}};
  post.exact_replay = true;
  ASSERT_TRUE(Submit(kSubmitter, post).ok());
  Seal();
  EXPECT_EQ(Submit(kSolver, ClaimJobOp{id, Hash256{}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kSolver, ClaimOf(id)).ok());
  // In the claim's own block the draw is not known yet: no commitment.
  Hash256 cert = Tagged("cert");
  Status s = Submit(kSolver, CommitCertificateOp{id, cert, CheckpointTree().root(), cert, kCheckpoints});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  Seal();
  EXPECT_TRUE(Submit(kSolver, CommitCertificateOp{id, cert, CheckpointTree().root(), cert, kCheckpoints}).ok());
}

TEST_F(ForcedErrorTest, OnlyTheSolverRevealsOnlyItsSecretOnlyAfterTheWindow) {
  Hash256 id = CommittedJob(1);
  Seal();
  EXPECT_EQ(Submit(kSolver, RevealWithProofs(id, SecretOf(id))).code(), StatusCode::kFailedPrecondition);  // Window open.
  SealUntil(JobOf(id).challenge_end_height + 1);
  EXPECT_EQ(Submit(kVerifier, RevealWithProofs(id, SecretOf(id))).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Submit(kSolver, RevealWithProofs(id, Tagged("not the secret"))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kOutsider, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Waits for the reveal.
  ASSERT_TRUE(Submit(kSolver, RevealWithProofs(id, SecretOf(id))).ok());
  Seal();
  Job job = JobOf(id);
  EXPECT_EQ(job.forced, ForcedError::kConfirmed);  // Nobody accepted it: nothing to check.
  EXPECT_EQ(job.forced_leaf, 1u);
  EXPECT_EQ(job.forced_error_secret, SecretOf(id));
  EXPECT_EQ(Submit(kSolver, RevealWithProofs(id, SecretOf(id))).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
  EXPECT_EQ(AccountOf(kSolver).balance, 10000u + 1000 - 10);  // Paid like any job: a forced error costs it nothing.
}

TEST_F(ForcedErrorTest, ASolverThatNeverRevealsForfeitsItsBondAndTheVerifiersArePaid) {
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).ok());
  Seal();
  Amount jackpot = ledger_->GetJackpot().value();
  SealUntil(JobOf(id).challenge_end_height + genesis_.params.reveal_window_blocks - 1);
  EXPECT_EQ(Submit(kOutsider, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Reveal window open.
  Seal();
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kFailed);
  EXPECT_EQ(ledger_->GetJackpot().value(), jackpot + 2000);  // The solver's bond.
  EXPECT_EQ(AccountOf(kSolver).stake_bonded, 0u);
  EXPECT_EQ(AccountOf(kSolver).stake_free, 3000u);
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u + 100);   // Its share of the fee,
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1000u);       // and its bond back.
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u - 100);  // The rest of the fee back.
  ExpectConserved();
}

TEST_F(ForcedErrorTest, ACaughtForcedErrorPaysTheCatcherTheJackpotShareAndTheLazyAcceptorsBonds) {
  ASSERT_TRUE(Submit(kOutsider, FaucetOp{1000}).ok());  // A third verifier, staked before the commitment.
  Seal();
  ASSERT_TRUE(Submit(kOutsider, StakeOp{500}).ok());
  Seal();
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());  // Lazy: it audits both segments.
  ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 0, honest_end_)).ok());
  uint64_t opened = Seal();
  uint64_t end_before = JobOf(id).challenge_end_height;
  // Revealing is the solver's answer, and only for the forced checkpoint's segments.
  ASSERT_TRUE(Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}}).ok());
  Seal();
  Dispute d = *OpenDisputeOf(id);
  ASSERT_EQ(d.phase, DisputePhase::kReferee);
  ASSERT_EQ(d.task, RefereeTask::kForcedCheck);
  EXPECT_EQ(JobOf(id).forced, ForcedError::kChecking);
  // The ruling must agree with its own value: the committed end is no error.
  EXPECT_EQ(Submit(kReferee, Check(id, CheckpointHash(1), false)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kReferee, Check(id, honest_end_, false)).ok());
  uint64_t ruled = Seal();

  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kCommitted);
  EXPECT_EQ(job.forced, ForcedError::kConfirmed);
  // The lazy accept stays as a slashed accept: no bond, no fee share, and
  // no second accept of this job to earn one after all.
  ASSERT_EQ(job.votes.size(), 1u);
  EXPECT_FALSE(job.votes[0].accept);
  EXPECT_EQ(job.votes[0].bond, 0u);
  EXPECT_EQ(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(job.challenge_end_height, end_before + (ruled - opened));
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u + 1000 + 100);  // Jackpot share (10% of 10000) and the lazy bond.
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1000u);              // Its dispute bond back.
  EXPECT_EQ(AccountOf(kVerifier2).stake_free + AccountOf(kVerifier2).stake_bonded, 900u);
  EXPECT_EQ(ledger_->GetJackpot().value(), 9000u);
  // The forced segments are known now: no more disputes on them, no prize twice.
  EXPECT_EQ(Submit(kOutsider, OpenOn(id, 0, honest_end_)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Submit(kOutsider, OpenOn(id, 1, honest_end_)).code(), StatusCode::kFailedPrecondition);
  // The job settles after its window without another reveal; the solver is paid in full.
  SealUntil(job.challenge_end_height + 1);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
  EXPECT_EQ(AccountOf(kSolver).balance, 10000u + 1000 - 10);
  EXPECT_EQ(AccountOf(kSolver).stake_free, 5000u);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AGuessedSegmentGetsItsBondBackButNoPrize) {
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  DisputeRevealAndCheck(id, 1, Tagged("made up"), Tagged("the referee's end of segment 1"), false);  // Did not replay.
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u);
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1000u);
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u + 100);  // The lazy bond goes to the jackpot.
  ExpectConserved();
}

TEST_F(ForcedErrorTest, ASolverThatRevealsAnErrorItNeverMadeIsSlashed) {
  // A solver and a friend: the friend disputes a right segment, the solver
  // concedes it as forced to take the jackpot share and the honest
  // acceptor's bond. The referee replays it to the committed checkpoint.
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  DisputeRevealAndCheck(id, 0, honest_end_, CheckpointHash(1), true);
  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(job.forced, ForcedError::kRefuted);
  EXPECT_EQ(AccountOf(kSolver).stake_free + AccountOf(kSolver).stake_bonded, 3000u);
  EXPECT_EQ(AccountOf(kVerifier).stake_free + AccountOf(kVerifier).stake_bonded, 900u);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free, 1000u);  // The honest acceptor keeps its bond.
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);   // Refunded.
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u + 2000 + 100);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AnUncaughtForcedErrorIsCheckedAfterTheWindowAndCostsTheAcceptorsTheirBonds) {
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  SealUntil(JobOf(id).challenge_end_height + 1);
  // With an accept to answer for it, the reveal must prove the checkpoints.
  EXPECT_EQ(Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kSolver, RevealWithProofs(id, SecretOf(id))).ok());
  Seal();
  Job job = JobOf(id);
  ASSERT_EQ(job.status, JobStatus::kDisputed);
  Dispute d = *OpenDisputeOf(id);
  EXPECT_EQ(d.task, RefereeTask::kForcedCheck);
  EXPECT_EQ(d.segment, 0u);
  EXPECT_EQ(Submit(kOutsider, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Waits for the referee.
  ASSERT_TRUE(Submit(kReferee, Check(id, honest_end_, false)).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kCommitted);
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u + 100);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
  EXPECT_EQ(AccountOf(kVerifier2).balance, 10000u);  // No share of the fee for an accept of an error.
  EXPECT_EQ(AccountOf(kSolver).balance, 10000u + 1000 - 10);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AFakedSegmentBesideTheForcedCheckpointFailsTheJobAndPaysTheCatcher) {
  // The solver knows its forced checkpoint before it trains: it fakes the
  // segments beside it and reveals when caught. The referee's check of the
  // honest twin fails (solver_at_fault with a real error: masked).
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());  // Lazy: audits both segments.
  DisputeRevealAndCheck(id, 0, honest_end_, honest_end_, true);
  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(job.forced, ForcedError::kMasked);
  ASSERT_FALSE(job.votes.empty());
  EXPECT_EQ(job.votes.back().verifier, Id(kVerifier));  // The catcher's reject stands.
  EXPECT_EQ(AccountOf(kSolver).stake_free + AccountOf(kSolver).stake_bonded, 3000u);  // Bond 2000 slashed.
  // The catcher: its bond back, half the solver's bond, the lazy bond and the jackpot share.
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1000u);
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u + 1000 + 100 + 1000);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free + AccountOf(kVerifier2).stake_bonded, 900u);
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);  // Refunded.
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u - 1000 + 1000);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AGuessThatFindsAMaskedFakeEarnsNothingButKeepsItsBond) {
  Hash256 id = CommittedJob(1);
  DisputeRevealAndCheck(id, 1, Tagged("made up"), Tagged("the referee's end of segment 1"), true);  // Did not replay.
  EXPECT_EQ(JobOf(id).forced, ForcedError::kMasked);
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u);     // No share of the solver's bond,
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 1000u);   // but its bond back: the segment was wrong.
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u + 2000);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AFakedSegmentFoundByThePostWindowCheckFailsTheJob) {
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  SealUntil(JobOf(id).challenge_end_height + 1);
  ASSERT_TRUE(Submit(kSolver, RevealWithProofs(id, SecretOf(id))).ok());
  Seal();
  ASSERT_TRUE(Submit(kReferee, Check(id, honest_end_, true)).ok());
  Seal();
  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(job.forced, ForcedError::kMasked);
  EXPECT_EQ(AccountOf(kSolver).stake_free + AccountOf(kSolver).stake_bonded, 3000u);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free + AccountOf(kVerifier2).stake_bonded, 900u);  // Approved it.
  EXPECT_EQ(AccountOf(kVerifier2).balance, 10000u);
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);
  EXPECT_EQ(ledger_->GetJackpot().value(), 10000u + 2000 + 100);
  ExpectConserved();
}

TEST_F(ForcedErrorTest, AToleranceModeJobIsNeverForced) {
  // A one-bit error is within any tolerance: an honest verifier would accept
  // it. The draw gives such a job no forced error, whatever the secret.
  Hash256 id = JobId(1);
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(id)).ok());
  Seal();
  Hash256 cert = Tagged("cert");
  ASSERT_TRUE(Submit(kSolver, CommitCertificateOp{id, cert, CheckpointTree().root(), cert, kCheckpoints}).ok());
  Seal();
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  SealUntil(JobOf(id).challenge_end_height + 1);
  EXPECT_EQ(JobForcedLeaf(SecretOf(id), JobOf(id), kCheckpoints, 10000), 0u);
  ASSERT_TRUE(Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).forced, ForcedError::kNone);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free, 1000u);  // Its accept was right.
  ExpectConserved();
}

TEST_F(ForcedErrorTest, ARevealIsNoAnswerToADisputeElsewhere) {
  genesis_.params.forced_error_bps = 0;  // No job is forced.
  kv_.reset();
  Reopen();
  Hash256 id = CommittedJob(1);
  ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 0, honest_end_)).ok());
  Seal();
  Status s = Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no forced error"), std::string::npos) << s.ToString();
}

TEST_F(ForcedErrorTest, GenesisBoundsTheForcedErrorParameters) {
  Genesis g = genesis_;
  g.params.audited_segments = 0;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g.params.audited_segments = kAuditedSegmentsMax + 1;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.forced_error_bps = 10001;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.reveal_window_blocks = 0;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  EXPECT_EQ(DecodeGenesis(EncodeGenesis(g)).value(), g);
  ExpectConserved();  // The genesis jackpot is part of the supply.
}

}  // namespace
}  // namespace cairn::ledger::testing

namespace cairn::ledger::testing {
namespace {

// Accepts of a real error: on an exact-mode job, an accept whose audited
// segments include the segment a referee's ruling found wrong costs its bond.
class ApproverTest : public LedgerFixture {
 protected:
  void SetUp() override {
    LedgerFixture::SetUp();
    genesis_.params.audited_segments = 2;  // Both segments of the test jobs.
    genesis_.params.jackpot_payout_bps = 1000;
    genesis_.jackpot = 10000;
    kv_.reset();
    Reopen();
  }
  Hash256 PostAndApprove(uint8_t n, bool exact) {
    Hash256 id = JobId(n);
    EXPECT_TRUE(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}, 1, exact}).ok());
    Seal();
    EXPECT_TRUE(Submit(kSolver, ClaimOf(id)).ok());
    Seal();
    Hash256 cert = CheckpointHash(99);
    EXPECT_TRUE(Submit(kSolver, CommitCertificateOp{id, cert, CheckpointTree().root(), cert, kCheckpoints}).ok());
    Seal();
    Seal();
    EXPECT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());  // Approves without replaying.
    return id;
  }
  // The segment's signed claims are disputed (same end state): the referee rules at once.
  void RuleSolverAtFault(const Hash256& id) {
    ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 0, CheckpointHash(1))).ok());
    Seal();
    ASSERT_TRUE(Submit(kReferee, RulingOp{id, true, static_cast<uint8_t>(RefereeTask::kSegment), {}, {}, {}}).ok());
    Seal();
  }
};

TEST_F(ApproverTest, ARulingOnAnExactJobCostsTheApproverItsBondToTheChallenger) {
  Hash256 id = PostAndApprove(1, /*exact=*/true);
  RuleSolverAtFault(id);
  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free + AccountOf(kVerifier2).stake_bonded, 900u);
  // Half the solver's bond, the approver's bond and 10% of the jackpot.
  EXPECT_EQ(AccountOf(kVerifier).balance, 10000u + 1000 + 100 + 1000);
  ASSERT_EQ(job.votes.size(), 2u);
  EXPECT_FALSE(job.votes[0].accept);  // The slashed accept.
  EXPECT_EQ(job.votes[0].bond, 0u);
  ExpectConserved();
}

TEST_F(ApproverTest, InToleranceModeOrOnATimeoutTheApproverKeepsItsBond) {
  Hash256 tolerant = PostAndApprove(1, /*exact=*/false);
  RuleSolverAtFault(tolerant);
  EXPECT_EQ(JobOf(tolerant).status, JobStatus::kFailed);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free, 1000u);
  // A solver that stops answering loses, but that proves nothing about the segment.
  Hash256 timed_out = PostAndApprove(2, /*exact=*/true);
  ASSERT_TRUE(Submit(kVerifier, OpenOn(timed_out, 0, Tagged("another end"))).ok());
  Seal();
  Dispute d = *OpenDisputeOf(timed_out);
  PinpointMoveOp move;
  move.job_id = timed_out;
  move.phase = static_cast<uint8_t>(d.phase);
  move.position = d.position;
  move.hash = Tagged("the challenger's state");
  ASSERT_TRUE(Submit(kVerifier, move).ok());
  Seal();
  SealUntil(OpenDisputeOf(timed_out)->deadline_height + 1);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{timed_out}).ok());
  Seal();
  EXPECT_EQ(JobOf(timed_out).status, JobStatus::kFailed);
  EXPECT_EQ(AccountOf(kVerifier2).stake_free, 1000u);
  ExpectConserved();
}

}  // namespace
}  // namespace cairn::ledger::testing
