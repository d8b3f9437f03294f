// The pinpoint game on the ledger: bisection over steps, then over operator
// records, the referee's ruling, timeouts, and the rules that keep it
// ungameable (proofs, rounds, who may move, stake that predates the
// commitment, verifier selection, rejects that cannot be crowded out).
#include <cmath>
#include <functional>
#include <random>

#include "ledger/genesis.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

Hash256 Tagged(const char* tag, uint64_t n) { return crypto::TaggedHash(tag, ByteView(std::to_string(n))); }

Bytes RecordBytes(const char* tag, uint64_t j) {
  std::string s = std::string(tag) + " record " + std::to_string(j);
  return Bytes(s.begin(), s.end());
}

// One party's view of the disputed segment (segment 0: steps 0..8): the state
// hash after each step and the operator records of any step it traces.
struct Side {
  std::function<Hash256(uint64_t step)> state;
  std::vector<Bytes> records;
  bool silent = false;  // Never moves.
};

class LedgerDispute : public LedgerFixture {
 protected:
  static constexpr uint64_t kRecords = 37;

  // A solver that trains honestly up to step `bad_step` and then diverges,
  // committing its diverged end state as checkpoint 1; and its own records,
  // which differ from the honest ones from `bad_record` on.
  static Side Solver(uint64_t bad_step, uint64_t bad_record) {
    Side s;
    s.state = [bad_step](uint64_t t) {
      if (t == 0) return CheckpointHash(0);
      if (t == kSegmentSteps) return CheckpointHash(1);
      return t < bad_step ? Tagged("honest", t) : Tagged("cheat", t);
    };
    for (uint64_t j = 0; j < kRecords; ++j) s.records.push_back(RecordBytes(j < bad_record ? "honest" : "cheat", j));
    return s;
  }
  // The honest replay: agrees with the solver before `bad_step`.
  static Side Honest(uint64_t bad_step) {
    Side s;
    s.state = [bad_step](uint64_t t) {
      if (t == 0) return CheckpointHash(0);
      return t < bad_step ? Tagged("honest", t) : Tagged("honest-late", t);
    };
    for (uint64_t j = 0; j < kRecords; ++j) s.records.push_back(RecordBytes("honest", j));
    return s;
  }

  static std::vector<Hash256> Prefixes(const Dispute& d, const Side& side) {
    std::vector<Hash256> hashes;
    for (const Bytes& r : side.records) hashes.push_back(TraceRecordHash(ByteView(r)));
    return TracePrefixes(d.lo_hash, hashes);
  }

  // What an honest-to-itself party posts in the dispute's current round.
  static PinpointMoveOp MoveFor(const Dispute& d, const Side& side) {
    PinpointMoveOp m;
    m.job_id = d.job_id;
    m.phase = static_cast<uint8_t>(d.phase);
    m.position = d.position;
    switch (d.phase) {
      case DisputePhase::kSteps: m.hash = side.state(d.position); break;
      case DisputePhase::kTraceRoots: {
        auto p = Prefixes(d, side);
        m.hash = TraceRoot(p);
        m.count = p.size();
        break;
      }
      case DisputePhase::kOps:
      case DisputePhase::kRecords: {
        auto p = Prefixes(d, side);
        std::vector<Hash256> leaves;
        for (const Hash256& h : p) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
        // kOps reveals prefix `position`; kRecords reveals record `position`
        // and proves the prefix it makes (leaf `position`).
        const uint64_t leaf = d.phase == DisputePhase::kOps ? d.position - 1 : d.position;
        if (leaf >= p.size()) break;
        m.proof = crypto::MerkleTree(leaves).Proof(leaf);
        if (d.phase == DisputePhase::kOps) {
          m.hash = p[leaf];
        } else {
          m.record = side.records[d.position];
        }
        break;
      }
      default: break;
    }
    return m;
  }

  Hash256 OpenDispute(const Side& challenger, uint8_t who = kVerifier) {
    Hash256 id = CommittedJob(1);
    Seal();  // Verifiers are drawn at the block after the commitment.
    Status s = Submit(who, OpenOn(id, 0, challenger.state(kSegmentSteps)));
    EXPECT_TRUE(s.ok()) << s.ToString();
    Seal();
    EXPECT_EQ(JobOf(id).status, JobStatus::kDisputed);
    return id;
  }

