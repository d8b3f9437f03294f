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

#include "ledger/tx.h"
#include "ledger/types.h"

namespace cairn::node {

// Events.
// A job after a block changed it, or (at start-up) every job that is not final.
struct JobChanged {
  ledger::Job job;
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
  Hash256 final_model_hash;
};
struct VerificationFinished {
  Hash256 job_id;
  Status status;  // Not OK: the verifier could not do its job (retry); a reject is OK with accept = false.
  bool accept = false;
  Hash256 report_hash;
};
struct RulingReady {
  Hash256 job_id;
  Status status;
  bool solver_at_fault = false;
};
// A transaction a role asked for was refused by the ledger host.
struct TxRefused {
  Hash256 job_id;  // Zero for transactions not about a job.
  std::string operation;
  Status status;
};
using Event = std::variant<JobChanged, NewHeight, InputsFetched, TrainingFinished, VerificationFinished, RulingReady,
                           TxRefused>;

// Actions.
enum class Signer { kNode, kReferee };
struct SendTx {
  ledger::Operation op;
  Signer signer = Signer::kNode;
};
// Fetch the job's manifest and inputs into the blob store -> InputsFetched.
struct FetchInputs {
  ledger::Job job;
};
// Train the job in a worker (resuming from its last checkpoint) -> TrainingFinished.
struct StartTraining {
  ledger::Job job;
};
// Fetch the certificate and checkpoints from the solver, replay a sample -> VerificationFinished.
struct StartVerification {
  ledger::Job job;
};
// Recompute the disputed segments -> RulingReady.
struct StartRuling {
  ledger::Job job;
};
// The job is final: delete what this node kept for it (checkpoints, worker files).
struct PruneJob {
  Hash256 job_id;
};
using Action = std::variant<SendTx, FetchInputs, StartTraining, StartVerification, StartRuling, PruneJob>;

Hash256 JobOf(const Event& event);  // Zero for NewHeight.

class Role {
 public:
  virtual ~Role() = default;
  virtual const char* name() const = 0;
  virtual std::vector<Action> OnEvent(const Event& event) = 0;
};

}  // namespace cairn::node
