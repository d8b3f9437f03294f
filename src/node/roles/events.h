// What the node's roles take in and give out. Roles are pure state machines
// (docs/node.md): the node (or the simulation in tests/sim) turns blocks,
// finished work and timers into Events, feeds them to every role, and carries
// out the Actions they return. No role does I/O, reads a clock or draws
// randomness, so the same roles run many to a process in a deterministic
// simulation.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "ledger/dispute.h"
#include "ledger/tx.h"
#include "ledger/types.h"

namespace cairn::node {

// Events.
// A job after a block changed it, or (at start-up) every job that is not final.
struct JobChanged {
  ledger::Job job;
  std::optional<ledger::Dispute> dispute;  // The open one, while the job is disputed.
};
// A block was applied: the chain's clock. `account` is this node's own account after it.
struct NewHeight {
  uint64_t height = 0;
  ledger::Account account;
};
struct InputsFetched {
  Hash256 job_id;
  Status status;
};
struct TrainingFinished {
  Hash256 job_id;
  Status status;
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
  uint64_t checkpoint_count = 0;  // Leaves of checkpoint_root.
  Hash256 final_model_hash;
};
struct VerificationFinished {
  Hash256 job_id;
  Status status;  // Not OK: the verifier could not do its job (retry); a reject is OK with accept = false.
  bool accept = false;
  Hash256 report_hash;
  // A reject the verifier can prove: the dispute it opens. Absent for a
  // reject it cannot take to the referee (the solver served nothing to
  // replay); it then posts no verdict.
  std::optional<ledger::DisputeOpenOp> dispute;
};
struct RulingReady {
  Hash256 job_id;
  Status status;
  ledger::RulingOp ruling;
};
// This node's move in a dispute it is a party to was computed.
struct MoveComputed {
  Hash256 job_id;
  uint32_t dispute = 0;
  Status status;
  ledger::PinpointMoveOp move;
};
// The solver made its certificate carry the job's forced error (or failed to).
struct ForcedErrorPlanted {
  Hash256 job_id;
  Status status;
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
};
// A transaction a role asked for was refused by the ledger host.
struct TxRefused {
  Hash256 job_id;  // Zero for transactions not about a job.
  std::string operation;
  Status status;
};
using Event = std::variant<JobChanged, NewHeight, InputsFetched, TrainingFinished, VerificationFinished, RulingReady,
                           TxRefused, MoveComputed, ForcedErrorPlanted>;

// Actions.
enum class Signer { kNode, kReferee };
struct SendTx {
  ledger::Operation op;
  Signer signer = Signer::kNode;
};
// Moves of the pinpoint game have a deadline in blocks: they go first.
inline bool IsUrgent(const SendTx& send) {
  return std::holds_alternative<ledger::PinpointMoveOp>(send.op) || std::holds_alternative<ledger::DisputeOpenOp>(send.op) ||
         std::holds_alternative<ledger::RevealOp>(send.op);
}
// Fetch the job's manifest and inputs into the blob store -> InputsFetched.
struct FetchInputs {
  ledger::Job job;
};
// Train the job in a worker (resuming from its last checkpoint) -> TrainingFinished.
struct StartTraining {
  ledger::Job job;
};
// Fetch the certificate and checkpoints from the solver, replay a sample
// (and this verifier's audited segments) -> VerificationFinished.
struct StartVerification {
  ledger::Job job;
  // A whistleblower's: exactly these segments (other verifiers' audits).
  std::vector<uint64_t> segments = {};
  // A replicated job's solver checking a sibling replica against its own
  // (this node's replica of the same group): the first checkpoint where the
  // two differ decides the segment replayed.
  Hash256 own_replica = {};
};
// Make the trained certificate carry its forced error: checkpoint `leaf`
// replaced by a wrong one, re-signed -> ForcedErrorPlanted.
struct PlantForcedError {
  ledger::Job job;
  uint64_t leaf = 0;
};
// Post the solver's RevealOp for `secret`; for a forced job after the
// challenge window (leaf != 0) with the proofs of checkpoints leaf - 1 and leaf.
struct SendReveal {
  ledger::Job job;
  Hash256 secret;
  uint64_t leaf = 0;
};
// Recompute what the dispute's game left to the referee -> RulingReady.
struct StartRuling {
  ledger::Job job;
  ledger::Dispute dispute;
};
// Compute this node's answer for the dispute's current round -> MoveComputed.
struct ComputeMove {
  ledger::Job job;
  ledger::Dispute dispute;
  ledger::DisputeParty party = ledger::DisputeParty::kSolver;
};
// The job is final: delete what this node kept for it (checkpoints, worker files).
struct PruneJob {
  Hash256 job_id;
};
using Action = std::variant<SendTx, FetchInputs, StartTraining, StartVerification, StartRuling, PruneJob, ComputeMove,
                            PlantForcedError, SendReveal>;

Hash256 JobOf(const Event& event);  // Zero for NewHeight.

class Role {
 public:
  virtual ~Role() = default;
  virtual const char* name() const = 0;
  virtual std::vector<Action> OnEvent(const Event& event) = 0;
};

}  // namespace cairn::node