  // Plays rounds until the game ends (referee or resolved) or a silent party
  // stalls it; returns the rounds played.
  int Play(const Hash256& id, const Side& solver, const Side& challenger, uint8_t who = kVerifier) {
    int rounds = 0;
    for (;;) {
      auto d = OpenDisputeOf(id);
      if (!d || d->phase == DisputePhase::kReferee) return rounds;
      if (solver.silent || challenger.silent) {
        if (!solver.silent) {
          EXPECT_TRUE(Submit(kSolver, MoveFor(*d, solver)).ok());
        }
        if (!challenger.silent) {
          EXPECT_TRUE(Submit(who, MoveFor(*d, challenger)).ok());
        }
        Seal();
        return rounds + 1;
      }
      Status a = Submit(kSolver, MoveFor(*d, solver));
      Status b = Submit(who, MoveFor(*d, challenger));
      EXPECT_TRUE(a.ok() && b.ok()) << a.ToString() << " / " << b.ToString();
      if (!a.ok() || !b.ok()) return rounds;
      Seal();
      ++rounds;
      EXPECT_LT(rounds, 64) << "the game does not end";
      if (rounds >= 64) return rounds;
    }
  }

  RulingOp Ruling(const Hash256& id, const Dispute& d, const Hash256& value, bool solver_at_fault) {
    RulingOp r;
    r.job_id = id;
    r.solver_at_fault = solver_at_fault;
    r.task = static_cast<uint8_t>(d.task);
    r.value = value;
    r.op_name = "aten::test";
    return r;
  }
};

TEST_F(LedgerDispute, BisectionFindsTheFirstDivergentStepAndOperator) {
  for (uint64_t bad_step : {1, 2, 5, 8}) {
    for (uint64_t bad_record : {uint64_t{0}, uint64_t{1}, uint64_t{23}, kRecords - 1}) {
      SCOPED_TRACE("bad step " + std::to_string(bad_step) + ", bad record " + std::to_string(bad_record));
      kv_.reset();  // A fresh chain per case.
      Reopen();
      Side solver = Solver(bad_step, bad_record);
      Side honest = Honest(bad_step);
      Hash256 id = OpenDispute(honest);
      int rounds = Play(id, solver, honest);
      Dispute d = *OpenDisputeOf(id);
      ASSERT_EQ(d.phase, DisputePhase::kReferee);
      EXPECT_EQ(d.task, RefereeTask::kOperator);
      EXPECT_EQ(d.lo_step, bad_step - 1);  // The step from state bad_step - 1 to bad_step.
      EXPECT_EQ(d.hi_step, bad_step);
      EXPECT_EQ(d.op_lo, bad_record);
      EXPECT_EQ(d.solver.record, solver.records[bad_record]);
      EXPECT_EQ(d.challenger_claim.record, honest.records[bad_record]);
      // log2(k) step rounds, one trace round, log2(records) operator rounds
      // (equal counts need no first reveal), one record reveal.
      int bound = static_cast<int>(std::ceil(std::log2(kSegmentSteps)) + std::ceil(std::log2(kRecords)) + 2);
      EXPECT_LE(rounds, bound);
    }
  }
}

TEST_F(LedgerDispute, RulingAgainstACheaterSlashesItAndPaysTheChallenger) {
  Side solver = Solver(5, 23);
  Side honest = Honest(5);
  Hash256 id = OpenDispute(honest);
  Play(id, solver, honest);
  Dispute d = *OpenDisputeOf(id);
  Hash256 truth = TraceRecordHash(ByteView(honest.records[23]));
  // Only the referee, only consistent with its own value.
  EXPECT_EQ(Submit(kVerifier, Ruling(id, d, truth, true)).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Submit(kReferee, Ruling(id, d, truth, false)).code(), StatusCode::kInvalidArgument);
  RulingOp wrong_task = Ruling(id, d, truth, true);
  wrong_task.task = static_cast<uint8_t>(RefereeTask::kStep);
  EXPECT_EQ(Submit(kReferee, wrong_task).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kReferee, Ruling(id, d, truth, true)).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kFailed);
  EXPECT_EQ(AccountOf(kSolver).stake_free, 3000u);    // 2000 slashed.
  EXPECT_EQ(AccountOf(kVerifier).balance, 11000u);    // Half of it.
  EXPECT_EQ(ledger_->GetJackpot().value(), 1000u);    // The rest.
  EXPECT_EQ(AccountOf(kSubmitter).balance, 100000u);  // Fee refunded.
  EXPECT_EQ(AccountOf(kVerifier).stake_bonded, 0u);
  Dispute done = *ledger_->GetDispute(id, 0).value();
  EXPECT_EQ(done.phase, DisputePhase::kResolved);
  EXPECT_TRUE(done.solver_at_fault);
  EXPECT_NE(done.resolution.find("operator aten::test"), std::string::npos) << done.resolution;
  EXPECT_FALSE(done.moves.empty());
}

