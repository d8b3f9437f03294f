#include "node/dispute_replay.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "crypto/merkle.h"
#include "proof/checkpoint_store.h"
#include "proof/forced_checkpoint.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

Status CheckStep(const proof::Certificate& cert, uint64_t segment, uint64_t step) {
  if (segment >= cert.segments.size()) return InvalidArgument("segment " + std::to_string(segment) + " does not exist");
  const proof::SegmentMetadata& seg = cert.segments[segment];
  if (step < seg.start_step || step > seg.end_step) {
    return InvalidArgument("step " + std::to_string(step) + " is outside segment " + std::to_string(segment));
  }
  return Status::Ok();
}

}  // namespace

Result<Bytes> DisputeReplay::Committed(uint64_t index) const {
  if (index >= cert_.checkpoint_hashes.size()) {
    return InvalidArgument("checkpoint " + std::to_string(index) + " does not exist");
  }
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(checkpoint_dir_));
  const Hash256& hash = cert_.checkpoint_hashes[index];
  if (!store.Has(hash)) {
    return NotFound("committed checkpoint " + std::to_string(index) + " (" + Short(hash) + ") is not in " +
                    checkpoint_dir_);
  }
  return store.Get(hash);
}

Result<std::unique_ptr<train::Engine>> DisputeReplay::EngineFrom(const Bytes& start) const {
  CAIRN_ASSIGN_OR_RETURN(auto engine, train::StartEngine(inputs_.spec, inputs_.dataset,
                                                         inputs_.evaluation ? &*inputs_.evaluation : nullptr, options_));
  CAIRN_RETURN_IF_ERROR(engine->Restore(start).status());
  return engine;
}

Result<std::unique_ptr<train::Engine>> DisputeReplay::EngineAt(uint64_t segment, uint64_t step) const {
  CAIRN_RETURN_IF_ERROR(CheckStep(cert_, segment, step));
  const proof::SegmentMetadata& seg = cert_.segments[segment];
  CAIRN_ASSIGN_OR_RETURN(Bytes start, Committed(segment));
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineFrom(start));
  if (step > seg.start_step) CAIRN_RETURN_IF_ERROR(engine->RunSegment(seg.start_step, step, nullptr).status());
  return engine;
}

Result<Hash256> DisputeReplay::EndFrom(uint64_t segment, const Bytes& start) const {
  if (segment >= cert_.segments.size()) return InvalidArgument("segment " + std::to_string(segment) + " does not exist");
  const proof::SegmentMetadata& seg = cert_.segments[segment];
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineFrom(start));
  CAIRN_ASSIGN_OR_RETURN(train::SegmentResult r, engine->RunSegment(seg.start_step, seg.end_step, nullptr));
  return proof::CheckpointHash(r.checkpoint);
}

Result<Bytes> DisputeReplay::TwinOf(uint64_t leaf) const {
  CAIRN_ASSIGN_OR_RETURN(Bytes forced, Committed(leaf));
  return proof::FlipForcedBit(forced);
}

Result<Hash256> DisputeReplay::StateAfter(uint64_t segment, uint64_t step) const {
  CAIRN_RETURN_IF_ERROR(CheckStep(cert_, segment, step));
  const proof::SegmentMetadata& seg = cert_.segments[segment];
  if (step == seg.start_step) return cert_.checkpoint_hashes[segment];  // The committed checkpoint itself.
  // From the restored checkpoint to `step` in one run, then its snapshot.
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(segment, seg.start_step));
  CAIRN_ASSIGN_OR_RETURN(train::SegmentResult r, engine->RunSegment(seg.start_step, step, nullptr));
  return proof::CheckpointHash(r.checkpoint);
}

Result<std::vector<Hash256>> DisputeReplay::StepHashesTo(uint64_t segment, uint64_t step) const {
  CAIRN_RETURN_IF_ERROR(CheckStep(cert_, segment, step));
  const proof::SegmentMetadata& seg = cert_.segments[segment];
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(segment, seg.start_step));
  return engine->StepHashes(seg.start_step, step);
}

