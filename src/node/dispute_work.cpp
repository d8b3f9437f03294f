// JobWork's part in disputes (docs/protocol.md, "Disputes"): each party's
// answer to a round of the pinpoint game and the referee's recomputation,
// both computed by node/dispute_replay.h and node/ruling.h from this node's
// own copy of the committed checkpoints.
#include <spdlog/spdlog.h>

#include "node/job_work.h"
#include "node/ruling.h"
#include "util/file.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

// The referee's evidence: the inputs blobs the parties uploaded to this
// node, and the certificate and checkpoints it fetched from the solver.
class RefereeEvidence final : public RulingEvidence {
 public:
  RefereeEvidence(const BlobStore& blobs, const DisputeReplay& replay) : blobs_(blobs), replay_(replay) {}
  Result<Bytes> OperatorInputs(const Hash256& hash) override {
    if (!blobs_.Stat(hash)) return NotFound("no blob " + Short(hash) + " was uploaded to the referee");
    return blobs_.ReadAll(hash, proof::kOpInputsBytesMax);
  }
  Result<const proof::Certificate*> Certificate() override { return &replay_.certificate(); }
  Result<const DisputeReplay*> Replay() override { return &replay_; }

 private:
  const BlobStore& blobs_;
  const DisputeReplay& replay_;
};

}  // namespace

JobWork::Holder JobWork::HolderOf(ledger::DisputeParty party) {
  return party == ledger::DisputeParty::kSolver ? Holder::kSolver : Holder::kChallenger;
}

std::string JobWork::DisputeDir(const Hash256& job_id, Holder who) const {
  // Where each keeps the job's committed checkpoints: the solver its own
  // store, a challenger what it fetched to verify, the referee its own.
  if (who == Holder::kSolver) return SolverDir() + "/checkpoints";
  return ctx_.config->data_dir + (who == Holder::kChallenger ? "/verifier/" : "/referee/") + job_id.ToHex() +
         "/checkpoints";
}

train::EngineOptions JobWork::EngineOptionsFor(const JobInputs& in, Holder who) const {
  train::EngineOptions options;
  options.worker = WorkerFor();
  if (who == Holder::kSolver) {
    // A cheating solver answers with the computation it committed to.
    train::CheatHooks cheat = CheatFor(in);
    if (cheat.any()) {
      options.worker.isolated = false;
      options.cheat = cheat;
    }
  }
  return options;
}

Result<Hash256> JobWork::UploadForReferee(const Bytes& blob) {
  CAIRN_ASSIGN_OR_RETURN(Hash256 hash, ctx_.blobs->Put(blob));
  if (!ctx_.ledger_host.empty()) {
    CAIRN_RETURN_IF_ERROR(ctx_.peers->PutBlob(ctx_.ledger_host, ByteView(blob), ctx_.ledger->genesis().chain_id, *ctx_.key)
                              .WithContext("uploading for the referee"));
  }
  return hash;
}

std::shared_ptr<JobWork::MoveMemo> JobWork::MemoFor(const ledger::Job& job, const ledger::Dispute& d,
                                                   ledger::DisputeParty party) {
  // Keyed by what makes the computation: the committed certificate, the
  // dispute (its segment) and the side (whose checkpoints and hooks).
  const std::string key = job.job_id.ToHex() + "/" + job.certificate_hash.ToHex() + "/" + std::to_string(d.index) + "/" +
                          std::to_string(static_cast<int>(party));
  std::lock_guard<std::mutex> lock(mu_);
  auto& memo = move_memos_[key];
  if (!memo) {
    memo = std::make_shared<MoveMemo>();
    move_memo_order_.push_back(key);
    if (move_memo_order_.size() > kMoveMemosMax) {
      move_memos_.erase(move_memo_order_.front());
      move_memo_order_.pop_front();
    }
  }
  return memo;
}

