// The ledger host's duties besides sequencing: the referee (once a
// dispute's game has ended, recomputes what it left, one operator, one step
// or one segment, and rules, signed with the referee key) and the settler
// (closes every job whose window has passed, and every dispute whose round
// deadline a party missed, so funds never stay in escrow because nobody
// asked).
#pragma once

#include <map>

#include "node/roles/events.h"

namespace cairn::node {

struct LedgerHostPolicy {
  bool referee = true;  // This node holds the genesis referee key.
  uint64_t reveal_window_blocks = 20;  // params.reveal_window_blocks.
  uint64_t resend_blocks = 10;
  uint64_t retry_blocks = 5;
};

class LedgerHostRole final : public Role {
 public:
  explicit LedgerHostRole(LedgerHostPolicy policy) : policy_(policy) {}
  const char* name() const override { return "ledger-host"; }
  std::vector<Action> OnEvent(const Event& event) override;

 private:
  struct Tracked {
    ledger::Job job;
    std::optional<ledger::Dispute> dispute;
    uint64_t settle_sent_height = 0;  // 0 = not sent.
    bool ruling_running = false;
    uint64_t ruling_sent_height = 0;
    uint64_t ruling_failed_height = 0;
    ledger::RulingOp ruling;
  };
  // The height after which the job can be settled (or its dispute closed
  // by timeout), or nullopt (waiting for the referee).
  std::optional<uint64_t> SettleAfter(const Tracked& t) const;
  static bool AwaitsReferee(const Tracked& t) {
    return t.job.status == ledger::JobStatus::kDisputed && t.dispute &&
           t.dispute->phase == ledger::DisputePhase::kReferee;
  }

  const LedgerHostPolicy policy_;
  uint64_t height_ = 0;
  std::map<Hash256, Tracked> jobs_;
};

}  // namespace cairn::node