TEST_F(LedgerDispute, FalseAccusationSlashesTheChallengerAndReopensTheWindow) {
  // The accuser claims the honest solver diverged at step 3: its own
  // "replay" (the cheat here) differs from step 3 on.
  Side honest_solver;
  honest_solver.state = [](uint64_t t) {
    if (t == 0) return CheckpointHash(0);
    if (t == kSegmentSteps) return CheckpointHash(1);
    return Tagged("honest", t);
  };
  for (uint64_t j = 0; j < kRecords; ++j) honest_solver.records.push_back(RecordBytes("honest", j));
  Side accuser;
  accuser.state = [](uint64_t t) { return t == 0 ? CheckpointHash(0) : (t < 3 ? Tagged("honest", t) : Tagged("lie", t)); };
  for (uint64_t j = 0; j < kRecords; ++j) accuser.records.push_back(RecordBytes(j < 10 ? "honest" : "lie", j));
  Hash256 id = OpenDispute(accuser);
  uint64_t end_before = JobOf(id).challenge_end_height;
  uint64_t opened = OpenDisputeOf(id)->opened_height;
  Play(id, honest_solver, accuser);
  Dispute d = *OpenDisputeOf(id);
  ASSERT_EQ(d.phase, DisputePhase::kReferee);
  EXPECT_EQ(d.lo_step, 2u);
  EXPECT_EQ(d.op_lo, 10u);
  ASSERT_TRUE(Submit(kReferee, Ruling(id, d, TraceRecordHash(ByteView(honest_solver.records[10])), false)).ok());
  uint64_t ruled = Seal();
  Job job = JobOf(id);
  EXPECT_EQ(job.status, JobStatus::kCommitted);
  EXPECT_EQ(job.challenge_end_height, end_before + (ruled - opened));
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 900u);  // Bond of 100 slashed.
  EXPECT_EQ(AccountOf(kSolver).balance, 10050u);     // Half of it.
  // The loser may not dispute the job again; others may still judge it, and
  // the job settles and pays the solver.
  EXPECT_EQ(Submit(kVerifier, OpenOn(id, 1, Tagged("again", 16))).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(Submit(kVerifier2, VerdictOp{id, true, Hash256{}}).ok());
  RevealAfterWindow(id);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kSettled);
}

TEST_F(LedgerDispute, AgreeingTracesLeaveTheWholeStepToTheReferee) {
  Side solver = Solver(4, kRecords);  // Records all honest, states diverge: a lie about the state.
  Side honest = Honest(4);
  Hash256 id = OpenDispute(honest);
  Play(id, solver, honest);
  Dispute d = *OpenDisputeOf(id);
  ASSERT_EQ(d.phase, DisputePhase::kReferee);
  EXPECT_EQ(d.task, RefereeTask::kStep);
  EXPECT_EQ(d.lo_step, 3u);
  // The referee's state after the step is the challenger's.
  EXPECT_EQ(Submit(kReferee, Ruling(id, d, d.challenger_hi_hash, false)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Submit(kReferee, Ruling(id, d, d.challenger_hi_hash, true)).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kFailed);
}

TEST_F(LedgerDispute, ATraceThatIsAPrefixOfTheOtherLeavesTheStepToTheReferee) {
  Side solver = Solver(4, kRecords);
  solver.records.resize(20);  // Same first 20 operators, then it stops.
  Side honest = Honest(4);
  Hash256 id = OpenDispute(honest);
  Play(id, solver, honest);
  Dispute d = *OpenDisputeOf(id);
  ASSERT_EQ(d.phase, DisputePhase::kReferee);
  EXPECT_EQ(d.task, RefereeTask::kStep);
}

TEST_F(LedgerDispute, ASolverThatStopsAnsweringLosesByTimeout) {
  Side solver = Solver(5, 3);
  solver.silent = true;
  Side honest = Honest(5);
  Hash256 id = OpenDispute(honest);
  Play(id, solver, honest);
  Dispute d = *OpenDisputeOf(id);
  EXPECT_EQ(Submit(kOutsider, SettleOp{id}).code(), StatusCode::kFailedPrecondition);  // Round still open.
  SealUntil(d.deadline_height + 1);
  // Too late to move now.
  EXPECT_EQ(Submit(kSolver, MoveFor(d, Solver(5, 3))).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kFailed);
  Dispute done = *ledger_->GetDispute(id, 0).value();
  EXPECT_TRUE(done.solver_at_fault);
  EXPECT_NE(done.resolution.find("timeout: the solver"), std::string::npos) << done.resolution;
}

TEST_F(LedgerDispute, AChallengerThatStopsAnsweringLosesByTimeout) {
  Side solver = Solver(5, 3);
  Side honest = Honest(5);
  Hash256 id = OpenDispute(honest);
  honest.silent = true;
  Play(id, solver, honest);
  SealUntil(OpenDisputeOf(id)->deadline_height + 1);
  ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kCommitted);
  EXPECT_FALSE(ledger_->GetDispute(id, 0).value()->solver_at_fault);
  EXPECT_EQ(AccountOf(kVerifier).stake_free, 900u);
}

