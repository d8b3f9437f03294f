// Shared by net/'s servers and clients: Status <-> grpc::Status, byte
// fields <-> domain types, channel options, and the limits every call obeys.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "crypto/keys.h"

namespace cairn::net {

// Every message is bounded (blocks are at most ~10 MiB, chunks 1 MiB).
inline constexpr int kMessageBytesMax = 16 << 20;
// Deadlines (docs/protocol.md, "Deadlines").
inline constexpr std::chrono::seconds kUnaryDeadline{10};
inline constexpr std::chrono::seconds kChunkDeadline{30};  // Per chunk of a stream.

grpc::Status ToGrpc(const Status& status);
Status FromGrpc(const grpc::Status& status, const std::string& what);

// A 32-byte field: refused with InvalidArgument naming `field` otherwise.
Result<Hash256> HashField(const std::string& bytes, const char* field);
Result<crypto::PublicKey> KeyField(const std::string& bytes, const char* field);
std::string ToField(const Hash256& h);
std::string ToField(const crypto::PublicKey& k);
std::string ToField(ByteView bytes);

// HTTP/2 flow control on every channel and server: the window a receiver
// opens per stream before it must acknowledge, and the largest frame. With
// gRPC's defaults (64 KiB growing by BDP probes, 16 KiB frames) a chunked
// transfer spends its time waiting for window updates; four chunks in
// flight and a chunk in one frame nearly halve a loopback stream's time.
// A receiver may so buffer up to the window per stream it reads.
inline constexpr int kStreamWindowBytes = 4 << 20;
inline constexpr int kFrameBytesMax = 1 << 20;

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint);
// Message limits and flow control of a node's server.
void ConfigureServer(grpc::ServerBuilder* builder);
// A context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout);

}  // namespace cairn::net
