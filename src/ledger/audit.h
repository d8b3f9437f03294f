// Ledger audit: replays the whole block log from genesis in a scratch store
// and checks everything the stored ledger claims: the hash chain, every
// proposer and transaction signature, every recorded state root, and that the
// stored state, bucket digests, head and transaction index are exactly what
// the replay produces. A single edited byte anywhere is reported with where
// it is.
#pragma once

#include <functional>

#include "ledger/ledger.h"

namespace cairn::ledger {

struct AuditReport {
  uint64_t blocks = 0;
  uint64_t transactions = 0;
  uint64_t state_entries = 0;
  Head head;
};

using AuditProgress = std::function<void(uint64_t height, uint64_t head_height)>;

// Returns the report if the stored ledger is consistent, or a Corruption
// naming the first discrepancy.
Result<AuditReport> AuditLedger(const store::KvStore& stored, const AuditProgress& progress = nullptr);

}  // namespace cairn::ledger
