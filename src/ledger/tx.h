// Signed transactions: the only way to change ledger state.
//
// A transaction names its chain, its sender (an Ed25519 public key), the
// sender's next nonce, and one operation. The sender signs
// tx_id = TaggedHash("cairn/tx/v1", body), so a signature is bound to this
// chain, this account and this nonce: it cannot be replayed on another chain,
// by another account, or twice. Wire layout: docs/encoding.md.
#pragma once

#include <optional>
#include <variant>

#include "cairn/bytes.h"
#include "crypto/keys.h"
#include "ledger/types.h"

namespace cairn::ledger {

struct TransferOp {
  AccountId to;
  Amount amount = 0;
  friend bool operator==(const TransferOp&, const TransferOp&) = default;
};
// Devnet only: mints up to params.faucet_amount_max into the sender's balance.
struct FaucetOp {
  Amount amount = 0;
  friend bool operator==(const FaucetOp&, const FaucetOp&) = default;
};
struct StakeOp {
  Amount amount = 0;
  friend bool operator==(const StakeOp&, const StakeOp&) = default;
};
// Moves free stake into unbonding; it returns to the balance after
// params.unbonding_delay_blocks.
struct UnstakeOp {
  Amount amount = 0;
  friend bool operator==(const UnstakeOp&, const UnstakeOp&) = default;
};
struct PostJobOp {
  Hash256 job_id;
  Amount fee = 0;
  Amount solver_stake = 0;
  uint64_t claim_window_blocks = 0;   // Claim by posted height + this.
  uint64_t commit_window_blocks = 0;  // Commit by claimed height + this.
  // BLAKE2b-256 of the job's manifest blob (net/job_manifest.h: the canonical
  // spec and the hash of every input file), from which a solver fetches the
  // job. Zero for a job whose inputs travel outside the network.
  Hash256 manifest_hash;
  // Replicated jobs (Verde-style refereed delegation): this many solvers
  // train the job independently, each claiming one replica and posting its
  // own bond; `fee` is paid per replica (the escrow is fee * replicas).
  // Replica 0 is `job_id`; replica r > 0 is ReplicaJobId(job_id, r).
  uint8_t replicas = 1;
  // The spec verifies in exact mode (bitwise replay under its execution
  // profile): an accept of a segment a referee's ruling then proves wrong
  // cannot be honest, so it costs the verifier its bond. Off for tolerance
  // mode, where an honest accept of a slightly wrong segment is possible.
  bool exact_replay = false;
  friend bool operator==(const PostJobOp&, const PostJobOp&) = default;
};
struct ClaimJobOp {
  Hash256 job_id;
  Hash256 forced_error_commitment;
  friend bool operator==(const ClaimJobOp&, const ClaimJobOp&) = default;
};
struct CommitCertificateOp {
  Hash256 job_id;
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
  Hash256 final_model_hash;
  // Leaves of checkpoint_root (checkpoint 0 through the last); a dispute's
  // Merkle proofs are checked against this size.
  uint64_t checkpoint_count = 0;
  friend bool operator==(const CommitCertificateOp&, const CommitCertificateOp&) = default;
};
// An accept. A reject is a DisputeOpenOp: it must say which segment is wrong.
struct VerdictOp {
  Hash256 job_id;
  bool accept = false;
  Hash256 report_hash;
  friend bool operator==(const VerdictOp&, const VerdictOp&) = default;
};
// Referee only, once a dispute's game has ended (DisputePhase::kReferee):
// what the referee recomputed. `value` is its result for the disputed
// item: the hash of the correct operator record (RefereeTask::kOperator) or
// of the state after the step (kStep). The party whose claim differs from
// it is at fault; solver_at_fault must say the same (the ledger checks).
// The rest is the evidence `cairn ledger audit --recompute` re-executes.
struct RulingOp {
  Hash256 job_id;
  bool solver_at_fault = false;
  uint8_t task = 0;       // RefereeTask.
  Hash256 value;
  Hash256 inputs_hash;    // Blob the referee recomputed from (operator inputs or the agreed state).
  std::string op_name;    // kOperator: the operator, e.g. "aten::addmm.default".
  friend bool operator==(const RulingOp&, const RulingOp&) = default;
};
// A reject that opens the pinpoint game on one segment: the challenger's
// replay from committed checkpoint `segment` (hash start_hash, at
// begin_step) ends at challenger_end_hash instead of the committed
// checkpoint segment + 1 (end_hash, at end_step). The proofs show both
// committed hashes under the job's checkpoint root.
struct DisputeOpenOp {
  Hash256 job_id;
  Hash256 report_hash;
  uint64_t segment = 0;
  uint64_t begin_step = 0;
  uint64_t end_step = 0;
  Hash256 start_hash;
  std::vector<Hash256> start_proof;
  Hash256 end_hash;
  std::vector<Hash256> end_proof;
  Hash256 challenger_end_hash;
  friend bool operator==(const DisputeOpenOp&, const DisputeOpenOp&) = default;
};
// One party's move in the open dispute of a job. `phase` and `position`
// must name the current round (so a late or repeated move cannot count for
// another one). By phase: kSteps: hash = state after step `position`;
// kTraceRoots: hash = trace root, count = records; kOps: hash = prefix
// `position`, proof = its Merkle path; kRecords: record = the record bytes,
// proof = the Merkle path of the prefix it makes (leaf `position`), hash =
// the blob of its inputs delivered to the referee.
struct PinpointMoveOp {
  Hash256 job_id;
  uint8_t phase = 0;
  uint64_t position = 0;
  Hash256 hash;
  uint64_t count = 0;
  std::vector<Hash256> proof;
  Bytes record;
  friend bool operator==(const PinpointMoveOp&, const PinpointMoveOp&) = default;
};
// Anyone: closes a job whose window has passed (pays out, refunds or expires).
struct SettleOp {
  Hash256 job_id;
  friend bool operator==(const SettleOp&, const SettleOp&) = default;
};

// Publishes where the sender's node answers (host:port of its blob and proof
// services), so that peers can fetch what it holds. The latest one counts.
struct AnnounceOp {
  std::string endpoint;  // 1..kEndpointBytesMax printable ASCII bytes, no spaces.
  friend bool operator==(const AnnounceOp&, const AnnounceOp&) = default;
};

// Submitter only, while nobody has claimed the job: the fee is refunded and
// the job ends cancelled.
struct CancelJobOp {
  Hash256 job_id;
  friend bool operator==(const CancelJobOp&, const CancelJobOp&) = default;
};

// Solver only: opens the forced-error commitment made at claim
// (ForcedErrorCommitment(secret, job) == job.forced_error_commitment).
// Either as the answer to a dispute on a segment next to its forced
// checkpoint (the referee then confirms that checkpoint is wrong), or in
// the reveal window after the challenge window (every solver must reveal;
// the job settles after). A forced job revealed after the window carries
// the Merkle proofs of checkpoints forced_leaf - 1 and forced_leaf, so the
// referee can check the forced one against accepting verifiers' audits.
struct RevealOp {
  Hash256 job_id;
  Hash256 secret;
  Hash256 start_hash;  // Checkpoint forced_leaf - 1 (forced job after the window only).
  std::vector<Hash256> start_proof;
  Hash256 end_hash;    // Checkpoint forced_leaf.
  std::vector<Hash256> end_proof;
  friend bool operator==(const RevealOp&, const RevealOp&) = default;
};

// The index of each alternative is its wire tag minus one; append only.
using Operation = std::variant<TransferOp, FaucetOp, StakeOp, UnstakeOp, PostJobOp, ClaimJobOp,
                               CommitCertificateOp, VerdictOp, RulingOp, SettleOp, AnnounceOp,
                               CancelJobOp, DisputeOpenOp, PinpointMoveOp, RevealOp>;
const char* OperationName(const Operation& op);
// The ledger id of replica `replica` of a posted job: the job id itself for
// replica 0, TaggedHash("cairn/replica/v1", job_id || replica) otherwise.
Hash256 ReplicaJobId(const Hash256& job_id, uint8_t replica);
// The job an operation is about, if any.
std::optional<Hash256> JobOfOperation(const Operation& op);

struct TxBody {
  std::string chain_id;
  AccountId sender;
  uint64_t nonce = 0;  // Must be the sender's account nonce + 1.
  Operation op;
  friend bool operator==(const TxBody&, const TxBody&) = default;
};

struct SignedTx {
  TxBody body;
  crypto::Signature signature;
  friend bool operator==(const SignedTx& a, const SignedTx& b) {
    return a.body == b.body && a.signature == b.signature;
  }
};

Bytes EncodeTxBody(const TxBody& body);
// The hash the sender signs; also the transaction's id.
Hash256 TxId(const TxBody& body);

Bytes EncodeTx(const SignedTx& tx);
// Strict: rejects unknown tags, over-long fields and trailing bytes, so every
// accepted byte string is the one canonical encoding of its transaction.
Result<SignedTx> DecodeTx(ByteView bytes);

SignedTx SignTx(TxBody body, const crypto::KeyPair& key);
// Checks the signature over TxId(body) with body.sender.
bool VerifyTxSignature(const SignedTx& tx);
// The same, for a caller that already has the id. REQUIRES: tx_id == TxId(tx.body).
bool VerifyTxSignature(const SignedTx& tx, const Hash256& tx_id);

}  // namespace cairn::ledger
