#include "node/ruling.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "crypto/hash.h"
#include "proof/checkpoint_store.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

// The referee's value for a dispute that ended on one operator record: the
// hash of the record whose outputs the recomputation reproduces (zero when
// neither does), or of its own record when it had to trace the step.
Result<Hash256> RecomputeOperator(const ledger::Dispute& d, RulingEvidence& evidence, const RulingOptions& options,
                                  ledger::RulingOp* ruling) {
  CAIRN_ASSIGN_OR_RETURN(proof::OpRecord solver, proof::DecodeOpRecord(ByteView(d.solver.record)));
  CAIRN_ASSIGN_OR_RETURN(proof::OpRecord challenger, proof::DecodeOpRecord(ByteView(d.challenger_claim.record)));
  ruling->op_name = proof::OpDisplayName(solver).substr(0, ledger::kOpNameBytesMax);
  const bool same_inputs = solver.op == challenger.op && solver.overload == challenger.overload &&
                           solver.inputs == challenger.inputs && solver.generator_state == challenger.generator_state;
  const bool traced = options.inputs_first && *options.inputs_first == d.lo_hash;
  if (same_inputs && !traced) {
    // The fast path: one operator, recomputed from the inputs a party
    // delivered (checked against the record's descriptors in the worker).
    std::vector<Hash256> blobs;
    if (options.inputs_first) blobs.push_back(*options.inputs_first);
    for (const Hash256& h : {d.challenger_claim.hash, d.solver.hash}) {
      if (std::find(blobs.begin(), blobs.end(), h) == blobs.end()) blobs.push_back(h);
    }
    CAIRN_ASSIGN_OR_RETURN(const proof::Certificate* cert, evidence.Certificate());
    for (const Hash256& blob_hash : blobs) {
      auto blob = evidence.OperatorInputs(blob_hash);
      if (!blob.ok()) {
        spdlog::warn("inputs blob {}: {}", Short(blob_hash), blob.status().ToString());
        continue;
      }
      CAIRN_ASSIGN_OR_RETURN(auto recomputer, train::StartOpRecomputer(cert->environment.profile, options.worker));
      auto output = recomputer->RecomputeOp(solver, *blob);
      if (!output.ok()) {
        spdlog::warn("job {}: the inputs blob {} does not recompute: {}", Short(d.job_id), Short(blob_hash),
                     output.status().ToString());
        continue;
      }
      ruling->inputs_hash = blob_hash;
      if (*output == proof::OutputHash(solver.outputs)) return SolverClaim(d);
      if (*output == proof::OutputHash(challenger.outputs)) return ChallengerClaim(d);
      return Hash256{};  // Neither party's output: the solver's claim is wrong either way.
    }
    spdlog::warn("job {}: no usable inputs blob for the disputed operator; recomputing the step", Short(d.job_id));
  }
  // The records disagree on what the operator read (one party lies about an
  // input) or no inputs arrived: trace the step from the agreed state.
  CAIRN_ASSIGN_OR_RETURN(const DisputeReplay* replay, evidence.Replay());
  CAIRN_ASSIGN_OR_RETURN(proof::StepTrace truth, replay->TraceOf(d.segment, d.lo_step));
  if (truth.state_before != d.lo_hash) {
    return FailedPrecondition("the replay does not reproduce the agreed state at step " + std::to_string(d.lo_step));
  }
  ruling->inputs_hash = d.lo_hash;
  if (d.op_lo >= truth.records.size()) return Hash256{};
  ruling->op_name = proof::OpDisplayName(truth.records[d.op_lo]).substr(0, ledger::kOpNameBytesMax);
  return ledger::TraceRecordHash(ByteView(proof::EncodeOpRecord(truth.records[d.op_lo])));
}

// Whether the certificate is right once its forced checkpoint `leaf` is
// replaced by its honest twin: segment leaf - 1 replays to the twin and
// segment leaf replays from it to the committed leaf + 1. The solver knows
// its forced checkpoint before it trains, so without this check it could
// fake those two segments and excuse both with the reveal.
// `into_leaf`: segment leaf - 1's replayed end when already known.
Result<bool> TwinReplays(const DisputeReplay& replay, uint64_t leaf, std::optional<Hash256> into_leaf) {
  const proof::Certificate& cert = replay.certificate();
  if (leaf == 0 || leaf + 1 >= cert.checkpoint_hashes.size()) {
    return InvalidArgument("forced checkpoint " + std::to_string(leaf) + " is not an intermediate one");
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes twin, replay.TwinOf(leaf));
  if (!into_leaf) {
    CAIRN_ASSIGN_OR_RETURN(into_leaf, replay.StateAfter(leaf - 1, cert.segments[leaf - 1].end_step));
  }
  if (*into_leaf != proof::CheckpointHash(ByteView(twin))) return false;
  CAIRN_ASSIGN_OR_RETURN(Hash256 from_twin, replay.EndFrom(leaf, twin));
  return from_twin == cert.checkpoint_hashes[leaf + 1];
}

}  // namespace

