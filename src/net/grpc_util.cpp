#include "net/grpc_util.h"

#include <absl/synchronization/mutex.h>

#include <cstring>
#include <mutex>

namespace cairn::net {

grpc::Status ToGrpc(const Status& status) {
  using G = grpc::StatusCode;
  G code = G::UNKNOWN;
  switch (status.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kInvalidArgument: code = G::INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: code = G::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: code = G::ALREADY_EXISTS; break;
    case StatusCode::kPermissionDenied: code = G::PERMISSION_DENIED; break;
    case StatusCode::kFailedPrecondition: code = G::FAILED_PRECONDITION; break;
    case StatusCode::kCorruption: code = G::DATA_LOSS; break;
    case StatusCode::kIoError: code = G::INTERNAL; break;
    case StatusCode::kUnavailable: code = G::UNAVAILABLE; break;
    case StatusCode::kResourceExhausted: code = G::RESOURCE_EXHAUSTED; break;
    case StatusCode::kInternal: code = G::INTERNAL; break;
    default: code = G::UNKNOWN; break;
  }
  return grpc::Status(code, status.message());
}

Status FromGrpc(const grpc::Status& status, const std::string& what) {
  using G = grpc::StatusCode;
  if (status.ok()) return Status::Ok();
  std::string m = what + ": " + status.error_message();
  switch (status.error_code()) {
    case G::INVALID_ARGUMENT: return InvalidArgument(m);
    case G::NOT_FOUND: return NotFound(m);
    case G::ALREADY_EXISTS: return AlreadyExists(m);
    case G::PERMISSION_DENIED:
    case G::UNAUTHENTICATED: return PermissionDenied(m);
    case G::FAILED_PRECONDITION:
    case G::OUT_OF_RANGE: return FailedPrecondition(m);
    case G::DATA_LOSS: return Corruption(m);
    case G::RESOURCE_EXHAUSTED: return ResourceExhausted(m);
    case G::UNAVAILABLE: return Unavailable(what + ": no answer (" + status.error_message() + ")");
    case G::DEADLINE_EXCEEDED: return Unavailable(what + ": no answer before the deadline");
    case G::CANCELLED: return Unavailable(what + ": cancelled");
    default: return Internal(m);
  }
}

Result<Hash256> HashField(const std::string& bytes, const char* field) {
  Hash256 h;
  if (bytes.size() != h.bytes.size()) {
    return InvalidArgument(std::string(field) + " must be 32 bytes, got " + std::to_string(bytes.size()));
  }
  std::memcpy(h.bytes.data(), bytes.data(), h.bytes.size());
  return h;
}

Result<crypto::PublicKey> KeyField(const std::string& bytes, const char* field) {
  crypto::PublicKey k;
  if (bytes.size() != k.bytes.size()) {
    return InvalidArgument(std::string(field) + " must be a 32-byte public key, got " + std::to_string(bytes.size()) +
                           " bytes");
  }
  std::memcpy(k.bytes.data(), bytes.data(), k.bytes.size());
  return k;
}

std::string ToField(const Hash256& h) { return std::string(h.bytes.begin(), h.bytes.end()); }
std::string ToField(const crypto::PublicKey& k) { return std::string(k.bytes.begin(), k.bytes.end()); }
std::string ToField(ByteView bytes) { return std::string(reinterpret_cast<const char*>(bytes.data), bytes.size); }

namespace {

// Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
// detection on: every lock and unlock inside gRPC then updates a global
// lock graph under a global lock (GraphCycles and absl's Mutex were 5% of
// a SubmitTx benchmark's samples; off, a call costs about 6% less CPU). It
// would find lock-order bugs in gRPC, not in cairn: off, once per process.
void InitGrpcOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  });
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint) {
  InitGrpcOnce();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMessageBytesMax);
  args.SetMaxSendMessageSize(kMessageBytesMax);
  // Reconnect quickly after a peer restarts (the default backoff grows to 2 minutes).
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, kFrameBytesMax);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

void ConfigureServer(grpc::ServerBuilder* builder) {
  InitGrpcOnce();
  builder->SetMaxReceiveMessageSize(kMessageBytesMax);
  builder->SetMaxSendMessageSize(kMessageBytesMax);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, kFrameBytesMax);
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

}  // namespace cairn::net
