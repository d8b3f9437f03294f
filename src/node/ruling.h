// What the referee recomputes once a dispute's game has ended
// (docs/protocol.md, "The referee"), as one function that the referee
// (JobWork::Rule) and the audit (`cairn ledger audit --recompute`) both
// call, so that anyone can re-execute a ruling the way it was made.
#pragma once

#include <optional>

#include "ledger/dispute.h"
#include "ledger/tx.h"
#include "node/dispute_replay.h"

namespace cairn::node {

// Where a recomputation reads the committed work. The referee fetches it
// from the parties; the audit reads a data directory (and a node). Every
// call may fail; a NotFound or Unavailable says what is missing and where it
// was looked for.
class RulingEvidence {
 public:
  virtual ~RulingEvidence() = default;
  // An operator-inputs blob that hashes to `hash`.
  virtual Result<Bytes> OperatorInputs(const Hash256& hash) = 0;
  // The job's committed certificate (its hash checked against the ledger).
  virtual Result<const proof::Certificate*> Certificate() = 0;
  // The job's inputs and its committed checkpoints, for a replay.
  virtual Result<const DisputeReplay*> Replay() = 0;
};

struct RulingOptions {
  const crypto::KeyPair* key = nullptr;  // Signs the report of a segment replay.
  train::WorkerOptions worker;           // Where one operator is recomputed.
  // Operator rulings: the inputs blob to try before the challenger's and the
  // solver's (the audit passes the ruling's own). The dispute's agreed state
  // hash here means the referee traced the step itself: so does the audit.
  std::optional<Hash256> inputs_first;
};

// The ruling on `d` (phase kReferee or kResolved, with a task): the task, the
// value the referee computes, the evidence it used and solver_at_fault.
Result<ledger::RulingOp> RecomputeRuling(const ledger::Job& job, const ledger::Dispute& d, RulingEvidence& evidence,
                                         const RulingOptions& options);

// What the ruling on `d` claims for each party: the solver's claim (record
// hash or state hash) that a ruling's value must equal for the solver to win.
Hash256 SolverClaim(const ledger::Dispute& d);
Hash256 ChallengerClaim(const ledger::Dispute& d);

}  // namespace cairn::node
