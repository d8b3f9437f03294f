#include "cli/ledger_demo.h"

#include <chrono>
#include <optional>
#include <cstdio>
#include <filesystem>

#include "cli/app.h"
#include "cli/job_loading.h"
#include "cli/progress.h"
#include "train/train.h"
#include "config/genesis_config.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "ledger/audit.h"
#include "ledger/forced_error.h"
#include "ledger/sequencer.h"
#include "store/rocksdb_store.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

struct Party {
  std::string name;
  crypto::KeyPair key;
};

// Drives the sequencer like a set of users would.
class Demo {
 public:
  Demo(ledger::Ledger* ledger, ledger::Sequencer* sequencer) : ledger_(ledger), sequencer_(sequencer) {}

  ledger::SignedTx Make(const Party& who, ledger::Operation op) {
    ledger::TxBody body;
    body.chain_id = ledger_->genesis().chain_id;
    body.sender = who.key.public_key();
    body.nonce = ledger_->NextNonce(body.sender).value();
    body.op = std::move(op);
    return ledger::SignTx(std::move(body), who.key);
  }

  bool Submit(const Party& who, ledger::Operation op) {
    const char* name = ledger::OperationName(op);
    Status s = sequencer_->Submit(Make(who, std::move(op)));
    if (!s.ok()) {
      std::printf("  %-9s %-19s REJECTED: %s\n", who.name.c_str(), name, s.message().c_str());
      return false;
    }
    std::printf("  %-9s %-19s accepted\n", who.name.c_str(), name);
    return true;
  }

  // Shows that a bad transaction is refused and changes nothing.
  void ExpectRejected(const char* what, const ledger::SignedTx& tx) {
    Status s = sequencer_->Submit(tx);
    std::printf("  %-29s %s\n", what, s.ok() ? "ACCEPTED (unexpected!)" : ("rejected: " + s.message()).c_str());
    if (s.ok()) failures_++;
  }

  Status Seal() {
    auto produced = sequencer_->ProduceBlock(NowMs());
    if (!produced.ok()) return produced.status();
    if (*produced) {
      const auto& h = (*produced)->block.header;
      std::printf("block %llu: %u txs, state root %s\n", static_cast<unsigned long long>(h.height), h.tx_count,
                  h.state_root.ToHex().substr(0, 16).c_str());
    }
    return Status::Ok();
  }

  // Empty blocks are never produced; a demo "waits" by having the faucet drip.
  Status WaitBlocks(const Party& someone, uint64_t blocks) {
    for (uint64_t i = 0; i < blocks; ++i) {
      // A refused drip only means this block is empty of it; Seal copes.
      (void)sequencer_->Submit(Make(someone, ledger::FaucetOp{1}));
      CAIRN_RETURN_IF_ERROR(Seal());
    }
    return Status::Ok();
  }

  void PrintAccount(const Party& p) {
    auto a = ledger_->GetAccount(p.key.public_key());
    if (!a.ok()) return;
    std::printf("  %-9s balance %10llu  stake free %8llu  bonded %8llu  unbonding %6llu\n", p.name.c_str(),
                static_cast<unsigned long long>(a->balance), static_cast<unsigned long long>(a->stake_free),
                static_cast<unsigned long long>(a->stake_bonded), static_cast<unsigned long long>(a->unbonding));
  }

  void PrintJob(const Hash256& id) {
    auto job = ledger_->GetJob(id);
    if (job.ok() && *job) {
      std::printf("  job %s: %s\n", id.ToHex().substr(0, 16).c_str(), ledger::JobStatusName((*job)->status));
    }
  }

  int failures() const { return failures_; }

 private:
  ledger::Ledger* ledger_;
  ledger::Sequencer* sequencer_;
  int failures_ = 0;
};

// The honest job's off-ledger work: the solver trains it for real and the
// verifier replays a sample, or (without a job file) stand-in hashes.
struct OffLedgerWork {
  Hash256 job_id;
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
  Hash256 final_model_hash;
  uint64_t checkpoint_count = 2;
  bool verifier_accepts = true;
  Hash256 report_hash;
};