TEST_F(LedgerDispute, OnlyThePartiesMoveOnlyOnceAndOnlyInTheCurrentRound) {
  Side solver = Solver(5, 3);
  Side honest = Honest(5);
  Hash256 id = OpenDispute(honest);
  Dispute d = *OpenDisputeOf(id);
  ASSERT_EQ(d.phase, DisputePhase::kSteps);
  EXPECT_EQ(Submit(kVerifier2, MoveFor(d, honest)).code(), StatusCode::kPermissionDenied);
  PinpointMoveOp stale = MoveFor(d, solver);
  stale.position += 1;
  EXPECT_EQ(Submit(kSolver, stale).code(), StatusCode::kFailedPrecondition);
  stale = MoveFor(d, solver);
  stale.phase = static_cast<uint8_t>(DisputePhase::kTraceRoots);
  EXPECT_EQ(Submit(kSolver, stale).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Submit(kSolver, MoveFor(d, solver)).ok());
  EXPECT_EQ(Submit(kSolver, MoveFor(d, solver)).code(), StatusCode::kAlreadyExists);
  // The referee cannot rule before the game ends.
  EXPECT_EQ(Submit(kReferee, Ruling(id, d, Hash256{}, true)).code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerDispute, ProofsAndRecordsMustMatchWhatThePartyCommitted) {
  Side solver = Solver(2, 30);
  Side honest = Honest(2);
  Hash256 id = OpenDispute(honest);
  // Play up to the operator bisection.
  for (;;) {
    Dispute d = *OpenDisputeOf(id);
    if (d.phase == DisputePhase::kOps) break;
    ASSERT_TRUE(Submit(kSolver, MoveFor(d, solver)).ok());
    ASSERT_TRUE(Submit(kVerifier, MoveFor(d, honest)).ok());
    Seal();
  }
  Dispute d = *OpenDisputeOf(id);
  PinpointMoveOp forged = MoveFor(d, solver);
  forged.hash = MoveFor(d, honest).hash == forged.hash ? Tagged("x", 1) : MoveFor(d, honest).hash;
  if (forged.hash == MoveFor(d, solver).hash) forged.hash = Tagged("x", 2);
  EXPECT_EQ(Submit(kSolver, forged).code(), StatusCode::kInvalidArgument);  // Not under its root.
  // To the reveal, then a record that does not chain.
  for (;;) {
    d = *OpenDisputeOf(id);
    if (d.phase == DisputePhase::kRecords) break;
    ASSERT_TRUE(Submit(kSolver, MoveFor(d, solver)).ok());
    ASSERT_TRUE(Submit(kVerifier, MoveFor(d, honest)).ok());
    Seal();
  }
  PinpointMoveOp lie = MoveFor(d, solver);
  lie.record = honest.records[d.position];  // Claims the honest record after committing its own.
  EXPECT_EQ(Submit(kSolver, lie).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Submit(kSolver, MoveFor(d, solver)).ok());
}

TEST_F(LedgerDispute, OpeningNeedsProofsOfBothCheckpointsAndADifferentResult) {
  Hash256 id = CommittedJob(1);
  Seal();
  DisputeOpenOp op = OpenOn(id, 0, Tagged("mine", 8));
  DisputeOpenOp bad = op;
  bad.start_hash = Tagged("other", 0);
  EXPECT_EQ(Submit(kVerifier, bad).code(), StatusCode::kInvalidArgument);
  bad = op;
  bad.end_proof = op.start_proof;
  EXPECT_EQ(Submit(kVerifier, bad).code(), StatusCode::kInvalidArgument);
  bad = OpenOn(id, kCheckpoints - 1, Tagged("mine", 8));
  EXPECT_EQ(Submit(kVerifier, bad).code(), StatusCode::kInvalidArgument);  // No such segment.
  EXPECT_EQ(Submit(kSolver, op).code(), StatusCode::kFailedPrecondition);   // Not against itself.
  ASSERT_TRUE(Submit(kVerifier, op).ok());
  Seal();
  // One dispute at a time: a second challenger waits for the ruling.
  EXPECT_EQ(Submit(kVerifier2, OpenOn(id, 1, Tagged("mine", 16))).code(), StatusCode::kFailedPrecondition);
  // A plain reject verdict is no longer a thing: it must name its segment.
  EXPECT_EQ(Submit(kVerifier2, VerdictOp{id, false, Hash256{}}).code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerDispute, AnAgreeingEndStateDisputesTheSegmentsClaims) {
  Hash256 id = CommittedJob(1);
  Seal();
  // The replay ends where the solver's did: the false part is a signed claim.
  ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 1, CheckpointHash(2))).ok());
  Seal();
  Dispute d = *OpenDisputeOf(id);
  EXPECT_EQ(d.phase, DisputePhase::kReferee);
  EXPECT_EQ(d.task, RefereeTask::kSegment);
  ASSERT_TRUE(Submit(kReferee, Ruling(id, d, Hash256{}, true)).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kFailed);
}

