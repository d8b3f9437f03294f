// Forced errors on real nodes: every job is forced (forced_error_bps =
// 10000), so the honest solver plants a wrong checkpoint, an honest verifier
// catches it and disputes, the solver reveals, the referee replays the
// segment and confirms it, the catcher wins the jackpot share and the
// honest solver is still paid in full.
#include "network/network_fixture.h"

namespace cairn::testing {
namespace {

using ledger::JobStatus;

class ForcedErrorE2e : public NetworkFixture {
 protected:
  ForcedErrorE2e() {
    forced_error_bps_ = 10000;
    audited_segments_ = 64;  // The verifier answers for every segment: it must find the forced one.
  }

  // Stops the solver, the verifier and the host, and re-executes the job's
  // one ruling from the host's data directory: anyone can check the referee.
  void StopAndExpectTheAuditConfirmsTheRuling() {
    Stop("solver");
    Stop("verifier");
    Stop("host");
    ProcessResult audit = RunProcess({kCairn, "ledger", "audit", "--data", dir_ / "host/data", "--recompute"});
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
    EXPECT_NE(audit.out.find("1 re-executed: 1 confirmed"), std::string::npos) << audit.out;
  }
};

TEST_F(ForcedErrorE2e, ACaughtForcedErrorPaysTheCatcherAndTheHonestSolver) {
  StartNode("solver", "\"solver\"");
  StartNode("verifier", "\"verifier\"");
  const ledger::Account solver_before = AccountOf("solver"), verifier_before = AccountOf("verifier");
  Hash256 id = Submit(WriteJob("forced.toml", 1000), /*fee=*/10000, /*stake=*/2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled) << LogOf("solver") << LogOf("verifier") << LogOf("host");
  EXPECT_EQ(job.forced, ledger::ForcedError::kConfirmed);
  EXPECT_GE(job.forced_leaf, 1u);
  ASSERT_EQ(job.disputes, 1u);
  // The catcher: its bond back and 10% of the genesis jackpot of 100000.
  ledger::Account verifier = AccountOf("verifier");
  EXPECT_EQ(verifier.balance, verifier_before.balance + 10000);
  EXPECT_EQ(verifier.stake_free + verifier.stake_bonded, verifier_before.stake_free + verifier_before.stake_bonded);
  // The honest solver: the fee less the jackpot tax (nobody accepted), bond released.
  ledger::Account solver = AccountOf("solver");
  EXPECT_EQ(solver.balance, solver_before.balance + 9900);
  EXPECT_EQ(solver.stake_bonded, 0u);
  EXPECT_EQ(solver.stake_free, solver_before.stake_free);
  ProcessResult shown = RunProcess({kCairn, "dispute", "show", id.ToHex(), "--node", host_endpoint_});
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_NE(shown.out.find("forced error confirmed"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("the challenger caught it"), std::string::npos) << shown.out;
  StopAndExpectTheAuditConfirmsTheRuling();  // The referee's check, twin replays included.
}

// A lazy verifier (accepts without replaying) answers for every segment
// (audited_segments 64): its accept of the forced checkpoint is provably wrong.
TEST_F(ForcedErrorE2e, AWhistleblowerCatchesALazyAcceptOfAForcedErrorAndWinsItsBond) {
  StartNode("solver", "\"solver\"");
  StartNode("lazy", "\"verifier\"", "[verifier]\ncheat = \"lazy\"\n");
  StartNode("whistleblower", "\"whistleblower\"");
  const ledger::Account solver_before = AccountOf("solver"), lazy_before = AccountOf("lazy");
  const ledger::Account whistleblower_before = AccountOf("whistleblower");
  Hash256 id = Submit(WriteJob("lazy.toml", 1000), /*fee=*/10000, /*stake=*/2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled) << LogOf("whistleblower") << LogOf("lazy") << LogOf("host");
  EXPECT_EQ(job.forced, ledger::ForcedError::kConfirmed);
  for (const ledger::Vote& v : job.votes) EXPECT_FALSE(v.accept);  // The lazy accept is slashed, and stays so.
  // The whistleblower: 10% of the jackpot and the lazy verifier's bond of 100.
  EXPECT_EQ(AccountOf("whistleblower").balance, whistleblower_before.balance + 10000 + 100);
  ledger::Account lazy = AccountOf("lazy");
  EXPECT_EQ(lazy.stake_free + lazy.stake_bonded, lazy_before.stake_free + lazy_before.stake_bonded - 100);
  EXPECT_EQ(lazy.balance, lazy_before.balance);  // No fee share for it.
  EXPECT_EQ(AccountOf("solver").balance, solver_before.balance + 9900);
}

// Without a whistleblower the lazy accept is found after the window: the
// solver's reveal proves the forced checkpoint, the referee confirms it, and
// the bond goes to the jackpot.
TEST_F(ForcedErrorE2e, ALazyAcceptNobodyCaughtCostsItsBondAfterTheReveal) {
  StartNode("solver", "\"solver\"");
  StartNode("lazy", "\"verifier\"", "[verifier]\ncheat = \"lazy\"\n");
  const ledger::Account solver_before = AccountOf("solver"), lazy_before = AccountOf("lazy");
  Hash256 id = Submit(WriteJob("lazy-alone.toml", 1000), /*fee=*/10000, /*stake=*/2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled) << LogOf("solver") << LogOf("lazy") << LogOf("host");
  EXPECT_EQ(job.forced, ledger::ForcedError::kConfirmed);
  ASSERT_EQ(job.disputes, 1u);  // The ledger's own check, with no challenger.
  ledger::Account lazy = AccountOf("lazy");
  EXPECT_EQ(lazy.stake_free + lazy.stake_bonded, lazy_before.stake_free + lazy_before.stake_bonded - 100);
  EXPECT_EQ(lazy.balance, lazy_before.balance);
  EXPECT_EQ(AccountOf("solver").balance, solver_before.balance + 9900);
}

// A solver knows its forced checkpoint at claim, so it could skimp on the
// segments beside it and excuse them with the reveal. solver.cheat =
// mask-forced commits checkpoint L wrong beyond the forced bit: the referee's
// check replays through the honest twin (the forced bit flipped back), finds
// it wrong, and rules the reveal a mask. The catcher is paid as for any
// cheat, the submitter refunded, and the audit re-executes the ruling.
TEST_F(ForcedErrorE2e, AFakeHiddenBehindTheForcedCheckpointFailsTheJob) {
  StartNode("solver", "\"solver\"", "[solver]\ncheat = \"mask-forced\"\n");
  StartNode("verifier", "\"verifier\"");
  const ledger::Account solver_before = AccountOf("solver"), verifier_before = AccountOf("verifier");
  const uint64_t submitter_before = host_->GetAccount(submitter_).value().balance;
  Hash256 id = Submit(WriteJob("masked.toml", 1000), /*fee=*/10000, /*stake=*/2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "the ruling");
  ASSERT_EQ(job.status, JobStatus::kFailed) << LogOf("solver") << LogOf("verifier") << LogOf("host");
  EXPECT_EQ(job.forced, ledger::ForcedError::kMasked);
  ledger::Account solver = AccountOf("solver");
  EXPECT_EQ(solver.stake_free + solver.stake_bonded, solver_before.stake_free + solver_before.stake_bonded - 2000);
  EXPECT_EQ(solver.balance, solver_before.balance);
  ledger::Account verifier = AccountOf("verifier");
  EXPECT_EQ(verifier.balance, verifier_before.balance + 1000);  // Half the slashed bond.
  EXPECT_EQ(verifier.stake_free + verifier.stake_bonded, verifier_before.stake_free + verifier_before.stake_bonded);
  EXPECT_EQ(host_->GetAccount(submitter_).value().balance, submitter_before);  // Fee refunded.
  ProcessResult shown = RunProcess({kCairn, "dispute", "show", id.ToHex(), "--node", host_endpoint_});
  EXPECT_NE(shown.out.find("masking a real one"), std::string::npos) << shown.out;
  StopAndExpectTheAuditConfirmsTheRuling();
}

}  // namespace
}  // namespace cairn::testing