Result<proof::StepTrace> DisputeReplay::TraceOf(uint64_t segment, uint64_t step) const {
  if (segment < cert_.segments.size() && step >= cert_.segments[segment].end_step) {
    return InvalidArgument("step " + std::to_string(step) + " is not a step of segment " + std::to_string(segment));
  }
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(segment, step));
  return engine->TraceStep(step);
}

Result<std::vector<Bytes>> DisputeReplay::TraceRecords(uint64_t segment, uint64_t step) const {
  CAIRN_ASSIGN_OR_RETURN(proof::StepTrace trace, TraceOf(segment, step));
  std::vector<Bytes> records;
  records.reserve(trace.records.size());
  for (const proof::OpRecord& r : trace.records) records.push_back(proof::EncodeOpRecord(r));
  return records;
}

Result<Bytes> DisputeReplay::OpInputsBlob(uint64_t segment, uint64_t step, uint64_t op_index) const {
  CAIRN_ASSIGN_OR_RETURN(auto engine, EngineAt(segment, step));
  return engine->OpInputs(step, op_index);
}

Result<train::VerifyReport> DisputeReplay::VerifySegment(uint64_t segment, const crypto::KeyPair& key,
                                                         const crypto::PublicKey& solver) const {
  train::VerifyOptions options;
  options.checkpoint_dir = checkpoint_dir_;
  options.verifier_key = &key;
  options.expected_solver = solver;
  options.worker = options_.worker;
  options.evaluation = inputs_.evaluation ? &*inputs_.evaluation : nullptr;
  options.segments = {static_cast<uint32_t>(segment)};
  return train::VerifyJob(inputs_.spec, inputs_.dataset, cert_, options);
}

std::vector<Hash256> CheckpointProof(const proof::Certificate& cert, uint64_t index) {
  std::vector<Hash256> leaves;
  for (const Hash256& h : cert.checkpoint_hashes) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  return crypto::MerkleTree(leaves).Proof(index);
}

Result<std::optional<ledger::DisputeOpenOp>> PrepareDisputeOpen(const Hash256& job_id, const DisputeReplay& challenger,
                                                                uint32_t segment, const Hash256& report_hash) {
  const proof::Certificate& cert = challenger.certificate();
  if (segment + 1 >= cert.checkpoint_hashes.size()) return std::optional<ledger::DisputeOpenOp>();
  ledger::DisputeOpenOp op;
  op.job_id = job_id;
  op.report_hash = report_hash;
  op.segment = segment;
  op.begin_step = cert.segments[segment].start_step;
  op.end_step = cert.segments[segment].end_step;
  op.start_hash = cert.checkpoint_hashes[segment];
  op.start_proof = CheckpointProof(cert, segment);
  op.end_hash = cert.checkpoint_hashes[segment + 1];
  op.end_proof = CheckpointProof(cert, segment + 1);
  auto end = challenger.StateAfter(segment, op.end_step);
  if (end.ok()) {
    op.challenger_end_hash = *end;
  } else if (end.status().code() == StatusCode::kFailedPrecondition) {
    // The replay itself fails (a non-finite loss from the committed state):
    // no end state to bisect towards, so the referee replays the segment.
    spdlog::info("job {}: replay of segment {} fails ({}); disputing the segment as a whole", Short(job_id), segment,
                 end.status().ToString());
    op.challenger_end_hash = op.end_hash;
  } else {
    return end.status();
  }
  return std::optional<ledger::DisputeOpenOp>(std::move(op));
}

