// The Ledger gRPC service over a node's ledger (and, on the ledger host, its
// sequencer). Translation only: every rule lives in ledger/.
#pragma once

#include <functional>
#include <memory>

#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "node/height_watch.h"

namespace grpc {
class Service;
}

namespace cairn::net {

struct LedgerServiceHooks {
  // Called after each SubmitTx with its outcome (metrics).
  std::function<void(const Status&)> on_submit;
};

// `sequencer` is null on a node that follows the ledger host; SubmitTx then
// answers UNAVAILABLE naming the host to send to. All pointers must outlive
// the service.
std::unique_ptr<grpc::Service> MakeLedgerService(ledger::Ledger* ledger, ledger::Sequencer* sequencer,
                                                 node::HeightWatch* heights, std::string ledger_host,
                                                 LedgerServiceHooks hooks = {});

}  // namespace cairn::net
