// The Proof gRPC service over a solver's ProofSource.
#pragma once

#include <memory>

#include "node/ports.h"

namespace grpc {
class Service;
}

namespace cairn::net {

std::unique_ptr<grpc::Service> MakeProofService(node::ProofSource* source);

}  // namespace cairn::net