Result<OffLedgerWork> TrainAndVerify(const DemoOptions& options, const LoadedJob& job, const Party& solver,
                                     const Party& verifier) {
  OffLedgerWork work;
  work.job_id = job::JobId(job.spec);
  train::TrainOptions train_options;
  train_options.work_dir = options.data_dir + "/solver";
  train_options.solver_key = &solver.key;
  ProgressReporter progress("  solver trains");
  train_options.on_progress = [&](const train::Progress& p) { progress.Update(p); };
  train_options.evaluation = job.evaluation ? &*job.evaluation : nullptr;
  CAIRN_ASSIGN_OR_RETURN(auto trained, train::TrainJob(job.spec, job.dataset, train_options));
  std::printf("  solver    trained %llu steps in %.1f s, final loss %.4f, %zu checkpoints\n",
              static_cast<unsigned long long>(trained.certificate.total_steps), trained.seconds, trained.final_loss,
              trained.certificate.checkpoint_hashes.size());
  work.certificate_hash = proof::CertificateHash(trained.certificate);
  work.checkpoint_root = trained.certificate.checkpoint_root;
  work.checkpoint_count = trained.certificate.checkpoint_hashes.size();
  work.final_model_hash = trained.certificate.final_model_hash;

  train::VerifyOptions verify_options;
  verify_options.checkpoint_dir = train_options.work_dir + "/checkpoints";
  verify_options.verifier_key = &verifier.key;
  verify_options.expected_solver = solver.key.public_key();
  verify_options.evaluation = job.evaluation ? &*job.evaluation : nullptr;
  CAIRN_ASSIGN_OR_RETURN(auto report, train::VerifyJob(job.spec, job.dataset, trained.certificate, verify_options));
  std::printf("  verifier  replayed %zu sampled segments (%llu of %llu steps) in %.1f s: %s\n", report.checks.size(),
              static_cast<unsigned long long>(report.steps_replayed),
              static_cast<unsigned long long>(trained.certificate.total_steps), report.seconds,
              report.accepted ? "all match" : report.reason.c_str());
  work.verifier_accepts = report.accepted;
  std::string summary = work.certificate_hash.ToHex() + (report.accepted ? " accept" : " reject: " + report.reason);
  work.report_hash = crypto::TaggedHash("cairn/verifier-report/v1", ByteView(std::string_view(summary)));
  return work;
}

