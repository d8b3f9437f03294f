// Truebit-style forced errors and the verifiers' audited segments
// (docs/protocol.md, "Forced errors"). Pure functions of ledger data, so
// every node, the referee and anyone auditing compute the same.
#pragma once

#include <cstdint>
#include <vector>

#include "cairn/bytes.h"
#include "ledger/types.h"

namespace cairn::ledger {

// What a solver posts at claim: binds it to `secret` for this job before the
// block that, with the secret, draws the forced error.
Hash256 ForcedErrorCommitment(const Hash256& secret, const Hash256& job_id);

// The checkpoint (1 .. checkpoint_count - 2) the solver must commit wrong,
// or 0 when the draw gives this job no forced error. A forced error needs
// an intermediate checkpoint, so a job of one segment never carries one.
uint64_t ForcedErrorLeaf(const Hash256& secret, const Hash256& claim_seed, const Hash256& job_id,
                         uint64_t checkpoint_count, uint32_t forced_error_bps);

// The forced checkpoint of `job` for the secret behind its claim: 0 unless
// the job is exact-replay. A one-bit error is within any tolerance-mode
// job's thresholds, so an honest verifier of such a job would accept it and
// lose its bond: tolerance-mode jobs carry no forced errors.
// REQUIRES: !job.claim_seed.IsZero() for a meaningful draw.
uint64_t JobForcedLeaf(const Hash256& secret, const Job& job, uint64_t checkpoint_count, uint32_t forced_error_bps);

// The segments (sorted, distinct, min(count, segments) of them) an accepting
// verifier answers for: drawn from the job's selection seed, so neither the
// verifier nor the solver chooses them.
std::vector<uint64_t> AuditedSegments(const Hash256& selection_seed, const Hash256& job_id,
                                      const AccountId& verifier, uint64_t segments, uint32_t count);

// Whether `verifier`'s audited segments of `job` include `segment`.
bool AuditIncludes(const Job& job, const AccountId& verifier, uint32_t audited_segments, uint64_t segment);

// Whether an accept by `verifier` approved a wrong checkpoint `leaf`: its
// audited segments include one that ends or starts at it.
bool AuditCovers(const Job& job, const AccountId& verifier, uint32_t audited_segments, uint64_t leaf);

}  // namespace cairn::ledger
