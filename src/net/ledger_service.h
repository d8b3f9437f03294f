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

// Bounds of one SubmitTxs call: a batch is admitted under one sequencer lock
// and persisted in one write, so it stays small next to a block, and its
// request far below the 16 MiB message limit. Clients split longer batches.
inline constexpr size_t kSubmitTxsCountMax = 256;
inline constexpr size_t kSubmitTxsBytesMax = size_t{1} << 20;  // Sum of the encoded transactions.
static_assert(kSubmitTxsBytesMax >= 64 * ledger::kTxBytesMax, "a batch holds at least 64 transactions of the largest size");
static_assert(kSubmitTxsBytesMax * 8 <= (size_t{16} << 20), "a batch is far below the gRPC message limit");

struct LedgerServiceHooks {
  // Called after each SubmitTx, and for each transaction of a SubmitTxs, with its outcome (metrics).
  std::function<void(const Status&)> on_submit;
};

// `sequencer` is null on a node that follows the ledger host; SubmitTx then
// answers UNAVAILABLE naming the host to send to. All pointers must outlive
// the service.
std::unique_ptr<grpc::Service> MakeLedgerService(ledger::Ledger* ledger, ledger::Sequencer* sequencer,
                                                 node::HeightWatch* heights, std::string ledger_host,
                                                 LedgerServiceHooks hooks = {});

}  // namespace cairn::net