namespace {

// The state after `step` of `segment`, from the memo's step hashes (made
// once) when there is a memo.
Result<Hash256> MemoStateAfter(const DisputeReplay& replay, uint64_t segment, uint64_t step, DisputeMemo* memo) {
  const proof::Certificate& cert = replay.certificate();
  if (memo == nullptr || segment >= cert.segments.size()) return replay.StateAfter(segment, step);
  const proof::SegmentMetadata& seg = cert.segments[segment];
  if (step <= seg.start_step || step > seg.end_step) return replay.StateAfter(segment, step);
  // The hashes of a prefix of the segment: a step past it replays from the
  // segment's start to that step (no more than a round without the memo
  // costs; the first round, at the midpoint, must fit its deadline), and
  // every step before it is then a lookup.
  const uint64_t known = memo->step_hashes ? memo->step_hashes->size() : 0;
  if (step - seg.start_step > known) {
    CAIRN_ASSIGN_OR_RETURN(memo->step_hashes, replay.StepHashesTo(segment, step));
    if (memo->step_hashes->size() != step - seg.start_step) {
      return Internal("the replay answered " + std::to_string(memo->step_hashes->size()) + " step hashes for " +
                      std::to_string(step - seg.start_step) + " steps");
    }
  }
  return (*memo->step_hashes)[step - seg.start_step - 1];
}

Result<std::vector<Bytes>> MemoTraceRecords(const DisputeReplay& replay, uint64_t segment, uint64_t step,
                                            DisputeMemo* memo) {
  if (memo == nullptr) return replay.TraceRecords(segment, step);
  if (memo->traced_step != step) {
    CAIRN_ASSIGN_OR_RETURN(memo->records, replay.TraceRecords(segment, step));
    memo->traced_step = step;
  }
  return memo->records;
}

}  // namespace

Result<ledger::PinpointMoveOp> ComputePinpointMove(const ledger::Dispute& d, const DisputeReplay& replay,
                                                   const UploadForReferee& upload, DisputeMemo* memo) {
  ledger::PinpointMoveOp m;
  m.job_id = d.job_id;
  m.phase = static_cast<uint8_t>(d.phase);
  m.position = d.position;
  switch (d.phase) {
    case ledger::DisputePhase::kSteps: {
      CAIRN_ASSIGN_OR_RETURN(m.hash, MemoStateAfter(replay, d.segment, d.position, memo));
      return m;
    }
    case ledger::DisputePhase::kTraceRoots:
    case ledger::DisputePhase::kOps:
    case ledger::DisputePhase::kRecords: {
      CAIRN_ASSIGN_OR_RETURN(std::vector<Bytes> records, MemoTraceRecords(replay, d.segment, d.lo_step, memo));
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
        // The operator's inputs, for the referee: delivered before the move names them.
        CAIRN_ASSIGN_OR_RETURN(Bytes blob, replay.OpInputsBlob(d.segment, d.lo_step, d.position));
        CAIRN_ASSIGN_OR_RETURN(m.hash, upload(blob));
      }
      return m;
    }
    default: return FailedPrecondition("the dispute has no round to answer");
  }
}

Result<proof::Certificate> FetchCommittedCertificate(PeerClient& peers, const std::string& endpoint,
                                                     const ledger::Job& job) {
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, peers.GetCertificate(endpoint, job.job_id));
  CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, proof::DecodeCertificate(bytes));
  if (proof::CertificateHash(cert) != job.certificate_hash) {
    // The solver serves something other than what it committed. Retried by
    // the roles; withholding is settled by the game's deadlines.
    return Unavailable("the certificate " + endpoint + " serves is not the one committed for job " + Short(job.job_id));
  }
  return cert;
}

Status FetchCheckpoints(PeerClient& peers, const std::string& endpoint, const proof::Certificate& cert,
                        const std::string& dir, const std::function<void(uint64_t, double)>& on_fetched) {
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(dir));
  for (const Hash256& h : cert.checkpoint_hashes) {
    if (store.Has(h)) continue;
    auto started = std::chrono::steady_clock::now();
    CAIRN_ASSIGN_OR_RETURN(Bytes checkpoint, peers.GetCheckpoint(endpoint, h));
    if (proof::CheckpointHash(checkpoint) != h) {
      return Unavailable("checkpoint " + Short(h) + " from " + endpoint + " does not match its hash");
    }
    CAIRN_RETURN_IF_ERROR(store.Put(h, checkpoint));
    if (on_fetched) {
      on_fetched(checkpoint.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }
  return Status::Ok();
}

}  // namespace cairn::node
