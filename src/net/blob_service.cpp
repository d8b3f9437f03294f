#include <grpcpp/impl/service_type.h>

#include "net/blob_service.h"

#include <mutex>
#include <set>

#include "cairn/v1/blob.grpc.pb.h"
#include "crypto/hash.h"
#include "net/grpc_util.h"
#include "util/codec.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;

class BlobService final : public pb::Blobs::Service {
 public:
  BlobService(node::BlobStore* blobs, BlobServiceOptions options) : blobs_(blobs), options_(std::move(options)) {}

  grpc::Status Stat(grpc::ServerContext*, const pb::StatBlobRequest* req, pb::StatBlobResponse* resp) override {
    auto hash = HashField(req->hash(), "hash");
    if (!hash.ok()) return ToGrpc(hash.status());
    auto size = blobs_->Stat(*hash);
    resp->set_present(size.has_value());
    resp->set_size(size.value_or(0));
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetBlobRequest* req, grpc::ServerWriter<pb::BlobChunk>* writer) override {
    auto hash = HashField(req->hash(), "hash");
    if (!hash.ok()) return ToGrpc(hash.status());
    auto size = blobs_->Stat(*hash);
    if (!size) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no blob " + hash->ToHex() + " here");
    if (req->offset() > *size) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "offset " + std::to_string(req->offset()) + " is past the end (" +
                                                              std::to_string(*size) + " bytes)");
    }
    uint64_t offset = req->offset();
    do {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      auto chunk = blobs_->Read(*hash, offset, node::kBlobChunkBytesMax);
      if (!chunk.ok()) return ToGrpc(chunk.status());
      pb::BlobChunk msg;
      msg.set_offset(offset);
      msg.set_size(*size);
      msg.set_data(ToField(ByteView(*chunk)));
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "the fetcher went away");
      offset += chunk->size();
      if (chunk->empty()) break;
    } while (offset < *size);
    return grpc::Status::OK;
  }

  grpc::Status Put(grpc::ServerContext*, grpc::ServerReader<pb::PutBlobRequest>* reader, pb::PutBlobResponse* resp) override {
    pb::PutBlobRequest msg;
    if (!reader->Read(&msg) || !msg.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message of a Put must carry the header");
    }
    const pb::PutBlobHeader& h = msg.header();
    auto hash = HashField(h.hash(), "header.hash");
    if (!hash.ok()) return ToGrpc(hash.status());
    auto uploader = KeyField(h.uploader(), "header.uploader");
    if (!uploader.ok()) return ToGrpc(uploader.status());
    crypto::Signature sig;
    if (h.signature().size() != sig.bytes.size()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "header.signature must be 64 bytes");
    }
    std::memcpy(sig.bytes.data(), h.signature().data(), sig.bytes.size());
    Hash256 digest = BlobPutDigest(options_.chain_id, *hash, h.size());
    if (!crypto::Verify(*uploader, ByteView(digest.bytes), sig)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "bad upload signature (wrong key, chain, hash or size)");
    }
    if (!options_.may_upload || !options_.may_upload(*uploader)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "uploads here need an account with funds on the ledger; fund " + uploader->ToHex() + " first");
    }
    if (h.size() > options_.upload_bytes_max) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "blob of " + std::to_string(h.size()) +
                                                                    " bytes is over this node's limit of " +
                                                                    std::to_string(options_.upload_bytes_max));
    }
    if (blobs_->Stat(*hash)) {
      resp->set_already_present(true);
      return grpc::Status::OK;
    }
    if (!Reserve(*hash)) return grpc::Status(grpc::StatusCode::ABORTED, "another upload of this blob is in progress");
    grpc::Status result = Receive(reader, &msg, *hash, h.size());
    Release(*hash);
    return result;
  }

 private:
  grpc::Status Receive(grpc::ServerReader<pb::PutBlobRequest>* reader, pb::PutBlobRequest* msg, const Hash256& hash,
                       uint64_t size) {
    blobs_->DiscardPartial(hash);  // An upload always starts from zero.
    uint64_t offset = 0;
    do {
      if (msg->data().size() > node::kBlobChunkBytesMax) {
        blobs_->DiscardPartial(hash);
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "chunks are at most 1 MiB");
      }
      if (offset + msg->data().size() > size) {
        blobs_->DiscardPartial(hash);
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "more bytes than the header's size");
      }
      Status s = blobs_->Append(hash, offset, ByteView(std::string_view(msg->data())));
      if (!s.ok()) {
        blobs_->DiscardPartial(hash);
        return ToGrpc(s);
      }
      offset += msg->data().size();
    } while (reader->Read(msg));
    Status s = blobs_->Complete(hash, size);
    return ToGrpc(s);
  }

  bool Reserve(const Hash256& h) {
    std::lock_guard<std::mutex> lock(mu_);
    return uploading_.insert(h).second;
  }
  void Release(const Hash256& h) {
    std::lock_guard<std::mutex> lock(mu_);
    uploading_.erase(h);
  }

  node::BlobStore* blobs_;
  BlobServiceOptions options_;
  std::mutex mu_;
  std::set<Hash256> uploading_;  // GUARDED_BY(mu_)
};

}  // namespace

Hash256 BlobPutDigest(const std::string& chain_id, const Hash256& hash, uint64_t size) {
  util::Writer w;
  w.String(chain_id);
  w.Hash(hash);
  w.U64(size);
  return crypto::TaggedHash("cairn/blob-put/v1", w.bytes());
}

std::unique_ptr<grpc::Service> MakeBlobService(node::BlobStore* blobs, BlobServiceOptions options) {
  return std::make_unique<BlobService>(blobs, std::move(options));
}

}  // namespace cairn::net
