// The ledger host's duties besides sequencing: the referee (rules on every
// disputed job by recomputing the segments the challenger's report names,
// signed with the referee key) and the settler (closes every job whose
// window has passed, so funds never stay in escrow because nobody asked).
#pragma once

#include <map>

#include "node/roles/events.h"

namespace cairn::node {

struct LedgerHostPolicy {
  bool referee = true;  // This node holds the genesis referee key.
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
    uint64_t settle_sent_height = 0;  // 0 = not sent.
    bool ruling_running = false;
    uint64_t ruling_sent_height = 0;
    uint64_t ruling_failed_height = 0;
    bool solver_at_fault = false;
  };
  // The height after which `job` can be settled, or nullopt (disputed).
  static std::optional<uint64_t> SettleAfter(const ledger::Job& job);

  const LedgerHostPolicy policy_;
  uint64_t height_ = 0;
  std::map<Hash256, Tracked> jobs_;
};

}  // namespace cairn::node
