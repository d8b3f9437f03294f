// JobWork's cheat modes: devnet and test demonstrations of cheating solvers
// and verifiers (docs/node.md, "Cheat modes"; config::CheckCheatsAllowed
// refuses them on a chain without a faucet). tests/adversarial/ runs each
// against real nodes. A cheat is built the way a cheater would build it:
// what it commits is re-signed and internally consistent, so that only the
// check under test can catch it. The cheats that change the computation are
// training hooks (JobWork::CheatFor in job_work.cpp); the ones here forge
// what an honest run would commit, or a verdict.
#include <spdlog/spdlog.h>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "node/job_work.h"
#include "node/report.h"
#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "train/train.h"
#include "util/file.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

// A copy of a checkpoint that claims to be the state after `step` steps
// (docs/checkpoints.md: the u64 step follows the 8-byte magic).
Bytes CopyAtStep(Bytes checkpoint, uint64_t step) {
  for (int i = 0; i < 8; ++i) checkpoint[8 + i] = static_cast<uint8_t>(step >> (8 * i));
  return checkpoint;
}

std::vector<Hash256> MerkleProofOf(const proof::Certificate& cert, uint64_t index) {
  std::vector<Hash256> leaves;
  for (const Hash256& h : cert.checkpoint_hashes) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  return crypto::MerkleTree(leaves).Proof(index);
}

// The update norms a careful forger signs: the true distances between its
// committed checkpoints, so that the verifier's norm check passes.
Status SignTrueUpdateNorms(proof::Certificate* cert, const proof::CheckpointStore& store) {
  CAIRN_ASSIGN_OR_RETURN(Bytes previous, store.Get(cert->checkpoint_hashes[0]));
  for (size_t i = 1; i < cert->checkpoint_hashes.size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(Bytes current, store.Get(cert->checkpoint_hashes[i]));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView from, proof::DecodeCheckpoint(previous));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView to, proof::DecodeCheckpoint(current));
    CAIRN_ASSIGN_OR_RETURN(cert->segments[i - 1].update_norm, proof::UpdateNorm(from, to));
    previous = std::move(current);
  }
  return Status::Ok();
}

}  // namespace

uint64_t JobWork::FakedStep(const job::JobSpec& spec) { return spec.checkpoint_interval / 2; }

Result<uint64_t> JobWork::CorruptedRecord(const JobInputs& in) {
  train::EngineOptions options;
  options.worker.isolated = false;
  CAIRN_ASSIGN_OR_RETURN(auto engine, train::StartEngine(in.spec, in.dataset,
                                                         in.evaluation ? &*in.evaluation : nullptr, options));
  CAIRN_ASSIGN_OR_RETURN(Bytes initial, engine->InitialCheckpoint());
  CAIRN_RETURN_IF_ERROR(engine->Restore(initial).status());
  CAIRN_ASSIGN_OR_RETURN(proof::StepTrace trace, engine->TraceStep(0));
  if (trace.records.empty()) return FailedPrecondition("a traced step of this job has no operator records");
  return trace.records.size() - 1;
}

bool JobWork::RefusesToAnswer(ledger::DisputeParty party) const {
  return party == ledger::DisputeParty::kSolver && ctx_.config->solver_cheat == "refuse-answer";
}

Result<Bytes> JobWork::MaskForcedError(Bytes forced) const {
  if (ctx_.config->solver_cheat != "mask-forced") return forced;
  // The solver knows its forced checkpoint at claim: it skimps on the
  // segment before it, whose end it then commits wrong anyway. Modelled as
  // the lowest bit of the last parameter element wrong too, which the
  // reveal does not explain: only the referee's replay through the honest
  // twin (the forced bit flipped back) tells it from an honest forced error.
  CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView view, proof::DecodeCheckpoint(ByteView(forced)));
  for (auto t = view.model.tensors.rbegin(); t != view.model.tensors.rend(); ++t) {
    if (t->role != proof::TensorRole::kParameter || t->dtype != proof::DType::kFloat32 || t->data.size < 8) continue;
    size_t last = static_cast<size_t>(t->data.data - forced.data()) + t->data.size - 4;
    forced[last] ^= 1;
    spdlog::warn("solver.cheat = mask-forced: the forced checkpoint also hides a faked segment");
    return forced;
  }
  return FailedPrecondition("solver.cheat = mask-forced needs a float32 parameter of two or more elements");
}

