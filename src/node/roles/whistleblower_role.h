// The whistleblower role (docs/protocol.md, "Incentives"): re-checks the
// verifiers. For every accept on a committed job it replays the segments
// that accept answers for (ledger::AuditedSegments), and disputes the first
// that disagrees. If the error is the solver's forced one, the referee
// confirms it and the whistleblower wins the jackpot share and the bonds of
// every acceptor that audited it; if it is a real error, the pinpoint game
// slashes the solver. It posts no accepts.
#pragma once

#include <map>
#include <set>

#include "node/roles/events.h"

namespace cairn::node {

struct WhistleblowerPolicy {
  ledger::Amount bond = 0;        // params.verifier_stake_min: a dispute bonds it.
  uint32_t audited_segments = 2;  // params.audited_segments.
  uint64_t resend_blocks = 10;
  uint64_t retry_blocks = 5;
  uint32_t attempts_max = 20;
};

class WhistleblowerRole final : public Role {
 public:
  WhistleblowerRole(ledger::AccountId me, WhistleblowerPolicy policy) : me_(me), policy_(policy) {}
  const char* name() const override { return "whistleblower"; }
  std::vector<Action> OnEvent(const Event& event) override;

 private:
  enum class Phase { kChecking, kFailed, kDisputeSent };
  struct Tracked {
    ledger::Job job;
    Phase phase = Phase::kChecking;
    uint64_t since_height = 0;
    uint32_t attempts = 0;
    std::vector<uint64_t> segments;  // What is being checked.
    std::optional<ledger::DisputeOpenOp> dispute;
  };
  void OnJob(const ledger::Job& job, std::vector<Action>* out);
  // May this account dispute `job` (staked before the commitment, not a party)?
  bool MayDispute(const ledger::Job& job) const;

  const ledger::AccountId me_;
  const WhistleblowerPolicy policy_;
  uint64_t height_ = 0;
  ledger::Account account_;
  std::map<Hash256, Tracked> jobs_;
  // Per job, the segments already replayed and found right.
  std::map<Hash256, std::set<uint64_t>> checked_;
  std::set<Hash256> disputed_;  // One dispute per account and job.
};

}  // namespace cairn::node
