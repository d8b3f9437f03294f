// A solver's forced errors (docs/protocol.md, "Forced errors"), as its
// roles compute them: the per-job secret behind its claim's commitment and
// the checkpoint the draw makes it plant.
#pragma once

#include "crypto/hash.h"
#include "ledger/forced_error.h"
#include "ledger/types.h"

namespace cairn::node {

// The secret a solver commits to for one job: derived from the node's own
// secret, so a restarted node reveals what it committed.
inline Hash256 JobSecret(const Hash256& node_secret, const Hash256& job_id) {
  Bytes data(node_secret.bytes.begin(), node_secret.bytes.end());
  data.insert(data.end(), job_id.bytes.begin(), job_id.bytes.end());
  return crypto::TaggedHash("cairn/forced-error/job-secret/v1", data);
}

// The checkpoint this solver must make wrong in `job` (0 = none), once the
// block after its claim is known. REQUIRES: !job.claim_seed.IsZero().
inline uint64_t OwnForcedLeaf(const Hash256& node_secret, const ledger::Job& job, uint64_t checkpoint_count,
                              uint32_t forced_error_bps) {
  return ledger::JobForcedLeaf(JobSecret(node_secret, job.job_id), job, checkpoint_count,
                                 forced_error_bps);
}

// Whether a dispute on `segment` is one this solver answers by revealing:
// the segment ends or starts at its forced checkpoint.
inline bool ConcedesAsForced(uint64_t forced_leaf, uint64_t segment) {
  return forced_leaf != 0 && (segment + 1 == forced_leaf || segment == forced_leaf);
}

}  // namespace cairn::node