TEST_F(LedgerDispute, StakeMustPredateTheCommitment) {
  Hash256 id = CommittedJob(1);
  Seal();
  // kVerifier2 tops up its stake after the commitment: it may not judge this job.
  ASSERT_TRUE(Submit(kVerifier2, StakeOp{10}).ok());
  Seal();
  Status s = Submit(kVerifier2, VerdictOp{id, true, Hash256{}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("predate"), std::string::npos) << s.ToString();
  EXPECT_EQ(Submit(kVerifier2, OpenOn(id, 0, Tagged("mine", 8))).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).ok());
}

TEST_F(LedgerDispute, AcceptsWaitForTheSelectionSeed) {
  Hash256 id = JobId(1);
  ASSERT_TRUE(Submit(kSubmitter, PostJobOp{id, 1000, 2000, 10, 10, Hash256{}}).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, ClaimOf(id)).ok());
  Seal();
  ASSERT_TRUE(Submit(kSolver, CommitCertificateOp{id, Hash256{}, CheckpointTree().root(), Hash256{}, kCheckpoints}).ok());
  uint64_t committed = Seal();
  EXPECT_TRUE(JobOf(id).selection_seed.IsZero());
  // Checked for the next block, whose start gives the seed: admitted.
  ASSERT_TRUE(Submit(kVerifier, VerdictOp{id, true, Hash256{}}).ok());
  Seal();
  Job job = JobOf(id);
  EXPECT_EQ(job.committed_height, committed);
  // The hash of the block that holds the commitment.
  EXPECT_EQ(job.selection_seed, ledger_->GetBlock(committed + 1).value().header.prev_hash);
  EXPECT_FALSE(job.selection_seed.IsZero());
}

