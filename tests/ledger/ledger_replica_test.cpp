// Replicated jobs on the ledger: one post, R independent job records, one
// solver per replica, and a replica's solver disputing a sibling that
// differs, so that the honest replica is paid as long as one solver is.
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerReplicas : public LedgerFixture {};

TEST_F(LedgerReplicas, APostMakesOneRecordPerReplicaAndEscrowsEachFee) {
  Hash256 id = JobId(1);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}, kReplicasMax + 1}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{id, 1000, 500, 10, 10, Hash256{}, 2}).ok());
  Seal();
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u - 2000);
  for (uint8_t r = 0; r < 2; ++r) {
    Job j = JobOf(ReplicaJobId(id, r));
    EXPECT_EQ(j.group, id);
    EXPECT_EQ(j.replica, r);
    EXPECT_EQ(j.replicas, 2);
    EXPECT_EQ(j.fee, 1000u);
    EXPECT_EQ(SpecIdOf(j), id);
  }
  EXPECT_NE(ReplicaJobId(id, 1), id);
  EXPECT_EQ(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}, 1}).code(), StatusCode::kAlreadyExists);
  ExpectConserved();
}

TEST_F(LedgerReplicas, EachReplicaNeedsItsOwnSolverAndAWrongOneLosesItsBond) {
  Hash256 id = JobId(1);
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{id, 1000, 500, 10, 10, Hash256{}, 2}).ok());
  Seal();
  Hash256 a = ReplicaJobId(id, 0), b = ReplicaJobId(id, 1);
  ASSERT_TRUE(Submit(kSolver, ClaimOf(a)).ok());
  Seal();
  Status twice = Submit(kSolver, ClaimOf(b));
  EXPECT_EQ(twice.code(), StatusCode::kFailedPrecondition) << twice.ToString();
  ASSERT_TRUE(Submit(kVerifier, ClaimOf(b)).ok());  // A second, independent solver.
  Seal();
  // Replica a commits the test checkpoints; replica b differs from checkpoint 1 on.
  Hash256 cert = CheckpointHash(99);
  ASSERT_TRUE(Submit(kSolver, CommitCertificateOp{a, cert, CheckpointTree().root(), cert, kCheckpoints}).ok());
  std::vector<Hash256> leaves;
  for (uint64_t i = 0; i < kCheckpoints; ++i) {
    Hash256 h = i == 0 ? CheckpointHash(0) : CheckpointHash(100 + i);
    leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  }
  ASSERT_TRUE(Submit(kVerifier, CommitCertificateOp{b, cert, crypto::MerkleTree(leaves).root(), cert, kCheckpoints}).ok());
  Seal();
  Seal();
  // b's solver, whose own checkpoint 1 is its replay of segment 0, disputes a.
  ASSERT_TRUE(Submit(kVerifier, OpenOn(a, 0, CheckpointHash(101))).ok());
  Seal();
  Dispute d = *OpenDisputeOf(a);
  EXPECT_EQ(d.challenger, Id(kVerifier));
  EXPECT_EQ(JobOf(b).status, JobStatus::kCommitted);  // The sibling's own life goes on.
}

}  // namespace
}  // namespace cairn::ledger::testing