Status JobWork::ForgeCommitment(train::TrainResult* trained) {
  const std::string& mode = ctx_.config->solver_cheat;
  if (mode != "skip-segments" && mode != "false-metadata" && mode != "false-update-norm") return Status::Ok();
  proof::Certificate& cert = trained->certificate;
  const size_t segments = cert.segments.size();
  if (segments < 2) return FailedPrecondition("solver.cheat = " + mode + " needs a job of at least two segments");
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(SolverDir() + "/checkpoints"));
  const std::string job_dir = SolverDir() + "/jobs/" + cert.job_id.ToHex();
  std::vector<std::pair<std::string, Bytes>> files;
  if (mode == "skip-segments") {
    // Trains segment 0 and skips the rest: every later checkpoint is a copy
    // of checkpoint 1 (its step field set), the final model is checkpoint
    // 1's, and the segments it skipped are signed with segment 0's loss and
    // gradient norm and their true update norms (0). (The honest run above
    // only supplies the certificate's other fields; what is committed is
    // what a solver that stopped after segment 0 would commit.)
    CAIRN_ASSIGN_OR_RETURN(Bytes trained_once, store.Get(cert.checkpoint_hashes[1]));
    for (size_t i = 2; i < cert.checkpoint_hashes.size(); ++i) {
      Bytes copy = CopyAtStep(trained_once, cert.segments[i - 1].end_step);
      const Hash256 hash = proof::CheckpointHash(copy);
      CAIRN_RETURN_IF_ERROR(store.Put(hash, copy));
      cert.checkpoint_hashes[i] = hash;
      cert.segments[i - 1].loss_mean = cert.segments[0].loss_mean;
      cert.segments[i - 1].grad_norm_last = cert.segments[0].grad_norm_last;
    }
    CAIRN_RETURN_IF_ERROR(SignTrueUpdateNorms(&cert, store));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView last, proof::DecodeCheckpoint(trained_once));
    Bytes weights(last.model.encoded.data, last.model.encoded.data + last.model.encoded.size);
    cert.final_model_hash = proof::ModelHash(ByteView(weights));
    files.emplace_back(job_dir + "/model.bin", std::move(weights));
  } else if (mode == "false-metadata") {
    // Polishes its loss curve: every segment's mean loss signed 10% lower
    // than it was. The state is honest; only a replay's loss disagrees.
    for (proof::SegmentMetadata& s : cert.segments) s.loss_mean *= 0.9;
  } else {
    // false-update-norm: hides the segment that moved the weights most from
    // top-Q sampling by signing half the smallest update norm for it.
    size_t top = 0;
    double smallest = cert.segments[0].update_norm;
    for (size_t i = 1; i < segments; ++i) {
      if (cert.segments[i].update_norm > cert.segments[top].update_norm) top = i;
      smallest = std::min(smallest, cert.segments[i].update_norm);
    }
    cert.segments[top].update_norm = smallest / 2;
  }
  cert.checkpoint_root = proof::CheckpointRoot(cert.checkpoint_hashes);
  proof::SignCertificate(&cert, *ctx_.key);
  CAIRN_RETURN_IF_ERROR(proof::CheckCertificate(cert));
  files.emplace_back(job_dir + "/certificate.bin", proof::EncodeCertificate(cert));
  std::vector<std::pair<std::string, ByteView>> views;
  for (const auto& [path, bytes] : files) views.emplace_back(path, ByteView(bytes));
  CAIRN_RETURN_IF_ERROR(util::WriteFilesAtomic(views));
  spdlog::warn("job {}: committing a forged certificate (solver.cheat = {})", Short(cert.job_id), mode);
  return Status::Ok();
}

