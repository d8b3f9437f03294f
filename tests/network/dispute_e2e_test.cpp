// Disputes end to end beyond what nodes do by themselves: an operator plays
// the pinpoint game by hand (`cairn dispute open|answer`) against a cheating
// solver node, and `cairn ledger audit --recompute` re-executes the
// referee's rulings from the ledger host's data directory: it confirms an
// honest referee and contradicts one that lies (the test cheat
// referee.cheat = "rule-for-solver").
#include <cstdio>
#include <filesystem>
#include <thread>

#include "network_fixture.h"

namespace cairn::testing {
namespace {

using ledger::JobStatus;

class DisputeE2e : public NetworkFixture {
 protected:
  DisputeE2e() {
    challenge_window_blocks_ = 600;  // 120 s: room to open a dispute by hand.
    genesis_params_extra_ = "dispute_round_blocks = 150\n";  // 30 s a round for a CLI answer.
  }

  ProcessResult Cairn(std::vector<std::string> args) {
    args.insert(args.begin(), kCairn);
    args.insert(args.end(), {"--node", host_endpoint_});
    return RunProcess(args);
  }

  ledger::Dispute LatestDispute(const Hash256& id) {
    ledger::Job job = host_->GetJob(id).value();
    EXPECT_GT(job.disputes, 0u);
    return host_->GetDispute(id, job.disputes - 1).value();
  }