Hash256 SolverClaim(const ledger::Dispute& d) {
  return d.task == ledger::RefereeTask::kOperator ? ledger::TraceRecordHash(ByteView(d.solver.record))
                                                  : d.solver_hi_hash;
}

Hash256 ChallengerClaim(const ledger::Dispute& d) {
  return d.task == ledger::RefereeTask::kOperator ? ledger::TraceRecordHash(ByteView(d.challenger_claim.record))
                                                  : d.challenger_hi_hash;
}

Result<ledger::RulingOp> RecomputeRuling(const ledger::Job& job, const ledger::Dispute& d, RulingEvidence& evidence,
                                         const RulingOptions& options) {
  ledger::RulingOp r;
  r.job_id = job.job_id;
  r.task = static_cast<uint8_t>(d.task);
  switch (d.task) {
    case ledger::RefereeTask::kStep: {
      CAIRN_ASSIGN_OR_RETURN(const DisputeReplay* replay, evidence.Replay());
      CAIRN_ASSIGN_OR_RETURN(Hash256 agreed, replay->StateAfter(d.segment, d.lo_step));
      if (agreed != d.lo_hash) {
        return FailedPrecondition("the replay does not reproduce the state both parties agreed on after step " +
                                  std::to_string(d.lo_step) + " (another execution profile?)");
      }
      CAIRN_ASSIGN_OR_RETURN(r.value, replay->StateAfter(d.segment, d.lo_step + 1));
      r.inputs_hash = d.lo_hash;
      r.solver_at_fault = r.value != d.solver_hi_hash;
      return r;
    }
    case ledger::RefereeTask::kOperator: {
      CAIRN_ASSIGN_OR_RETURN(r.value, RecomputeOperator(d, evidence, options, &r));
      r.solver_at_fault = r.value != SolverClaim(d);
      return r;
    }
    case ledger::RefereeTask::kSegment: {
      if (options.key == nullptr) return InvalidArgument("a segment replay needs a key to sign its report");
      CAIRN_ASSIGN_OR_RETURN(const DisputeReplay* replay, evidence.Replay());
      CAIRN_ASSIGN_OR_RETURN(train::VerifyReport report, replay->VerifySegment(d.segment, *options.key, job.solver));
      r.solver_at_fault = !report.accepted;
      r.inputs_hash = replay->certificate().checkpoint_hashes[d.segment];
      return r;
    }
    case ledger::RefereeTask::kForcedCheck: {
      // The solver revealed the segment's end as its forced error: replay
      // the segment from its committed start; is that end really wrong?
      CAIRN_ASSIGN_OR_RETURN(const DisputeReplay* replay, evidence.Replay());
      const proof::Certificate& cert = replay->certificate();
      if (d.segment >= cert.segments.size()) return InvalidArgument("the forced check names a segment past the end");
      if (cert.checkpoint_hashes[d.segment] != d.lo_hash) {
        return FailedPrecondition("the certificate's checkpoint " + std::to_string(d.segment) +
                                  " is not the one the forced check names");
      }
      CAIRN_ASSIGN_OR_RETURN(r.value, replay->StateAfter(d.segment, cert.segments[d.segment].end_step));
      r.inputs_hash = d.lo_hash;
      if (r.value == d.solver_hi_hash) {
        r.solver_at_fault = true;  // The end was right: the reveal claimed an error never made.
        return r;
      }
      std::optional<Hash256> into_leaf;
      if (d.segment + 1 == job.forced_leaf) into_leaf = r.value;
      CAIRN_ASSIGN_OR_RETURN(bool twin_replays, TwinReplays(*replay, job.forced_leaf, into_leaf));
      r.solver_at_fault = !twin_replays;  // Else a faked segment hides behind the forced checkpoint.
      return r;
    }
    default: return FailedPrecondition("the dispute has nothing for the referee");
  }
}

}  // namespace cairn::node
