#include <grpcpp/impl/service_type.h>

#include "net/proof_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/v1/proof.grpc.pb.h"
#include "net/grpc_util.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;

// Streams a file from `offset` in bounded chunks.
grpc::Status StreamFile(grpc::ServerContext* ctx, const std::string& path, uint64_t offset,
                        grpc::ServerWriter<pb::ProofChunk>* writer) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return grpc::Status(grpc::StatusCode::NOT_FOUND, "not here any more");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot stat the file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    ::close(fd);
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "offset past the end");
  }
  std::string buffer(node::kBlobChunkBytesMax, '\0');
  grpc::Status result = grpc::Status::OK;
  do {
    if (ctx->IsCancelled()) {
      result = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      break;
    }
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0) {
      result = grpc::Status(grpc::StatusCode::INTERNAL, "read failed");
      break;
    }
    pb::ProofChunk chunk;
    chunk.set_offset(offset);
    chunk.set_size(size);
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(chunk)) {
      result = grpc::Status(grpc::StatusCode::CANCELLED, "the fetcher went away");
      break;
    }
    offset += static_cast<uint64_t>(n);
    if (n == 0) break;
  } while (offset < size);
  ::close(fd);
  return result;
}

class ProofService final : public pb::Proof::Service {
 public:
  explicit ProofService(node::ProofSource* source) : source_(source) {}

  grpc::Status GetCertificate(grpc::ServerContext*, const pb::GetCertificateRequest* req,
                              pb::CertificateBytes* resp) override {
    auto id = HashField(req->job_id(), "job_id");
    if (!id.ok()) return ToGrpc(id.status());
    auto bytes = source_->Certificate(*id);
    if (!bytes.ok()) return ToGrpc(bytes.status());
    resp->set_certificate(ToField(ByteView(*bytes)));
    return grpc::Status::OK;
  }

  grpc::Status GetCheckpoint(grpc::ServerContext* ctx, const pb::GetCheckpointRequest* req,
                             grpc::ServerWriter<pb::ProofChunk>* writer) override {
    auto hash = HashField(req->hash(), "hash");
    if (!hash.ok()) return ToGrpc(hash.status());
    auto path = source_->CheckpointPath(*hash);
    if (!path.ok()) return ToGrpc(path.status());
    return StreamFile(ctx, *path, req->offset(), writer);
  }

  grpc::Status GetModel(grpc::ServerContext* ctx, const pb::GetModelRequest* req,
                        grpc::ServerWriter<pb::ProofChunk>* writer) override {
    auto id = HashField(req->job_id(), "job_id");
    if (!id.ok()) return ToGrpc(id.status());
    auto path = source_->ModelPath(*id);
    if (!path.ok()) return ToGrpc(path.status());
    return StreamFile(ctx, *path, req->offset(), writer);
  }

  grpc::Status GetProgress(grpc::ServerContext*, const pb::GetProgressRequest* req, pb::ProgressResponse* resp) override {
    auto id = HashField(req->job_id(), "job_id");
    if (!id.ok()) return ToGrpc(id.status());
    node::TrainingProgress p = source_->Progress(*id);
    resp->set_state(p.state);
    resp->set_step(p.step);
    resp->set_total_steps(p.total_steps);
    resp->set_steps_per_second(p.steps_per_second);
    for (double l : p.loss_curve) resp->add_loss_curve(l);
    resp->set_detail(p.detail);
    return grpc::Status::OK;
  }

 private:
  node::ProofSource* source_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeProofService(node::ProofSource* source) {
  return std::make_unique<ProofService>(source);
}

}  // namespace cairn::net