MoveComputed JobWork::ComputeMove(const ledger::Job& job, const ledger::Dispute& d, ledger::DisputeParty party) {
  MoveComputed out;
  out.job_id = job.job_id;
  out.dispute = d.index;
  out.move.job_id = job.job_id;
  out.move.phase = static_cast<uint8_t>(d.phase);
  out.move.position = d.position;
  out.status = [&]() -> Status {
    // Adversarial hook (issue 8): solver.cheat = refuse-answer never moves.
    if (RefusesToAnswer(party)) return Unavailable("this solver refuses to answer (solver.cheat = refuse-answer)");
    const Holder who = HolderOf(party);
    std::shared_ptr<MoveMemo> memo = MemoFor(job, d, party);
    std::lock_guard<std::mutex> lock(memo->mu);
    if (!memo->inputs) {
      CAIRN_ASSIGN_OR_RETURN(JobInputs in, LoadInputs(job));
      memo->inputs = std::make_shared<const JobInputs>(std::move(in));
    }
    if (!memo->cert && who == Holder::kSolver) {
      CAIRN_ASSIGN_OR_RETURN(Bytes cert_bytes, Certificate(job.job_id));
      CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, proof::DecodeCertificate(cert_bytes));
      if (proof::CertificateHash(cert) != job.certificate_hash) {
        return FailedPrecondition("the certificate at hand is not the one committed for job " + Short(job.job_id));
      }
      memo->cert = std::move(cert);
    } else if (!memo->cert) {
      CAIRN_ASSIGN_OR_RETURN(memo->cert, FetchProofs(job, DisputeDir(job.job_id, who)));
    }
    const JobInputs& in = *memo->inputs;
    DisputeReplay replay(in, *memo->cert, DisputeDir(job.job_id, who), EngineOptionsFor(in, who));
    CAIRN_ASSIGN_OR_RETURN(out.move, ComputePinpointMove(d, replay, [this](const Bytes& blob) {
                             return UploadForReferee(blob);
                           }, &memo->dispute));
    return Status::Ok();
  }();
  if (out.status.ok()) {
    spdlog::info("job {}: dispute {} round {} at {}: answered as the {}", Short(job.job_id), d.index,
                 ledger::DisputePhaseName(d.phase), d.position,
                 party == ledger::DisputeParty::kSolver ? "solver" : "challenger");
  } else {
    spdlog::warn("job {}: dispute {} round {} at {}: {}", Short(job.job_id), d.index, ledger::DisputePhaseName(d.phase),
                 d.position, out.status.ToString());
  }
  return out;
}

RulingReady JobWork::Rule(const ledger::Job& job, const ledger::Dispute& d) {
  RulingReady out;
  out.job_id = job.job_id;
  out.ruling.job_id = job.job_id;
  out.ruling.task = static_cast<uint8_t>(d.task);
  out.status = [&]() -> Status {
    const std::string dir = DisputeDir(job.job_id, Holder::kReferee);
    CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, FetchProofs(job, dir));
    // Kept beside the checkpoints, so that `cairn ledger audit --recompute`
    // can re-execute this ruling from the data directory alone.
    CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(RefereeCertificatePath(ctx_.config->data_dir, job.job_id),
                                                ByteView(proof::EncodeCertificate(cert))));
    CAIRN_ASSIGN_OR_RETURN(JobInputs in, LoadInputs(job));
    DisputeReplay replay(in, cert, dir, EngineOptionsFor(in, Holder::kReferee));
    RefereeEvidence evidence(*ctx_.blobs, replay);
    RulingOptions options;
    options.key = ctx_.key;
    options.worker = WorkerFor();
    CAIRN_ASSIGN_OR_RETURN(out.ruling, RecomputeRuling(job, d, evidence, options));
    if (ctx_.config->referee_cheat == "rule-for-solver") LieForTheSolver(d, &out.ruling);
    return Status::Ok();
  }();
  if (out.status.ok()) {
    spdlog::info("job {}: referee ruled on dispute {} ({}): the {} is at fault", Short(job.job_id), d.index,
                 d.task == ledger::RefereeTask::kOperator      ? "one operator"
                 : d.task == ledger::RefereeTask::kStep        ? "one step"
                 : d.task == ledger::RefereeTask::kForcedCheck ? "a revealed forced error"
                                                               : "one segment",
                 out.ruling.solver_at_fault                    ? "solver"
                 : d.task == ledger::RefereeTask::kForcedCheck ? "nobody (the forced error is real)"
                                                               : "challenger");
  } else {
    spdlog::warn("job {}: referee could not rule on dispute {} yet: {}", Short(job.job_id), d.index,
                 out.status.ToString());
  }
  return out;
}

void JobWork::LieForTheSolver(const ledger::Dispute& d, ledger::RulingOp* ruling) {
  // Test and devnet cheat (referee.cheat): the ruling the ledger accepts for
  // the solver, whatever the recomputation said. Only the audit catches it.
  spdlog::warn("job {}: this referee LIES (referee.cheat = rule-for-solver): ruling for the solver", Short(d.job_id));
  if (d.task != ledger::RefereeTask::kSegment) ruling->value = SolverClaim(d);
  ruling->solver_at_fault = false;
}

std::string RefereeCertificatePath(const std::string& data_dir, const Hash256& job_id) {
  return data_dir + "/referee/" + job_id.ToHex() + "/certificate.bin";
}

}  // namespace cairn::node
