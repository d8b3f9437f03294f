// JobWork's part in disputes (docs/protocol.md, "Disputes"): the verifier
// turning a reject into a dispute it can prove, each party's answer to a
// round of the pinpoint game, and the referee's recomputation. Every party
// computes with its own engine from its own copy of the committed
// checkpoints, so an honest party's answers are the truth.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "crypto/merkle.h"
#include "node/job_work.h"
#include "proof/checkpoint_store.h"
#include "proof/op_trace.h"
#include "train/engine.h"
#include "train/train.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

std::vector<Hash256> CheckpointProof(const proof::Certificate& cert, uint64_t index) {
  std::vector<Hash256> leaves;
  for (const Hash256& h : cert.checkpoint_hashes) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  return crypto::MerkleTree(leaves).Proof(index);
}

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

Result<std::unique_ptr<train::Engine>> JobWork::EngineAt(const JobInputs& in, const proof::Certificate& cert, Holder who,
                                                         uint64_t segment, uint64_t step) {
  if (segment >= cert.segments.size()) return InvalidArgument("segment " + std::to_string(segment) + " does not exist");
  const proof::SegmentMetadata& seg = cert.segments[segment];
  if (step < seg.start_step || step > seg.end_step) {
    return InvalidArgument("step " + std::to_string(step) + " is outside segment " + std::to_string(segment));
  }
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(DisputeDir(cert.job_id, who)));
  CAIRN_ASSIGN_OR_RETURN(Bytes start, store.Get(cert.checkpoint_hashes[segment]));
  CAIRN_ASSIGN_OR_RETURN(auto engine, train::StartEngine(in.spec, in.dataset, in.evaluation ? &*in.evaluation : nullptr,
                                                         EngineOptionsFor(in, who)));
  CAIRN_RETURN_IF_ERROR(engine->Restore(start).status());
  if (step > seg.start_step) CAIRN_RETURN_IF_ERROR(engine->RunSegment(seg.start_step, step, nullptr).status());
  return engine;
}

Result<Hash256> JobWork::StateAfter(const JobInputs& in, const proof::Certificate& cert, Holder who, uint64_t segment,
                                    uint64_t step) {
  if (segment >= cert.segments.size()) return InvalidArgument("segment " + std::to_string(segment) + " does not exist");
  const proof::SegmentMetadata& seg = cert.segments[segment];
  if (step < seg.start_step || step > seg.end_step) {
    return InvalidArgument("step " + std::to_string(step) + " is outside segment " + std::to_string(segment));
  }
  if (step == seg.start_step) return cert.checkpoint_hashes[segment];  // The committed checkpoint itself.
  // From the restored checkpoint to `step` in one run, then its snapshot.
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(in, cert, who, segment, seg.start_step));
  CAIRN_ASSIGN_OR_RETURN(train::SegmentResult r, engine->RunSegment(seg.start_step, step, nullptr));
  return proof::CheckpointHash(r.checkpoint);
}

Result<proof::StepTrace> JobWork::TraceOf(const JobInputs& in, const proof::Certificate& cert, Holder who,
                                          uint64_t segment, uint64_t step) {
  if (segment < cert.segments.size() && step >= cert.segments[segment].end_step) {
    return InvalidArgument("step " + std::to_string(step) + " is not a step of segment " + std::to_string(segment));
  }
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(in, cert, who, segment, step));
  return engine->TraceStep(step);
}

Result<std::vector<Bytes>> JobWork::TraceRecords(const JobInputs& in, const proof::Certificate& cert, Holder who,
                                                 uint64_t segment, uint64_t step) {
  CAIRN_ASSIGN_OR_RETURN(proof::StepTrace trace, TraceOf(in, cert, who, segment, step));
  std::vector<Bytes> records;
  records.reserve(trace.records.size());
  for (const proof::OpRecord& r : trace.records) records.push_back(proof::EncodeOpRecord(r));
  return records;
}