TEST_F(LedgerDispute, OnlyDrawnVerifiersMayAcceptButAnyoneStakedMayDispute) {
  genesis_.params.verifier_sample_bps = 3000;
  // Twenty verifier accounts with stake from genesis.
  std::vector<crypto::KeyPair> verifiers;
  for (int i = 0; i < 20; ++i) {
    verifiers.push_back(TestKey(static_cast<uint8_t>(100 + i)));
    genesis_.allocations.push_back({verifiers.back().public_key(), 1000, 1000});
  }
  kv_.reset();
  Reopen();
  Hash256 id = CommittedJob(1);
  Seal();
  Job job = JobOf(id);
  int drawn = 0;
  for (const auto& key : verifiers) {
    bool selected = SelectedVerifier(job.selection_seed, id, key.public_key(), 3000);
    TxBody body{genesis_.chain_id, key.public_key(), ledger_->NextNonce(key.public_key()).value(),
                VerdictOp{id, true, Hash256{}}};
    Status s = sequencer_->Submit(SignTx(body, key));
    EXPECT_EQ(s.ok(), selected) << s.ToString();
    if (!selected) {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
    }
    drawn += selected ? 1 : 0;
  }
  EXPECT_GT(drawn, 0);
  EXPECT_LT(drawn, 20);
  // An undrawn verifier can still dispute.
  for (const auto& key : verifiers) {
    if (SelectedVerifier(job.selection_seed, id, key.public_key(), 3000)) continue;
    TxBody body{genesis_.chain_id, key.public_key(), ledger_->NextNonce(key.public_key()).value(),
                OpenOn(id, 0, Tagged("mine", 8))};
    EXPECT_TRUE(sequencer_->Submit(SignTx(body, key)).ok());
    break;
  }
}

TEST_F(LedgerDispute, SybilAcceptsCannotCrowdOutADispute) {
  std::vector<crypto::KeyPair> sybils;
  for (int i = 0; i < static_cast<int>(kVerdictsPerJobMax) + 4; ++i) {
    sybils.push_back(TestKey(static_cast<uint8_t>(150 + i)));
    genesis_.allocations.push_back({sybils.back().public_key(), 1000, 1000});
  }
  kv_.reset();
  Reopen();
  Hash256 id = CommittedJob(1);
  Seal();
  int accepted = 0;
  for (const auto& key : sybils) {
    TxBody body{genesis_.chain_id, key.public_key(), ledger_->NextNonce(key.public_key()).value(),
                VerdictOp{id, true, Hash256{}}};
    accepted += sequencer_->Submit(SignTx(body, key)).ok() ? 1 : 0;
  }
  EXPECT_EQ(accepted, static_cast<int>(kVerdictsPerJobMax));
  Seal();
  ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 0, Tagged("mine", 8))).ok());
  Seal();
  EXPECT_EQ(JobOf(id).status, JobStatus::kDisputed);
}

TEST_F(LedgerDispute, GenesisBoundsWindowsAndRequiresVerifierStake) {
  Genesis g = genesis_;
  g.params.challenge_window_blocks = kWindowBlocksMax + 1;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.unbonding_delay_blocks = UINT64_MAX;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.dispute_round_blocks = 0;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.verifier_stake_min = 0;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  g = genesis_;
  g.params.verifier_sample_bps = 10001;
  EXPECT_FALSE(ValidateGenesis(g).ok());
  EXPECT_TRUE(ValidateGenesis(genesis_).ok());
}

