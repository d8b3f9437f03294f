// The network end to end: real `cairn node` processes on 127.0.0.1 (a
// ledger host that is also the referee, solvers, verifiers), a submitter at
// the CLI, real training and replay in sandboxed workers. Each test drives
// one job through its life and checks who was paid.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "network_fixture.h"
#include "proof/certificate.h"

namespace cairn::testing {
namespace {

using ledger::JobStatus;


class NetworkE2e : public NetworkFixture {};

TEST_F(NetworkE2e, AnHonestJobSettlesAndPaysSolverAndVerifier) {
  StartNode("solver", "\"solver\"");
  StartNode("verifier", "\"verifier\"");
  const ledger::Account solver_before = AccountOf("solver"), verifier_before = AccountOf("verifier");
  const ledger::Account submitter_before = SubmitterAccount();
  Hash256 id = Submit(WriteJob("honest.toml", 1000), /*fee=*/10000, /*stake=*/2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 240, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled);
  ASSERT_EQ(job.votes.size(), 1u);
  EXPECT_TRUE(job.votes[0].accept);
  // Fee 10000: 1% to the jackpot, 10% to the accepting verifier, the rest to the solver.
  EXPECT_EQ(SubmitterAccount().balance, submitter_before.balance - 10000);
  EXPECT_EQ(AccountOf("solver").balance, solver_before.balance + 8900);
  EXPECT_EQ(AccountOf("verifier").balance, verifier_before.balance + 1000);
  EXPECT_EQ(AccountOf("solver").stake_bonded, 0u);
  EXPECT_EQ(AccountOf("verifier").stake_bonded, 0u);

  // The submitter takes the model home, checked against the ledger.
  ProcessResult fetched = RunProcess({kCairn, "job", "fetch", id.ToHex(), "--node", host_endpoint_, "--out", dir_ / "model"});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.out << fetched.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "model/model.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "model/state_dict.pt"));
  ProcessResult status = RunProcess({kCairn, "job", "status", id.ToHex(), "--node", host_endpoint_});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("settled"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("ACCEPT"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("replay     exact"), std::string::npos) << status.out;  // The spec's mode, on the ledger.
  Stop("solver");
  Stop("verifier");
  Stop("host");
  ProcessResult audit = RunProcess({kCairn, "ledger", "audit", "--data", dir_ / "host/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

TEST_F(NetworkE2e, ACheatingSolverIsRejectedSlashedAndTheSubmitterRefunded) {
  StartNode("solver", "\"solver\"", "[solver]\ncheat = \"fake-segment\"\n");
  StartNode("verifier", "\"verifier\"");
  const ledger::Account solver_before = AccountOf("solver"), verifier_before = AccountOf("verifier");
  const ledger::Account submitter_before = SubmitterAccount();
  Hash256 id = Submit(WriteJob("cheat.toml", 1000), 10000, 2000);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 240, "the ruling");
  ASSERT_EQ(job.status, JobStatus::kFailed);
  ASSERT_FALSE(job.votes.empty());
  EXPECT_FALSE(job.votes.back().accept);
  EXPECT_EQ(SubmitterAccount().balance, submitter_before.balance);  // Refunded.
  ledger::Account solver = AccountOf("solver");
  EXPECT_EQ(solver.stake_free + solver.stake_bonded, solver_before.stake_free - 2000);  // Bond slashed.
  EXPECT_EQ(solver.balance, solver_before.balance);
  // Half the slashed bond rewards the challenger (challenger_reward_bps = 5000).
  EXPECT_EQ(AccountOf("verifier").balance, verifier_before.balance + 1000);
  // It was decided by the pinpoint game, which anyone can read back: the
  // bisection narrowed to one step of the faked segment (1) and the referee
  // recomputed what was left of it.
  ASSERT_EQ(job.disputes, 1u);
  ProcessResult shown = RunProcess({kCairn, "dispute", "show", id.ToHex(), "--node", host_endpoint_});
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_NE(shown.out.find("on segment 1"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("the solver lost"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("ruling: the referee recomputed"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("bisecting steps"), std::string::npos) << shown.out;  // The transcript.
  ProcessResult listed = RunProcess({kCairn, "dispute", "list", "--node", host_endpoint_});
  EXPECT_NE(listed.out.find("solver at fault"), std::string::npos) << listed.out;
}

TEST_F(NetworkE2e, ASolverKilledMidTrainingResumesToTheSameCertificate) {
  StartNode("solver", "\"solver\"");
  StartNode("verifier", "\"verifier\"");
  const std::string job_file = WriteJob("resume.toml", 6000);
  Hash256 id = Submit(job_file);
  const std::string journal = dir_ / ("solver/data/solver/jobs/" + id.ToHex() + "/journal");
  for (int i = 0; i < 1200 && !std::filesystem::exists(journal); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(journal)) << LogOf("solver");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ledger::Job mid = host_->GetJob(id).value();
  ASSERT_EQ(mid.status, JobStatus::kClaimed) << "the job finished before the kill; make it longer";
  Kill("solver", SIGKILL);
  Restart("solver");
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled);
  // The same certificate an uninterrupted `cairn train` with the same key makes.
  ProcessResult local = RunProcess({kCairn, "train", job_file, "--data", dir_ / "local", "--key", dir_ / "keys/solver.key"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  std::ifstream in(dir_ / ("local/jobs/" + id.ToHex() + "/certificate.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto cert = proof::DecodeCertificate(ByteView(std::string_view(bytes)));
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(proof::CertificateHash(*cert), job.certificate_hash);
}

TEST_F(NetworkE2e, AVerifierRestartedMidCheckFinishes) {
  StartNode("solver", "\"solver\"");
  StartNode("verifier", "\"verifier\"");
  Hash256 id = Submit(WriteJob("verifier.toml", 2000));
  WaitFor(id, [](const ledger::Job& j) { return j.status == JobStatus::kCommitted; }, 240, "the certificate");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // Fetching or replaying now.
  Kill("verifier", SIGKILL);
  Restart("verifier");
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 240, "settlement");
  ASSERT_EQ(job.status, JobStatus::kSettled);
  ASSERT_EQ(job.votes.size(), 1u);
  EXPECT_EQ(job.votes[0].verifier, nodes_.at("verifier").id);
  EXPECT_TRUE(job.votes[0].accept);
}

TEST_F(NetworkE2e, ALedgerHostRestartedMidJobLosesNothing) {
  StartNode("solver", "\"solver\"");
  StartNode("verifier", "\"verifier\"");
  Hash256 id = Submit(WriteJob("host.toml", 3000));
  WaitFor(id, [](const ledger::Job& j) { return j.status == JobStatus::kClaimed; }, 60, "the claim");
  const uint64_t height = host_->GetHead().value().height;
  Kill("host", SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // Followers see it gone; the solver keeps training.
  Restart("host");
  // This test's channel to the host may still be in its reconnect backoff
  // (up to 2 s), where a call fails at once: wait until the host answers.
  WaitFor(id, [](const ledger::Job&) { return true; }, 30, "the restarted host to answer");
  auto head = host_->GetHead();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_GE(head->height, height);
  ledger::Job job = WaitFor(id, [](const ledger::Job& j) { return ledger::IsFinal(j.status); }, 300, "settlement");
  EXPECT_EQ(job.status, JobStatus::kSettled);
  Stop("solver");
  Stop("verifier");
  Stop("host");
  ProcessResult audit = RunProcess({kCairn, "ledger", "audit", "--data", dir_ / "host/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

TEST_F(NetworkE2e, CommandsSayWhatIsWrong) {
  ProcessResult unknown = RunProcess({kCairn, "job", "status", std::string(64, 'a'), "--node", host_endpoint_});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no job"), std::string::npos) << unknown.err;
  ProcessResult nobody = RunProcess({kCairn, "job", "list", "--node", "127.0.0.1:1"});
  EXPECT_NE(nobody.exit_code, 0);
  EXPECT_NE(nobody.err.find("no answer"), std::string::npos) << nobody.err;
  ProcessResult bad_id = RunProcess({kCairn, "job", "status", "xyz", "--node", host_endpoint_});
  EXPECT_EQ(bad_id.exit_code, 2);
  // A key with no funds cannot stake.
  ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir_ / "keys/poor.key"}).exit_code, 0);
  ProcessResult poor = RunProcess({kCairn, "stake", "add", "10", "--node", host_endpoint_, "--key", dir_ / "keys/poor.key"});
  EXPECT_NE(poor.exit_code, 0);
  EXPECT_NE(poor.err.find("insufficient balance"), std::string::npos) << poor.err;
}

}  // namespace
}  // namespace cairn::testing
