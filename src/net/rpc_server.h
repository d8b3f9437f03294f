// RpcServer: one gRPC server per node, on one address, serving the services
// of the node's roles (ledger queries everywhere and submission on the
// ledger host; blobs on every node; proofs on solvers), with server
// reflection and message limits. Built from domain objects, so callers never
// see a gRPC type.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cairn/status.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/blob_service_options.h"
#include "node/height_watch.h"
#include "node/ports.h"

namespace grpc {
class Server;
class Service;
}

namespace cairn::net {

struct RpcServices {
  ledger::Ledger* ledger = nullptr;        // Required.
  ledger::Sequencer* sequencer = nullptr;  // The ledger host only.
  node::HeightWatch* heights = nullptr;    // Required.
  std::string ledger_host;                 // Named to clients that submit to a follower.
  std::function<void(const Status&)> on_submit;
  node::BlobStore* blobs = nullptr;        // Required.
  BlobServiceOptions blob_options;
  node::ProofSource* proofs = nullptr;     // Solvers.
};

struct RpcServerOptions {
  std::string listen;  // host:port; port 0 picks a free one.
  unsigned threads_max = 32;
};

class RpcServer {
 public:
  // Fails when the address cannot be bound. The services' objects must outlive the server.
  static Result<std::unique_ptr<RpcServer>> Start(const RpcServerOptions& options, const RpcServices& services);
  ~RpcServer();
  int port() const { return port_; }
  // Stops accepting calls, cancels streams after `grace_ms`, waits for handlers.
  void Shutdown(int grace_ms = 1000);

 private:
  struct Impl;
  RpcServer();
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace cairn::net
