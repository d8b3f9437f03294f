#include <grpcpp/impl/service_type.h>

#include "net/blob_service.h"

#include <algorithm>
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
    // One open file and one message for the whole stream: each chunk is read
    // straight into the message's own buffer, which the next chunk reuses.
    auto blob = blobs_->OpenBlob(*hash);
    if (!blob.ok()) {
      if (blob.status().code() == StatusCode::kNotFound) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no blob " + hash->ToHex() + " here");
      }
      return ToGrpc(blob.status());
    }
    const uint64_t size = blob->size();
    if (req->offset() > size) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "offset " + std::to_string(req->offset()) + " is past the end (" +
                                                              std::to_string(size) + " bytes)");
    }
    uint64_t offset = req->offset();
    pb::BlobChunk msg;
    msg.set_size(size);
    std::string* data = msg.mutable_data();
    do {  // At least one message, also for an empty blob or a fetcher that has it all.
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      const size_t n = static_cast<size_t>(std::min<uint64_t>(node::kBlobChunkBytesMax, size - offset));
      data->resize(n);
      auto got = blob->ReadAt(offset, reinterpret_cast<uint8_t*>(data->data()), n);
      if (!got.ok()) return ToGrpc(got.status());
      CAIRN_ASSERT(*got == n);
      msg.set_offset(offset);
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "the fetcher went away");
      offset += n;
    } while (offset < size);
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
    auto partial = blobs_->OpenPartial(hash, /*resume=*/false);  // An upload always starts from zero.
    if (!partial.ok()) return ToGrpc(partial.status());
    do {
      if (msg->data().size() > node::kBlobChunkBytesMax) {
        partial->Discard();
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "chunks are at most " + std::to_string(node::kBlobChunkBytesMax) + " bytes");
      }
      if (partial->size() + msg->data().size() > size) {
        partial->Discard();
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "more bytes than the header's size");
      }
      Status s = partial->Append(ByteView(std::string_view(msg->data())));
      if (!s.ok()) {
        partial->Discard();
        return ToGrpc(s);
      }
    } while (reader->Read(msg));
    return ToGrpc(partial->Complete(size));
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
