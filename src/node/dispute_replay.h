// One party's computation in a dispute (docs/protocol.md, "Disputes"): the
// committed checkpoint that starts a segment, restored in an engine (the
// sandboxed worker unless the options say otherwise) and replayed to the
// step a round asks about. The solver, a challenger, the referee, the audit
// and `cairn dispute open|answer` each build one over their own copy of the
// checkpoints, so an honest party's answers are the truth.
//
// A DisputeReplay borrows its inputs and certificate; each call starts its
// own engine, so calls are independent. Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/dispute.h"
#include "ledger/tx.h"
#include "node/job_inputs.h"
#include "node/ports.h"
#include "proof/certificate.h"
#include "proof/op_trace.h"
#include "train/engine.h"
#include "train/train.h"

namespace cairn::node {

class DisputeReplay {
 public:
  // REQUIRES: `inputs` and `cert` outlive this; `checkpoint_dir` is a
  // proof::CheckpointStore holding the committed checkpoints a call needs.
  DisputeReplay(const JobInputs& inputs, const proof::Certificate& cert, std::string checkpoint_dir,
                train::EngineOptions options)
      : inputs_(inputs), cert_(cert), checkpoint_dir_(std::move(checkpoint_dir)), options_(std::move(options)) {}

  const proof::Certificate& certificate() const { return cert_; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }

  // An engine at the state after `step` steps, replayed from the committed
  // checkpoint that starts `segment`.
  Result<std::unique_ptr<train::Engine>> EngineAt(uint64_t segment, uint64_t step) const;
  // The hash of that state (the committed hash itself at the segment's start).
  Result<Hash256> StateAfter(uint64_t segment, uint64_t step) const;
  // The hash of the state at the end of `segment` replayed from `start` (an
  // encoded checkpoint) instead of its committed checkpoint.
  Result<Hash256> EndFrom(uint64_t segment, const Bytes& start) const;
  // The honest twin of committed checkpoint `leaf`, a revealed forced error:
  // the committed bytes with the forced bit flipped back.
  Result<Bytes> TwinOf(uint64_t leaf) const;
  // The state hash after every step of `segment` up to `step`, from one
  // replay: element i is the state after start_step + i + 1.
  Result<std::vector<Hash256>> StepHashesTo(uint64_t segment, uint64_t step) const;
  // Step `step` (in `segment`) traced from the state before it.
  Result<proof::StepTrace> TraceOf(uint64_t segment, uint64_t step) const;
  // The same trace's records, encoded.
  Result<std::vector<Bytes>> TraceRecords(uint64_t segment, uint64_t step) const;
  // The input blob of record `op_index` of that step.
  Result<Bytes> OpInputsBlob(uint64_t segment, uint64_t step, uint64_t op_index) const;
  // `segment` replayed with every check `cairn verify` makes; `key` signs the
  // report, `solver` is who must have signed the certificate.
  Result<train::VerifyReport> VerifySegment(uint64_t segment, const crypto::KeyPair& key,
                                            const crypto::PublicKey& solver) const;

 private:
  Result<Bytes> Committed(uint64_t index) const;
  Result<std::unique_ptr<train::Engine>> EngineFrom(const Bytes& start) const;

  const JobInputs& inputs_;
  const proof::Certificate& cert_;
  std::string checkpoint_dir_;
  train::EngineOptions options_;
};

// The Merkle path of committed checkpoint `index` under the certificate's root.
std::vector<Hash256> CheckpointProof(const proof::Certificate& cert, uint64_t index);

// The dispute_open a challenger posts on `segment` from its replay (the
// end state it reaches, or the committed one when its replay fails, which
// sends the game to the referee as a segment task); nullopt if the segment
// has no committed end to dispute.
Result<std::optional<ledger::DisputeOpenOp>> PrepareDisputeOpen(const Hash256& job_id, const DisputeReplay& challenger,
                                                                uint32_t segment, const Hash256& report_hash);

// Stores an operator-inputs blob where the referee reads it (the ledger
// host) and returns its hash.
using UploadForReferee = std::function<Result<Hash256>(const Bytes& blob)>;

// What one party computed in earlier rounds of one dispute, so that a later
// round is a lookup instead of a replay: the state after every step of the
// disputed segment up to the furthest step asked (a round whose step lies
// before it needs no replay) and the trace of the pinned step (one trace
// answers every operator round).
struct DisputeMemo {
  std::optional<std::vector<Hash256>> step_hashes;
  std::optional<uint64_t> traced_step;
  std::vector<Bytes> records;  // Of traced_step, encoded.
};

// A party's move in the current round of `d`, computed from its replay.
// `upload` is called in the records round only, before the move names the
// blob. `memo` (optional) keeps what this party computed for `d` before.
Result<ledger::PinpointMoveOp> ComputePinpointMove(const ledger::Dispute& d, const DisputeReplay& replay,
                                                   const UploadForReferee& upload, DisputeMemo* memo = nullptr);

// The certificate `endpoint` serves for `job`, refused unless it is the one
// committed on the ledger.
Result<proof::Certificate> FetchCommittedCertificate(PeerClient& peers, const std::string& endpoint,
                                                     const ledger::Job& job);
// Every checkpoint `cert` names that `dir` lacks, from `endpoint`, each
// checked against its hash. `on_fetched(bytes, seconds)` sees each transfer.
Status FetchCheckpoints(PeerClient& peers, const std::string& endpoint, const proof::Certificate& cert,
                        const std::string& dir, const std::function<void(uint64_t, double)>& on_fetched = nullptr);

}  // namespace cairn::node
