// Node: the composition root of `cairn node` (Bitcoin Core's NodeContext).
// It owns every subsystem, starts them in numbered steps and stops them in
// reverse (docs/node.md):
//
//   1. identity: the node key (and the referee key on the ledger host)
//   2. store: RocksDB under DATA/ledger
//   3. ledger: the sequencer's ledger (host) or a follower's replica
//   4. blob store and job work directories
//   5. metrics (Prometheus)
//   6. RPC server (ledger queries, blobs, proofs), then DATA/node.addr
//   7. roles, fed the chain's current state
//   8. threads: event loop, work pool, transaction sender, block producer
//      (host) or block follower (others)
//
// Roles are state machines (roles/events.h); this class carries out their
// actions. A node killed at any point restarts from what is on disk: the
// ledger is crash-safe, the host's mempool durable, trainers resume from
// their last checkpoint, and roles re-derive what is in flight from the chain.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "cairn/status.h"
#include "config/node_config.h"

namespace cairn::node {

struct NodeOptions {
  std::string binary;  // The cairn executable for workers ("" = this one).
};

class Node {
 public:
  static Result<std::unique_ptr<Node>> Start(const config::NodeConfig& config, NodeOptions options = {});
  ~Node();
  // The endpoint peers reach this node at.
  const std::string& endpoint() const;
  // Asks the node to stop (signal-safe: sets a flag). Run returns soon after.
  void RequestStop();
  // Runs until RequestStop or `should_stop` (polled) says so; returns why it
  // stopped (OK for a requested stop).
  Status Run(const std::function<bool()>& should_stop = nullptr);

 private:
  struct Impl;
  Node();
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::node