// Property: whatever a cheating party posts (lies at any round, a trace of
// any length, agreeing again after diverging, going silent), a party that
// answers with the truth wins when the referee recomputes the truth, and no
// unit is created or lost.
TEST_F(LedgerDispute, RandomGamesNeverPunishTheHonestParty) {
  const uint32_t base = ::testing::UnitTest::GetInstance()->random_seed();
  for (uint32_t trial = 0; trial < 120; ++trial) {
    const uint32_t seed = base * 1000 + trial;
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    kv_.reset();
    Reopen();
    const bool solver_honest = rng() % 2 == 0;
    // The truth: state hashes and the operator records of every step.
    auto truth_state = [](uint64_t t) { return t == 0 ? CheckpointHash(0) : Tagged("truth", t); };
    auto truth_records = [](uint64_t step) {
      std::vector<Bytes> r;
      for (uint64_t j = 0; j < kRecords; ++j) r.push_back(RecordBytes(("truth" + std::to_string(step)).c_str(), j));
      return r;
    };
    // The committed end is the truth if the solver is honest, a lie if not.
    Hash256 committed_end = CheckpointHash(1);
    auto honest_state = [&](uint64_t t) {
      if (t == kSegmentSteps && solver_honest) return committed_end;
      return truth_state(t);
    };
    // The liar answers truthfully before its divergence and at random after.
    const uint64_t diverge = 1 + rng() % kSegmentSteps;
    const int silent_round = rng() % 3 == 0 ? static_cast<int>(rng() % 12) : -1;
    auto liar_state = [&](uint64_t t) {
      if (t == 0) return CheckpointHash(0);
      if (t == kSegmentSteps) return solver_honest ? Tagged("lie", t) : committed_end;
      if (t < diverge || rng() % 4 == 0) return honest_state(t);
      return Tagged("lie", t * 1000 + rng() % 2);
    };
    auto liar_records = [&](uint64_t step) {
      std::vector<Bytes> r = truth_records(step);
      r.resize(1 + rng() % (kRecords + 10), RecordBytes("extra", 0));
      uint64_t from = rng() % (r.size() + 3);
      for (uint64_t j = from; j < r.size(); ++j) {
        if (rng() % 3) r[j] = RecordBytes("lie", j * 10 + rng() % 2);
      }
      return r;
    };

    Hash256 id = CommittedJob(1);
    Seal();
    Hash256 challenger_end = solver_honest ? liar_state(kSegmentSteps) : honest_state(kSegmentSteps);
    ASSERT_TRUE(Submit(kVerifier, OpenOn(id, 0, challenger_end)).ok());
    Seal();
    std::vector<Bytes> liar_trace;
    int round = 0;
    for (;;) {
      auto d = OpenDisputeOf(id);
      if (!d || d->phase == DisputePhase::kReferee) break;
      Side honest{honest_state, truth_records(d->lo_step), false};
      if (d->phase == DisputePhase::kTraceRoots) liar_trace = liar_records(d->lo_step);
      Side liar{liar_state, liar_trace, false};
      PinpointMoveOp hm = MoveFor(*d, honest);
      ASSERT_TRUE(Submit(solver_honest ? kSolver : kVerifier, hm).ok());
      if (round != silent_round) {
        // A liar's move may be invalid (a record past the end of its trace): skip it then.
        if (d->phase != DisputePhase::kRecords || d->position < liar.records.size()) {
          if (d->phase != DisputePhase::kOps || d->position <= liar.records.size()) {
            (void)Submit(solver_honest ? kVerifier : kSolver, MoveFor(*d, liar));
          }
        }
      }
      Seal();
      auto after = OpenDisputeOf(id);
      if (after && after->phase != DisputePhase::kReferee && after->deadline_height == d->deadline_height &&
          after->phase == d->phase && after->position == d->position) {
        // The liar did not move: let its deadline pass and settle.
        SealUntil(after->deadline_height + 1);
        ASSERT_TRUE(Submit(kOutsider, SettleOp{id}).ok());
        Seal();
        break;
      }
      ASSERT_LT(++round, 64);
    }
    auto d = OpenDisputeOf(id);
    if (d) {
      ASSERT_EQ(d->phase, DisputePhase::kReferee);
      // The referee recomputes the truth.
      Hash256 value = d->task == RefereeTask::kOperator
                          ? TraceRecordHash(ByteView(truth_records(d->lo_step)[d->op_lo]))
                          : honest_state(d->hi_step);
      bool solver_wrong = value != (d->task == RefereeTask::kOperator ? TraceRecordHash(ByteView(d->solver.record))
                                                                       : d->solver_hi_hash);
      ASSERT_TRUE(Submit(kReferee, Ruling(id, *d, value, solver_wrong)).ok());
      Seal();
    }
    Dispute done = *ledger_->GetDispute(id, 0).value();
    ASSERT_EQ(done.phase, DisputePhase::kResolved);
    EXPECT_EQ(done.solver_at_fault, !solver_honest) << done.resolution;
    EXPECT_EQ(JobOf(id).status, solver_honest ? JobStatus::kCommitted : JobStatus::kFailed);
    ExpectConserved();
  }
}

TEST_F(LedgerDispute, DisputeRecordsRoundTripAndRejectGarbage) {
  Side solver = Solver(5, 23);
  Side honest = Honest(5);
  Hash256 id = OpenDispute(honest);
  Play(id, solver, honest);
  Dispute d = *OpenDisputeOf(id);
  std::string bytes = EncodeDispute(d);
  auto back = DecodeDispute(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, d);
  EXPECT_FALSE(DecodeDispute(bytes + "x").ok());
  EXPECT_FALSE(DecodeDispute(bytes.substr(0, bytes.size() - 1)).ok());
}

}  // namespace
}  // namespace cairn::ledger::testing
