// `cairn ledger audit --recompute` (docs/protocol.md, "Re-checking the
// referee"): after the block log has been replayed and its state roots
// checked, every RulingOp in it is re-executed from the evidence it names,
// the way the referee computed it (node/ruling.h), and reported CONFIRMED,
// CONTRADICTED or UNCHECKABLE.
#pragma once

#include <string>

#include "ledger/ledger.h"

namespace cairn::cli {

struct RulingAuditOptions {
  std::string data_dir;  // The audited node's data directory (blobs/, referee/, solver/, verifier/).
  // A node to fetch blobs the data directory lacks from (its blob service),
  // and whose ledger names the solver's proof service; "" = offline.
  std::string node;
};

struct RulingAuditSummary {
  int rulings = 0;
  int confirmed = 0;
  int contradicted = 0;
  int uncheckable = 0;
};

// Prints one paragraph per ruling of `ledger` and returns the counts.
Result<RulingAuditSummary> AuditRulings(const ledger::Ledger& ledger, const RulingAuditOptions& options);

}  // namespace cairn::cli
