// The pinpoint game on the ledger (docs/protocol.md, "Disputes"): a
// challenger who replayed a segment and got another hash bisects with the
// solver, first over the steps of the segment, then over the ordered
// operator records of the one disputed step, and the referee recomputes
// what is left. Every move is a transaction; the ledger keeps the state of
// the game and the transcript, and a party that does not move in time loses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "ledger/state.h"
#include "ledger/types.h"

namespace cairn::ledger {

// Bounds on what a dispute may hold.
inline constexpr uint64_t kDisputeSegmentStepsMax = uint64_t{1} << 24;
inline constexpr uint64_t kTraceRecordsMax = uint64_t{1} << 24;
inline constexpr size_t kMerkleProofHashesMax = 64;
inline constexpr size_t kTraceRecordBytesMax = 6144;  // Within kTxBytesMax with the rest of a move.
inline constexpr uint32_t kDisputeMovesMax = 256;
inline constexpr size_t kOpNameBytesMax = 128;

enum class DisputePhase : uint8_t {
  // Both post the hash of their state after step `position`
  // (lo_step < position < hi_step).
  kSteps = 1,
  // Step lo_step (state lo_step -> lo_step + 1) is disputed: both post the
  // root and record count of their operator trace of it.
  kTraceRoots = 2,
  // Both reveal trace prefix `position` (the chain over their first
  // `position` records) with its Merkle proof against their root.
  kOps = 3,
  // Record op_lo (0-based) is the first that differs: both reveal it.
  kRecords = 4,
  // Waiting for the referee to recompute and rule.
  kReferee = 5,
  kResolved = 6,
};
const char* DisputePhaseName(DisputePhase phase);

// What the referee recomputes when the game ends.
enum class RefereeTask : uint8_t {
  kNone = 0,
  // One operator: both revealed their record `op_lo` after an agreed
  // prefix; the referee recomputes its output from the inputs.
  kOperator = 1,
  // The whole step lo_step from the agreed state: the traces agree but the
  // states after the step do not, or one trace is a prefix of the other, or
  // the differing records name different inputs.
  kStep = 2,
  // The segment's end state is not disputed but its signed claims are (loss,
  // norms, the evaluation): the referee replays the segment and checks them.
  // Its ruling is its word, re-checked by `cairn ledger audit --recompute`.
  kSegment = 3,
  // The solver revealed that the disputed segment's checkpoint is its forced
  // error: the referee replays the segment from its committed start and
  // rules whether the committed end really is wrong (value = its end hash).
  // Confirmed, the challenger wins the jackpot share and the bonds of the
  // verifiers that accepted the job with that checkpoint audited; refuted,
  // the solver faked a forced error and is slashed. challenger is zero when
  // the ledger opened the check itself (a forced error nobody caught).
  kForcedCheck = 4,
};

enum class DisputeParty : uint8_t { kSolver = 1, kChallenger = 2 };

// One transaction of the game, kept for `cairn dispute show`.
struct DisputeMove {
  uint64_t height = 0;
  DisputeParty party = DisputeParty::kSolver;
  DisputePhase phase = DisputePhase::kSteps;
  uint64_t position = 0;
  Hash256 hash;
  uint64_t count = 0;
  friend bool operator==(const DisputeMove&, const DisputeMove&) = default;
};

// What one party posted in the current round.
struct DisputeClaim {
  bool moved = false;
  Hash256 hash;    // State hash, trace root, prefix hash, inputs blob (by phase).
  uint64_t count = 0;  // kTraceRoots: records in the trace.
  Hash256 trace_root;  // Kept from kTraceRoots for the later proofs.
  uint64_t trace_count = 0;
  // kOps: the party's prefix op_hi (the first one known to differ); its
  // record op_lo must chain from op_lo_prefix to it.
  Hash256 prefix_hi;
  Bytes record;  // kRecords.
  friend bool operator==(const DisputeClaim&, const DisputeClaim&) = default;
};

struct Dispute {
  Hash256 job_id;
  uint32_t index = 0;  // 0 for the job's first dispute.
  AccountId challenger;
  Amount bond = 0;
  uint64_t opened_height = 0;
  uint64_t segment = 0;
  // The state after lo_step is agreed (lo_hash); after hi_step it is not.
  uint64_t lo_step = 0;
  uint64_t hi_step = 0;
  Hash256 lo_hash;
  Hash256 solver_hi_hash;
  Hash256 challenger_hi_hash;
  DisputePhase phase = DisputePhase::kSteps;
  uint64_t position = 0;         // What the current round asks about.
  uint64_t deadline_height = 0;  // Last height for the current round's moves.
  DisputeClaim solver;
  DisputeClaim challenger_claim;
  // Operator bisection: prefixes of op_lo records agree (op_lo_prefix), of
  // op_hi records differ (op_hi_known: the reveal at op_hi happened).
  uint64_t op_lo = 0;
  uint64_t op_hi = 0;
  bool op_hi_known = false;
  Hash256 op_lo_prefix;
  RefereeTask task = RefereeTask::kNone;
  // Outcome (kResolved).
  bool solver_at_fault = false;
  uint64_t resolved_height = 0;
  std::string resolution;  // "ruling: ..." or "timeout: ...".
  std::vector<DisputeMove> moves;
  friend bool operator==(const Dispute&, const Dispute&) = default;
};

std::string DisputeKey(const Hash256& job_id, uint32_t index);
std::string EncodeDispute(const Dispute& d);
Result<Dispute> DecodeDispute(std::string_view bytes);
// Dispute `index` of a job (0 = its first); nullopt if it never had one.
Result<std::optional<Dispute>> GetDispute(const StateReader& s, const Hash256& job_id, uint32_t index);
void PutDispute(Overlay* s, const Dispute& d);

// The trace commitment both parties make of the disputed step: prefix
// hashes chained from the agreed state, P_0 = TracePrefixStart(lo_hash),
// P_{n+1} = TracePrefixNext(P_n, hash of record n), and the Merkle root over
// leaves P_1..P_count (leaf = MerkleLeafHash of the prefix bytes). Agreeing
// on P_n means agreeing on the first n records; a Merkle proof for leaf
// n - 1 shows P_n belongs to a party's root.
Hash256 TracePrefixStart(const Hash256& state_hash);
Hash256 TracePrefixNext(const Hash256& prefix, const Hash256& record_hash);
Hash256 TraceRecordHash(ByteView record);
// Leaves P_1..P_n for records with these hashes.
std::vector<Hash256> TracePrefixes(const Hash256& state_hash, const std::vector<Hash256>& record_hashes);
Hash256 TraceRoot(const std::vector<Hash256>& prefixes);
// The Merkle path of prefix P_{index + 1} (leaf `index`) under TraceRoot.
// REQUIRES: index < prefixes.size().
std::vector<Hash256> TracePrefixProof(const std::vector<Hash256>& prefixes, size_t index);

// Whether `verifier` is drawn to judge a job with this selection seed:
// TaggedHash(seed, job, verifier) read as a number below sample_bps/10000
// of its range. Deterministic, so anyone can check it.
bool SelectedVerifier(const Hash256& selection_seed, const Hash256& job_id, const AccountId& verifier,
                      uint32_t sample_bps);

}  // namespace cairn::ledger