VerificationFinished JobWork::CheatingVerdict(const ledger::Job& job) {
  VerificationFinished out;
  out.job_id = job.job_id;
  const std::string& mode = ctx_.config->verifier_cheat;
  VerifierReport r;
  out.status = [&]() -> Status {
    // Both look like a real check from outside: the sample is the one this
    // verifier's key draws, and the report names it.
    proof::Certificate cert;
    if (mode == "accuse") {
      // Fetches what its moves in the game will need.
      CAIRN_ASSIGN_OR_RETURN(cert, FetchProofs(job, ctx_.config->data_dir + "/verifier/" + job.job_id.ToHex() +
                                                        "/checkpoints"));
    } else {
      CAIRN_ASSIGN_OR_RETURN(std::string solver, EndpointOf(job.solver));
      CAIRN_ASSIGN_OR_RETURN(Bytes bytes, ctx_.peers->GetCertificate(solver, job.job_id));
      CAIRN_ASSIGN_OR_RETURN(cert, proof::DecodeCertificate(bytes));
    }
    CAIRN_ASSIGN_OR_RETURN(JobInputs in, LoadInputs(job));
    r.job_id = job.job_id;
    r.certificate_hash = job.certificate_hash;
    r.verifier = ctx_.key->public_key();
    r.sampled = proof::SampleSegments(cert, proof::SamplingSignature(*ctx_.key, job.certificate_hash),
                                      in.spec.verification.top_q, in.spec.verification.uniform);
    if (r.sampled.empty()) return FailedPrecondition("the certificate has no segment to sample");
    // The steps it claims to have replayed; it replayed none.
    for (uint32_t i : r.sampled) r.steps_replayed += cert.segments[i].end_step - cert.segments[i].start_step;
    if (mode == "lazy") {
      r.accept = true;
      return Status::Ok();
    }
    // accuse: a reject of an (honest) certificate, and a dispute whose
    // claimed end state is made up.
    const uint32_t segment = r.sampled.front();
    const proof::SegmentMetadata& seg = cert.segments[segment];
    r.accept = false;
    r.failed = {segment};
    r.reason = "segment " + std::to_string(segment) + " (steps " + std::to_string(seg.start_step) + ".." +
               std::to_string(seg.end_step) + "): the replay does not reach the committed checkpoint";
    ledger::DisputeOpenOp op;
    op.job_id = job.job_id;
    op.segment = segment;
    op.begin_step = seg.start_step;
    op.end_step = seg.end_step;
    op.start_hash = cert.checkpoint_hashes[segment];
    op.start_proof = MerkleProofOf(cert, segment);
    op.end_hash = cert.checkpoint_hashes[segment + 1];
    op.end_proof = MerkleProofOf(cert, segment + 1);
    op.challenger_end_hash = crypto::TaggedHash("cairn/adversarial/made-up-end/v1", ByteView(op.end_hash.bytes));
    out.dispute = std::move(op);
    return Status::Ok();
  }();
  if (!out.status.ok()) return out;
  auto hash = ctx_.blobs->Put(EncodeReport(r));
  if (!hash.ok()) {
    out.status = hash.status();
    return out;
  }
  out.accept = r.accept;
  out.report_hash = *hash;
  if (out.dispute) out.dispute->report_hash = *hash;
  ctx_.metrics->CountVerification(r.accept ? "accept" : "reject");
  spdlog::warn("job {}: this verifier CHEATS (verifier.cheat = {}): {} without replaying", Short(job.job_id), mode,
               r.accept ? "ACCEPT" : "REJECT with a made-up end hash");
  return out;
}

}  // namespace cairn::node