Status RunScenario(const DemoOptions& options, ledger::Ledger* ledger, ledger::Sequencer* sequencer,
                   const std::vector<Party*>& parties, int* failures) {
  Party& submitter = *parties[0];
  Party& solver = *parties[1];
  Party& verifier = *parties[2];
  Party& honest_verifier = *parties[3];
  Party& referee = *parties[4];
  Demo demo(ledger, sequencer);

  std::printf("\n== 1. operators fund and stake\n");
  demo.Submit(solver, ledger::FaucetOp{5000});
  demo.Submit(verifier, ledger::FaucetOp{2000});
  demo.Submit(honest_verifier, ledger::FaucetOp{2000});
  demo.Submit(solver, ledger::StakeOp{4000});
  demo.Submit(verifier, ledger::StakeOp{1000});
  demo.Submit(honest_verifier, ledger::StakeOp{1000});
  CAIRN_RETURN_IF_ERROR(demo.Seal());

  std::printf("\n== 2. bad transactions are refused and change nothing\n");
  ledger::SignedTx replay = demo.Make(submitter, ledger::TransferOp{solver.key.public_key(), 10});
  CAIRN_RETURN_IF_ERROR(sequencer->Submit(replay));
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.ExpectRejected("replayed transfer:", replay);
  ledger::SignedTx forged = demo.Make(submitter, ledger::TransferOp{verifier.key.public_key(), 10});
  forged.body.op = ledger::TransferOp{verifier.key.public_key(), 1000};  // Amount changed after signing.
  demo.ExpectRejected("tampered amount:", forged);
  demo.ExpectRejected("overspend:", demo.Make(submitter, ledger::TransferOp{verifier.key.public_key(), 1ull << 40}));
  ledger::SignedTx ahead = demo.Make(submitter, ledger::StakeOp{1});
  ahead.body.nonce += 5;
  demo.ExpectRejected("nonce out of order:", ledger::SignTx(ahead.body, submitter.key));
  demo.ExpectRejected("unstake with no stake:", demo.Make(submitter, ledger::UnstakeOp{1}));

  std::printf("\n== 3. an honest job: post, claim, train, commit, verify, settle\n");
  std::optional<LoadedJob> real_job;
  Hash256 job1 = crypto::TaggedHash("cairn/demo-job", ByteView(std::string_view("stand-in job")));
  if (!options.job_file.empty()) {
    CAIRN_ASSIGN_OR_RETURN(real_job, LoadJob(options.job_file));
    job1 = job::JobId(real_job->spec);
    std::printf("  job %s from %s\n", job1.ToHex().substr(0, 16).c_str(), options.job_file.c_str());
  }
  demo.Submit(submitter, ledger::PostJobOp{job1, 1000, 2000, 50, 100, Hash256{}});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  // The solver commits to a secret that, with the next block's hash, draws
  // whether it must plant a forced error (this demo's genesis never does).
  const Hash256 secret1 = crypto::TaggedHash("cairn/demo-secret", ByteView(std::string_view("bits")));
  demo.Submit(solver, ledger::ClaimJobOp{job1, ledger::ForcedErrorCommitment(secret1, job1)});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  OffLedgerWork work;
  if (real_job) {
    CAIRN_ASSIGN_OR_RETURN(work, TrainAndVerify(options, *real_job, solver, honest_verifier));
  } else {
    std::printf("  (no --job: stand-in certificate hashes; pass --job configs/jobs/mlp.toml to train for real)\n");
    work.certificate_hash = crypto::Blake2b256(ByteView(std::string_view("cert")));
    work.checkpoint_root = crypto::Blake2b256(ByteView(std::string_view("ckpt root")));
    work.final_model_hash = crypto::Blake2b256(ByteView(std::string_view("model")));
    work.report_hash = crypto::Blake2b256(ByteView(std::string_view("report")));
  }
  demo.Submit(solver, ledger::CommitCertificateOp{job1, work.certificate_hash, work.checkpoint_root, work.final_model_hash,
                                                  work.checkpoint_count});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.Submit(honest_verifier, ledger::VerdictOp{job1, work.verifier_accepts, work.report_hash});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.PrintJob(job1);
  demo.ExpectRejected("settle inside the window:", demo.Make(submitter, ledger::SettleOp{job1}));
  CAIRN_RETURN_IF_ERROR(demo.WaitBlocks(referee, ledger->genesis().params.challenge_window_blocks));
  demo.ExpectRejected("settle before the solver's reveal:", demo.Make(submitter, ledger::SettleOp{job1}));
  demo.Submit(solver, ledger::RevealOp{job1, secret1, {}, {}, {}, {}});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.Submit(submitter, ledger::SettleOp{job1});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.PrintJob(job1);

  std::printf("\n== 4. a cheating solver: a verifier disputes, the solver cannot answer, its bond is slashed\n");
  Hash256 job2 = crypto::TaggedHash("cairn/demo-job", ByteView(std::string_view("cnn, 1200 steps")));
  demo.Submit(submitter, ledger::PostJobOp{job2, 800, 1500, 50, 100, Hash256{}});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  const Hash256 secret2 = crypto::TaggedHash("cairn/demo-secret", ByteView(std::string_view("more bits")));
  demo.Submit(solver, ledger::ClaimJobOp{job2, ledger::ForcedErrorCommitment(secret2, job2)});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  // Stand-in checkpoints 0..2 (two segments of 600 steps).
  std::vector<Hash256> checkpoints, leaves;
  for (const char* name : {"checkpoint 0", "checkpoint 1", "checkpoint 2"}) {
    checkpoints.push_back(crypto::TaggedHash("cairn/demo-checkpoint", ByteView(std::string_view(name))));
    leaves.push_back(crypto::MerkleLeafHash(ByteView(checkpoints.back().bytes)));
  }
  crypto::MerkleTree tree(leaves);
  demo.Submit(solver, ledger::CommitCertificateOp{job2, crypto::Blake2b256(ByteView(std::string_view("fake cert"))),
                                                  tree.root(), Hash256{}, checkpoints.size()});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  CAIRN_RETURN_IF_ERROR(demo.Seal());  // Verifiers are drawn at the block after the commitment.
  ledger::DisputeOpenOp open;
  open.job_id = job2;
  open.report_hash = crypto::Blake2b256(ByteView(std::string_view("segment 1 differs")));
  open.segment = 1;
  open.begin_step = 600;
  open.end_step = 1200;
  open.start_hash = checkpoints[1];
  open.start_proof = tree.Proof(1);
  open.end_hash = checkpoints[2];
  open.end_proof = tree.Proof(2);
  open.challenger_end_hash = crypto::TaggedHash("cairn/demo-checkpoint", ByteView(std::string_view("honest replay")));
  demo.Submit(verifier, open);
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.PrintJob(job2);
  demo.ExpectRejected("ruling before the game ends:", demo.Make(referee, ledger::RulingOp{job2, true, 0, {}, {}, {}}));
  // The challenger answers the first round (its state hash after step 900);
  // the solver, who faked the segment, does not.
  ledger::PinpointMoveOp move;
  move.job_id = job2;
  move.phase = static_cast<uint8_t>(ledger::DisputePhase::kSteps);
  move.position = 900;
  move.hash = crypto::TaggedHash("cairn/demo-checkpoint", ByteView(std::string_view("honest step 900")));
  demo.Submit(verifier, move);
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  std::printf("  the solver, who faked the segment, does not answer the bisection...\n");
  CAIRN_RETURN_IF_ERROR(demo.WaitBlocks(referee, ledger->genesis().params.dispute_round_blocks + 1));
  demo.Submit(submitter, ledger::SettleOp{job2});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.PrintJob(job2);

  std::printf("\n== 5. unstaking waits out the unbonding delay\n");
  demo.Submit(honest_verifier, ledger::UnstakeOp{500});
  CAIRN_RETURN_IF_ERROR(demo.Seal());
  demo.PrintAccount(honest_verifier);
  CAIRN_RETURN_IF_ERROR(demo.WaitBlocks(referee, ledger->genesis().params.unbonding_delay_blocks));
  demo.PrintAccount(honest_verifier);

  std::printf("\n== balances\n");
  for (Party* p : parties) demo.PrintAccount(*p);
  auto jackpot = ledger->GetJackpot();
  if (jackpot.ok()) std::printf("  jackpot   %llu\n", static_cast<unsigned long long>(*jackpot));
  *failures = demo.failures();
  return Status::Ok();
}

}  // namespace