  ProcessResult Audit(bool recompute) {
    std::vector<std::string> args = {kCairn, "ledger", "audit", "--data", dir_ / "host/data"};
    if (recompute) args.push_back("--recompute");
    ProcessResult r = RunProcess(args);
    std::printf("[ audit%s ] exit %d\n%s", recompute ? " --recompute" : "", r.exit_code, r.out.c_str());
    return r;
  }
};

TEST_F(DisputeE2e, AnOperatorDisputesByHandAndTheAuditConfirmsTheRuling) {
  StartNode("solver", "\"solver\"", "[solver]\ncheat = \"fake-segment\"\n");  // Fakes segment 1 of 10.
  // The challenger is a key at the CLI, funded and staked before the commitment.
  const std::string key = dir_ / "keys/challenger.key";
  const std::string data = dir_ / "challenger";
  ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", key}).exit_code, 0);
  ASSERT_EQ(Cairn({"faucet", "100000", "--key", key}).exit_code, 0);
  ASSERT_EQ(Cairn({"stake", "add", "5000", "--key", key}).exit_code, 0);
  const crypto::PublicKey challenger = crypto::ReadKeyFile(key).value().public_key();
  const uint64_t balance_before = host_->GetAccount(challenger).value().balance;

  Hash256 id = Submit(WriteJob("by-hand.toml", 1000), 10000, 2000);
  const std::string job = id.ToHex();
  ProcessResult early = Cairn({"dispute", "answer", job, "--data", data, "--key", key});
  EXPECT_NE(early.exit_code, 0);
  WaitFor(id, [](const ledger::Job& j) { return j.status == JobStatus::kCommitted; }, 240, "the certificate");
  ProcessResult no_dispute = Cairn({"dispute", "answer", job, "--data", data, "--key", key});
  EXPECT_EQ(no_dispute.exit_code, 1);
  EXPECT_NE(no_dispute.err.find("has no dispute to answer"), std::string::npos) << no_dispute.err;

  // Segment 0 is honest: its replay agrees, and opening would lose the bond.
  ProcessResult honest = Cairn({"dispute", "open", job, "--segment", "0", "--data", data, "--key", key});
  EXPECT_EQ(honest.exit_code, 1) << honest.out << honest.err;
  EXPECT_NE(honest.err.find("would lose your bond"), std::string::npos) << honest.err;
  EXPECT_EQ(host_->GetJob(id).value().status, JobStatus::kCommitted);
  EXPECT_EQ(host_->GetAccount(challenger).value().nonce, 2u);  // Faucet and stake: nothing more was sent.

  ProcessResult opened = Cairn({"dispute", "open", job, "--segment", "1", "--data", data, "--key", key});
  ASSERT_EQ(opened.exit_code, 0) << opened.out << opened.err;
  EXPECT_NE(opened.out.find("opened a dispute on segment 1"), std::string::npos) << opened.out;
  ASSERT_EQ(LatestDispute(id).challenger, challenger);

  ProcessResult outsider = Cairn({"dispute", "answer", job, "--data", data, "--key", dir_ / "keys/submitter.key"});
  EXPECT_EQ(outsider.exit_code, 2);  // A wrong key is an input error.
  EXPECT_NE(outsider.err.find("is not a party"), std::string::npos) << outsider.err;

  // The solver's node answers by itself; the challenger answers every round by hand.
  int answers = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(400);
  while (std::chrono::steady_clock::now() < deadline) {
    ledger::Dispute d = LatestDispute(id);
    if (d.phase == ledger::DisputePhase::kResolved) break;
    if (d.phase != ledger::DisputePhase::kReferee && !d.challenger_claim.moved) {
      ProcessResult answer = Cairn({"dispute", "answer", job, "--data", data, "--key", key});
      ASSERT_EQ(answer.exit_code, 0) << "round " << ledger::DisputePhaseName(d.phase) << " at " << d.position << "\n"
                                     << answer.out << answer.err << LogOf("host");
      EXPECT_NE(answer.out.find("as the challenger"), std::string::npos) << answer.out;
      ++answers;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ledger::Dispute d = LatestDispute(id);
  ASSERT_EQ(d.phase, ledger::DisputePhase::kResolved) << LogOf("host") << LogOf("solver");
  EXPECT_TRUE(d.solver_at_fault) << d.resolution;
  EXPECT_NE(d.resolution.find("ruling:"), std::string::npos) << d.resolution;
  EXPECT_GE(answers, 7);  // log2(100) step rounds at least, then the operator rounds.
  EXPECT_EQ(host_->GetJob(id).value().status, JobStatus::kFailed);
  EXPECT_EQ(host_->GetAccount(challenger).value().balance, balance_before + 1000);  // Half the slashed bond.

  Stop("solver");
  Stop("host");
  ProcessResult audit = Audit(/*recompute=*/true);
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("CONFIRMED"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("1 re-executed: 1 confirmed, 0 contradicted, 0 uncheckable"), std::string::npos)
      << audit.out;

  // Without the referee's copy of the evidence, and offline, the audit says
  // what it lacks instead of passing.
  std::filesystem::rename(dir_ / "host/data/referee", dir_ / "referee-moved");
  std::filesystem::rename(dir_ / "host/data/blobs", dir_ / "blobs-moved");
  ProcessResult bare = Audit(/*recompute=*/true);
  EXPECT_EQ(bare.exit_code, 3) << bare.out << bare.err;
  EXPECT_NE(bare.out.find("UNCHECKABLE"), std::string::npos) << bare.out;
  EXPECT_NE(bare.err.find("INCOMPLETE"), std::string::npos) << bare.err;
}

class LyingRefereeE2e : public DisputeE2e {
 protected:
  LyingRefereeE2e() { host_extra_ = "[referee]\ncheat = \"rule-for-solver\"\n"; }
};

TEST_F(LyingRefereeE2e, TheAuditContradictsARulingForTheCheatingSolver) {
  StartNode("solver", "\"solver\"", "[solver]\ncheat = \"fake-segment\"\n");
  StartNode("verifier", "\"verifier\"");
  Hash256 id = Submit(WriteJob("lying-referee.toml", 1000), 10000, 2000);
  WaitFor(
      id, [&](const ledger::Job& j) {
        if (j.disputes == 0) return false;
        auto d = host_->GetDispute(id, 0);
        return d.ok() && d->phase == ledger::DisputePhase::kResolved;
      },
      400, "the ruling");
  ledger::Dispute d = host_->GetDispute(id, 0).value();
  ASSERT_NE(d.resolution.find("ruling:"), std::string::npos) << d.resolution;
  EXPECT_FALSE(d.solver_at_fault);  // The lie, which the ledger cannot tell.
  Stop("solver");
  Stop("verifier");
  Stop("host");
  ProcessResult plain = Audit(/*recompute=*/false);
  EXPECT_EQ(plain.exit_code, 0) << plain.out << plain.err;  // The chain itself is consistent.
  ProcessResult audit = Audit(/*recompute=*/true);
  EXPECT_EQ(audit.exit_code, 1) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("CONTRADICTED: the referee ruled falsely; the ruling wronged the challenger " +
                           nodes_.at("verifier").id.ToHex()),
            std::string::npos)
      << audit.out;
  EXPECT_NE(audit.err.find("ledger audit FAILED"), std::string::npos) << audit.err;
}

}  // namespace
}  // namespace cairn::testing
