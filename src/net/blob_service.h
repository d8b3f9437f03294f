// The Blobs gRPC service over a node's BlobStore.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "net/blob_service_options.h"

namespace grpc {
class Service;
}

namespace cairn::net {

std::unique_ptr<grpc::Service> MakeBlobService(node::BlobStore* blobs, BlobServiceOptions options);

}  // namespace cairn::net
