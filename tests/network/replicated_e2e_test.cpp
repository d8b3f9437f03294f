// Replicated jobs on real nodes: two solvers train the same job, one fakes a
// segment. With no verifier at all, the honest solver notices its sibling's
// checkpoints differ from its own, disputes the first segment where they
// part, and wins: the honest replica settles and pays, the cheater's fails
// and its bond is slashed, as long as one solver is honest.
#include "network_fixture.h"

namespace cairn::testing {
namespace {

using ledger::JobStatus;

class ReplicatedE2e : public NetworkFixture {};

TEST_F(ReplicatedE2e, TheHonestReplicaIsPaidAndTheCheatingOneSlashedWithoutVerifiers) {
  StartNode("honest", "\"solver\"");
  StartNode("cheater", "\"solver\"", "[solver]\ncheat = \"fake-segment\"\n");
  const ledger::Account honest_before = AccountOf("honest"), cheater_before = AccountOf("cheater");
  std::string job_file = WriteJob("replicated.toml", 1000);
  ProcessResult r = RunProcess({kCairn, "job", "submit", job_file, "--fee", "10000", "--stake", "2000", "--replicas", "2",
                                "--node", host_endpoint_, "--key", dir_ / "keys/submitter.key"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_NE(r.out.find("replica 1: job "), std::string::npos) << r.out;
  Hash256 group = Hash256::FromHex(r.out.substr(r.out.find("posted job ") + 11, 64)).value();
  auto final = [](const ledger::Job& j) { return ledger::IsFinal(j.status); };
  ledger::Job a = WaitFor(ledger::ReplicaJobId(group, 0), final, 400, "replica 0 final");
  ledger::Job b = WaitFor(ledger::ReplicaJobId(group, 1), final, 400, "replica 1 final");
  const ledger::AccountId honest = nodes_["honest"].id;
  const ledger::Job& honest_job = a.solver == honest ? a : b;
  const ledger::Job& cheater_job = a.solver == honest ? b : a;
  ASSERT_EQ(honest_job.solver, honest);
  EXPECT_EQ(honest_job.status, JobStatus::kSettled) << LogOf("honest") << LogOf("cheater");
  EXPECT_EQ(cheater_job.status, JobStatus::kFailed) << LogOf("honest") << LogOf("cheater");
  ASSERT_GE(cheater_job.disputes, 1u);
  ledger::Account h = AccountOf("honest"), c = AccountOf("cheater");
  // The honest solver: its fee less the jackpot tax, and half the cheater's bond.
  EXPECT_EQ(h.balance, honest_before.balance + 9900 + 1000);
  EXPECT_EQ(h.stake_free + h.stake_bonded, honest_before.stake_free + honest_before.stake_bonded);
  // The cheater: its solver bond gone, and the dispute it opened against the
  // honest replica lost too (if it got to open one).
  EXPECT_LE(c.stake_free + c.stake_bonded, cheater_before.stake_free + cheater_before.stake_bonded - 2000);
  EXPECT_EQ(c.stake_bonded, 0u);
}

}  // namespace
}  // namespace cairn::testing