Result<std::optional<ledger::DisputeOpenOp>> JobWork::PrepareDispute(const ledger::Job& job, const JobInputs& in,
                                                                      const proof::Certificate& cert,
                                                                      uint32_t segment, const Hash256& report_hash) {
  if (segment + 1 >= cert.checkpoint_hashes.size()) return std::optional<ledger::DisputeOpenOp>();
  ledger::DisputeOpenOp op;
  op.job_id = job.job_id;
  op.report_hash = report_hash;
  op.segment = segment;
  op.begin_step = cert.segments[segment].start_step;
  op.end_step = cert.segments[segment].end_step;
  op.start_hash = cert.checkpoint_hashes[segment];
  op.start_proof = CheckpointProof(cert, segment);
  op.end_hash = cert.checkpoint_hashes[segment + 1];
  op.end_proof = CheckpointProof(cert, segment + 1);
  auto end = StateAfter(in, cert, Holder::kChallenger, segment, op.end_step);
  if (end.ok()) {
    op.challenger_end_hash = *end;
  } else if (end.status().code() == StatusCode::kFailedPrecondition) {
    // The replay itself fails (a non-finite loss from the committed state):
    // no end state to bisect towards, so the referee replays the segment.
    spdlog::info("job {}: replay of segment {} fails ({}); disputing the segment as a whole", Short(job.job_id),
                 segment, end.status().ToString());
    op.challenger_end_hash = op.end_hash;
  } else {
    return end.status();
  }
  return std::optional<ledger::DisputeOpenOp>(std::move(op));
}

Result<Bytes> JobWork::OpInputsBlob(const JobInputs& in, const proof::Certificate& cert, Holder who, uint64_t segment,
                                    uint64_t step, uint64_t op_index) {
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(in, cert, who, segment, step));
  return engine->OpInputs(step, op_index);
}

Result<Hash256> JobWork::UploadForReferee(const Bytes& blob) {
  CAIRN_ASSIGN_OR_RETURN(Hash256 hash, ctx_.blobs->Put(blob));
  if (!ctx_.ledger_host.empty()) {
    CAIRN_RETURN_IF_ERROR(ctx_.peers->PutBlob(ctx_.ledger_host, ByteView(blob), ctx_.ledger->genesis().chain_id, *ctx_.key)
                              .WithContext("uploading for the referee"));
  }
  return hash;
}

