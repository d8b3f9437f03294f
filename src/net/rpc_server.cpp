#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/resource_quota.h>

#include <vector>

#include "net/blob_service.h"
#include "net/grpc_util.h"
#include "net/ledger_service.h"
#include "net/proof_service.h"
#include "net/rpc_server.h"

namespace cairn::net {

struct RpcServer::Impl {
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> server;
};

RpcServer::RpcServer() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<RpcServer>> RpcServer::Start(const RpcServerOptions& options, const RpcServices& s) {
  CAIRN_ASSERT(s.ledger && s.heights && s.blobs);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<RpcServer> server(new RpcServer());
  Impl& impl = *server->impl_;
  impl.services.push_back(MakeLedgerService(s.ledger, s.sequencer, s.heights, s.ledger_host, {s.on_submit}));
  impl.services.push_back(MakeBlobService(s.blobs, s.blob_options));
  if (s.proofs) impl.services.push_back(MakeProofService(s.proofs));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  ConfigureServer(&builder);
  grpc::ResourceQuota quota("cairn-node");
  quota.SetMaxThreads(static_cast<int>(options.threads_max));
  builder.SetResourceQuota(quota);
  for (auto& service : impl.services) builder.RegisterService(service.get());
  impl.server = builder.BuildAndStart();
  if (!impl.server || server->port_ == 0) {
    return Unavailable("cannot listen on " + options.listen + " (in use, or not an address of this machine)");
  }
  return server;
}

void RpcServer::Shutdown(int grace_ms) {
  if (shut_down_ || !impl_->server) return;
  shut_down_ = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  impl_->server->Wait();
}

RpcServer::~RpcServer() { Shutdown(); }

}  // namespace cairn::net
