// The verifier role: for every committed certificate it did not make and has
// not judged, and that it was drawn for (or any, in challenge mode), fetch
// what it needs, replay a sample in a worker, and post a signed verdict
// (bonding params.verifier_stake_min): an accept, or a dispute that opens the
// pinpoint game (the disputant role plays it). A replay that could not
// run (a peer gone, a disk error) is retried while the challenge window is
// open; after a restart, every committed job without its verdict is checked
// again from the start, so a check in flight is never lost.
#pragma once

#include <map>
#include <set>

#include "node/roles/events.h"

namespace cairn::node {

struct VerifierPolicy {
  ledger::Amount bond = 0;       // params.verifier_stake_min: needed free to give a verdict.
  uint32_t sample_bps = 10000;   // params.verifier_sample_bps: the chance of being drawn for a job.
  // Challenge mode: also check jobs this verifier was not drawn for, and open
  // a dispute on every reject it can prove. Off: only drawn jobs, and a
  // reject is logged for the operator (`cairn dispute open`).
  bool challenge = true;
  uint64_t resend_blocks = 10;
  uint64_t retry_blocks = 5;
  uint32_t attempts_max = 20;
};

class VerifierRole final : public Role {
 public:
  VerifierRole(ledger::AccountId me, VerifierPolicy policy) : me_(me), policy_(policy) {}
  const char* name() const override { return "verifier"; }
  std::vector<Action> OnEvent(const Event& event) override;

 private:
  // kAwaitingStake: judged, but the verdict was refused for lack of free
  // stake (bonded to other verdicts); sent again once stake is released.
  enum class Phase { kVerifying, kFailed, kVerdictSent, kAwaitingStake };
  struct Tracked {
    ledger::Job job;
    Phase phase = Phase::kVerifying;
    uint64_t since_height = 0;
    uint32_t attempts = 0;
    bool accept = false;
    Hash256 report_hash;
    std::optional<ledger::DisputeOpenOp> dispute;
  };
  // Drawn, staked before the commitment, not the solver: may judge `job`.
  bool MayJudge(const ledger::Job& job) const;
  bool Voted(const ledger::Job& job) const;
  SendTx Verdict(const Tracked& t) const;

  const ledger::AccountId me_;
  const VerifierPolicy policy_;
  uint64_t height_ = 0;
  ledger::Account account_;
  std::map<Hash256, Tracked> jobs_;
  // Committed jobs seen while this verifier could not bond a verdict (its
  // stake was bonded elsewhere): checked once the stake is free again, so a
  // cheater cannot slip a certificate past by keeping verifiers busy.
  std::map<Hash256, ledger::Job> waiting_for_stake_;
  // Jobs checked with no verdict to post (see OnEvent): not checked again.
  std::set<Hash256> passed_;
  // Jobs this verifier disputed (the ledger allows one dispute per job).
  std::set<Hash256> disputed_;
};

}  // namespace cairn::node