int RunLedgerDemo(const DemoOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(options.data_dir, ec) && !fs::is_empty(options.data_dir, ec)) {
    if (!options.reset) {
      return ReportError(AlreadyExists(options.data_dir + " is not empty; pass --reset to start the demo over"));
    }
    fs::remove_all(options.data_dir, ec);
  }
  if (Status s = util::MakeDirs(options.data_dir + "/keys"); !s.ok()) return ReportError(s);

  std::vector<Party> parties;
  for (const char* name : {"submitter", "solver", "verifier", "verifier2", "referee", "sequencer"}) {
    parties.push_back(Party{name, crypto::KeyPair::Generate()});
    Status s = crypto::WriteKeyFile(options.data_dir + "/keys/" + name + ".key", parties.back().key, false);
    if (!s.ok()) return ReportError(s);
  }
  ledger::Genesis genesis;
  genesis.chain_id = "cairn-demo";
  genesis.genesis_time_ms = NowMs();
  genesis.sequencer = parties[5].key.public_key();
  genesis.referee = parties[4].key.public_key();
  genesis.params.unbonding_delay_blocks = 3;
  genesis.params.challenge_window_blocks = 3;
  genesis.params.dispute_round_blocks = 4;
  genesis.params.faucet_amount_max = 10000;
  genesis.params.verifier_stake_min = 100;
  genesis.params.forced_error_bps = 0;  // Forced errors are shown by `cairn devnet` (real training).
  genesis.params.reveal_window_blocks = 3;
  genesis.allocations.push_back({parties[0].key.public_key(), 10000, 0});
  std::string genesis_toml = config::GenesisToToml(genesis);
  if (Status s = util::WriteFileAtomic(options.data_dir + "/genesis.toml", ByteView(genesis_toml)); !s.ok()) {
    return ReportError(s);
  }

  auto kv = store::RocksDbStore::Open(options.data_dir + "/ledger", ledger::LedgerColumnFamilies());
  if (!kv.ok()) return ReportError(kv.status());
  auto ledger = ledger::Ledger::Open(kv->get(), &genesis);
  if (!ledger.ok()) return ReportError(ledger.status());
  ledger::Sequencer sequencer(ledger->get(), &parties[5].key);
  std::printf("cairn ledger demo: chain '%s', data in %s\n", genesis.chain_id.c_str(), options.data_dir.c_str());

  std::vector<Party*> cast;
  for (auto& p : parties) cast.push_back(&p);
  int failures = 0;
  Status s = RunScenario(options, ledger->get(), &sequencer, cast, &failures);
  if (!s.ok()) return ReportError(s);

  auto report = ledger::AuditLedger(**kv);
  if (!report.ok()) {
    std::fprintf(stderr, "cairn: ledger audit FAILED\n");
    ReportError(report.status());
    return kExitFailure;
  }
  std::printf("\nledger audit OK: %llu blocks replayed from genesis, every state root matches\n",
              static_cast<unsigned long long>(report->blocks));
  std::printf("check it yourself: cairn ledger audit --data %s\n", options.data_dir.c_str());
  return failures == 0 ? kExitOk : kExitFailure;
}

}  // namespace cairn::cli