MoveComputed JobWork::ComputeMove(const ledger::Job& job, const ledger::Dispute& d, ledger::DisputeParty party) {
  MoveComputed out;
  out.job_id = job.job_id;
  out.dispute = d.index;
  ledger::PinpointMoveOp& m = out.move;
  m.job_id = job.job_id;
  m.phase = static_cast<uint8_t>(d.phase);
  m.position = d.position;
  out.status = [&]() -> Status {
    // Adversarial hook (issue 8): solver.cheat = refuse-answer never moves.
    if (RefusesToAnswer(party)) return Unavailable("this solver refuses to answer (solver.cheat = refuse-answer)");
    CAIRN_ASSIGN_OR_RETURN(JobInputs in, LoadInputs(job));
    CAIRN_ASSIGN_OR_RETURN(Bytes cert_bytes, party == ledger::DisputeParty::kSolver
                                                 ? Certificate(job.job_id)
                                                 : ctx_.peers->GetCertificate(*EndpointOf(job.solver), job.job_id));
    CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, proof::DecodeCertificate(cert_bytes));
    if (proof::CertificateHash(cert) != job.certificate_hash) {
      return FailedPrecondition("the certificate at hand is not the one committed for job " + Short(job.job_id));
    }
    const Holder who = HolderOf(party);
    if (who != Holder::kSolver) CAIRN_RETURN_IF_ERROR(FetchProofs(job, DisputeDir(job.job_id, who)).status());
    switch (d.phase) {
      case ledger::DisputePhase::kSteps: {
        CAIRN_ASSIGN_OR_RETURN(m.hash, StateAfter(in, cert, who, d.segment, d.position));
        return Status::Ok();
      }
      case ledger::DisputePhase::kTraceRoots:
      case ledger::DisputePhase::kOps:
      case ledger::DisputePhase::kRecords: {
        CAIRN_ASSIGN_OR_RETURN(std::vector<Bytes> records, TraceRecords(in, cert, who, d.segment, d.lo_step));
        if (records.empty()) return Internal("the trace of step " + std::to_string(d.lo_step) + " is empty");
        std::vector<Hash256> hashes;
        for (const Bytes& r : records) hashes.push_back(ledger::TraceRecordHash(ByteView(r)));
        std::vector<Hash256> prefixes = ledger::TracePrefixes(d.lo_hash, hashes);
        if (d.phase == ledger::DisputePhase::kTraceRoots) {
          m.hash = ledger::TraceRoot(prefixes);
          m.count = prefixes.size();
        } else if (d.phase == ledger::DisputePhase::kOps) {
          if (d.position == 0 || d.position > prefixes.size()) {
            return FailedPrecondition("prefix " + std::to_string(d.position) + " is past this trace's end");
          }
          m.hash = prefixes[d.position - 1];
          m.proof = ledger::TracePrefixProof(prefixes, d.position - 1);
        } else {
          if (d.position >= records.size()) {
            return FailedPrecondition("record " + std::to_string(d.position) + " is past this trace's end");
          }
          m.record = records[d.position];
          m.proof = ledger::TracePrefixProof(prefixes, d.position);  // The prefix the record makes.
          // The operator's inputs, for the referee: uploaded to the ledger
          // host before the move names them (by blob hash).
          CAIRN_ASSIGN_OR_RETURN(Bytes blob, OpInputsBlob(in, cert, who, d.segment, d.lo_step, d.position));
          CAIRN_ASSIGN_OR_RETURN(m.hash, UploadForReferee(blob));
        }
        return Status::Ok();
      }
      default: return FailedPrecondition("the dispute has no round to answer");
    }
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

Result<Hash256> JobWork::RuleOnOperator(const ledger::Job& job, const ledger::Dispute& d, const JobInputs& in,
                                        const proof::Certificate& cert, ledger::RulingOp* ruling) {
  CAIRN_ASSIGN_OR_RETURN(proof::OpRecord solver, proof::DecodeOpRecord(ByteView(d.solver.record)));
  CAIRN_ASSIGN_OR_RETURN(proof::OpRecord challenger, proof::DecodeOpRecord(ByteView(d.challenger_claim.record)));
  ruling->op_name = proof::OpDisplayName(solver).substr(0, ledger::kOpNameBytesMax);
  const bool same_inputs = solver.op == challenger.op && solver.overload == challenger.overload &&
                           solver.inputs == challenger.inputs && solver.generator_state == challenger.generator_state;
  if (same_inputs) {
    // The fast path: one operator, recomputed from the inputs a party
    // delivered (checked against the record's descriptors in the worker).
    for (const Hash256& blob_hash : {d.challenger_claim.hash, d.solver.hash}) {
      auto blob = ctx_.blobs->ReadAll(blob_hash, proof::kOpInputsBytesMax);
      if (!blob.ok()) continue;
      CAIRN_ASSIGN_OR_RETURN(auto recomputer, train::StartOpRecomputer(cert.environment.profile, WorkerFor()));
      auto output = recomputer->RecomputeOp(solver, *blob);
      if (!output.ok()) {
        spdlog::warn("job {}: the inputs blob {} does not recompute: {}", Short(job.job_id), Short(blob_hash),
                     output.status().ToString());
        continue;
      }
      ruling->inputs_hash = blob_hash;
      if (*output == proof::OutputHash(solver.outputs)) return ledger::TraceRecordHash(ByteView(d.solver.record));
      if (*output == proof::OutputHash(challenger.outputs)) {
        return ledger::TraceRecordHash(ByteView(d.challenger_claim.record));
      }
      return Hash256{};  // Neither party's output: the solver's claim is wrong either way.
    }
    spdlog::warn("job {}: no usable inputs blob for the disputed operator; recomputing the step", Short(job.job_id));
  }
  // The records disagree on what the operator read (one party lies about an
  // input) or no inputs arrived: trace the step from the agreed state.
  CAIRN_ASSIGN_OR_RETURN(proof::StepTrace truth, TraceOf(in, cert, Holder::kReferee, d.segment, d.lo_step));
  if (truth.state_before != d.lo_hash) {
    return FailedPrecondition("the referee does not reproduce the agreed state at step " + std::to_string(d.lo_step));
  }
  ruling->inputs_hash = d.lo_hash;
  if (d.op_lo >= truth.records.size()) return Hash256{};
  ruling->op_name = proof::OpDisplayName(truth.records[d.op_lo]).substr(0, ledger::kOpNameBytesMax);
  return ledger::TraceRecordHash(ByteView(proof::EncodeOpRecord(truth.records[d.op_lo])));
}

RulingReady JobWork::Rule(const ledger::Job& job, const ledger::Dispute& d) {
  RulingReady out;
  out.job_id = job.job_id;
  ledger::RulingOp& r = out.ruling;
  r.job_id = job.job_id;
  r.task = static_cast<uint8_t>(d.task);
  out.status = [&]() -> Status {
    const std::string dir = DisputeDir(job.job_id, Holder::kReferee);
    CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, FetchProofs(job, dir));
    CAIRN_ASSIGN_OR_RETURN(JobInputs in, LoadInputs(job));
    switch (d.task) {
      case ledger::RefereeTask::kStep: {
        CAIRN_ASSIGN_OR_RETURN(Hash256 agreed, StateAfter(in, cert, Holder::kReferee, d.segment, d.lo_step));
        if (agreed != d.lo_hash) {
          return FailedPrecondition("the referee does not reproduce the state both parties agreed on after step " +
                                    std::to_string(d.lo_step) + " (another execution profile?)");
        }
        CAIRN_ASSIGN_OR_RETURN(r.value, StateAfter(in, cert, Holder::kReferee, d.segment, d.lo_step + 1));
        r.inputs_hash = d.lo_hash;
        r.solver_at_fault = r.value != d.solver_hi_hash;
        return Status::Ok();
      }
      case ledger::RefereeTask::kOperator: {
        CAIRN_ASSIGN_OR_RETURN(r.value, RuleOnOperator(job, d, in, cert, &r));
        r.solver_at_fault = r.value != ledger::TraceRecordHash(ByteView(d.solver.record));
        return Status::Ok();
      }
      case ledger::RefereeTask::kSegment: {
        train::VerifyOptions options;
        options.checkpoint_dir = dir;
        options.verifier_key = ctx_.key;
        options.expected_solver = job.solver;
        options.worker = WorkerFor();
        options.evaluation = in.evaluation ? &*in.evaluation : nullptr;
        options.segments = {static_cast<uint32_t>(d.segment)};
        CAIRN_ASSIGN_OR_RETURN(train::VerifyReport report, train::VerifyJob(in.spec, in.dataset, cert, options));
        r.solver_at_fault = !report.accepted;
        r.inputs_hash = cert.checkpoint_hashes[d.segment];
        return Status::Ok();
      }
      default: return FailedPrecondition("the dispute has nothing for the referee");
    }
  }();
  if (out.status.ok()) {
    spdlog::info("job {}: referee ruled on dispute {} ({}): the {} is at fault", Short(job.job_id), d.index,
                 d.task == ledger::RefereeTask::kOperator ? "one operator"
                 : d.task == ledger::RefereeTask::kStep   ? "one step"
                                                          : "one segment",
                 r.solver_at_fault ? "solver" : "challenger");
  } else {
    spdlog::warn("job {}: referee could not rule on dispute {} yet: {}", Short(job.job_id), d.index,
                 out.status.ToString());
  }
  return out;
}

}  // namespace cairn::node
