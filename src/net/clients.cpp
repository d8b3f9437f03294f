#include "net/clients.h"

#include <algorithm>
#include <array>
#include <future>
#include <optional>
#include <system_error>

#include "cairn/v1/blob.grpc.pb.h"
#include "cairn/v1/ledger.grpc.pb.h"
#include "cairn/v1/proof.grpc.pb.h"
#include "crypto/hash.h"
#include "ledger/genesis.h"
#include "net/blob_service.h"
#include "net/grpc_util.h"
#include "net/ledger_service.h"
#include "net/messages.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;
using std::chrono::milliseconds;

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

// Memory reserved up front for a chunked download, at most: beyond it the
// buffer grows as bytes arrive, so a peer that only announces a huge size
// does not make us allocate it.
constexpr uint64_t kDownloadReserveBytesMax = uint64_t{256} << 20;

// Reads a chunked stream (ProofChunk or BlobChunk) into `out`, checking each
// chunk continues the last, stays within size_max and the chunk bound.
// *announced is the size the chunks announced (nullopt without a chunk).
template <typename Chunk, typename Reader>
Status ReadChunks(Reader* reader, uint64_t size_max, Bytes* out, std::optional<uint64_t>* announced,
                  const std::string& what) {
  Chunk chunk;  // Reused: each Read parses into the same buffers.
  while (reader->Read(&chunk)) {
    if (chunk.size() > size_max) {
      return InvalidArgument(what + " is " + std::to_string(chunk.size()) + " bytes, over the limit of " +
                             std::to_string(size_max));
    }
    if ((*announced && chunk.size() != **announced) || chunk.offset() != out->size() ||
        chunk.data().size() > node::kBlobChunkBytesMax || out->size() + chunk.data().size() > chunk.size()) {
      return InvalidArgument(what + ": the peer sent a chunk out of order or too long");
    }
    if (!*announced) out->reserve(static_cast<size_t>(std::min(chunk.size(), kDownloadReserveBytesMax)));
    *announced = chunk.size();
    const auto* data = reinterpret_cast<const uint8_t*>(chunk.data().data());
    out->insert(out->end(), data, data + chunk.data().size());
  }
  return Status::Ok();
}

// The whole of a chunked stream: ReadChunks, then the call's own outcome,
// then whether the stream delivered all it announced. Cancels the call when
// the peer's chunks are bad, so Finish does not wait.
template <typename Chunk, typename Reader>
Result<Bytes> DrainChunks(grpc::ClientContext* ctx, Reader* reader, uint64_t size_max, const std::string& what,
                          const std::string& from) {
  Bytes out;
  std::optional<uint64_t> announced;
  Status s = ReadChunks<Chunk>(reader, size_max, &out, &announced, what + " from " + from);
  if (!s.ok()) ctx->TryCancel();
  grpc::Status finished = reader->Finish();
  CAIRN_RETURN_IF_ERROR(s);
  CAIRN_RETURN_IF_ERROR(FromGrpc(finished, what + " from " + from));
  if (announced && out.size() != *announced) {
    return Unavailable(what + " from " + from + ": the stream ended at " + std::to_string(out.size()) + " of " +
                       std::to_string(*announced) + " bytes");
  }
  return out;
}

// One SubmitTx call; errors name the operation, then `where`.
Status SubmitOne(pb::Ledger::Stub* stub, const ledger::SignedTx& tx, const std::string& where) {
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::SubmitTxRequest req;
  req.set_tx(ToField(ByteView(ledger::EncodeTx(tx))));
  pb::SubmitTxResponse resp;
  return FromGrpc(stub->SubmitTx(ctx.get(), req, &resp), std::string(ledger::OperationName(tx.body.op)) + where);
}

// The outcome of transaction `tx` from its TxResult, as SubmitOne would say it.
Status FromTxResult(const pb::TxResult& r, const ledger::SignedTx& tx, const std::string& where) {
  const std::string what = std::string(ledger::OperationName(tx.body.op)) + where;
  if (r.code() == 0) return Status::Ok();
  if (r.code() < 0 || r.code() > static_cast<int32_t>(grpc::StatusCode::UNAUTHENTICATED)) {
    return Internal(what + ": the ledger host answered an unknown status code " + std::to_string(r.code()));
  }
  return FromGrpc(grpc::Status(static_cast<grpc::StatusCode>(r.code()), r.error()), what);
}

// SubmitTxs calls within the service's bounds, in order. With a host that
// does not serve SubmitTxs (UNIMPLEMENTED), one SubmitTx per transaction. A
// call that fails as a whole (no answer, cancelled) fails every
// transaction not yet answered with its error: none of them is known to be
// admitted, and the next calls would fail alike.
std::vector<Status> SubmitInBatches(pb::Ledger::Stub* stub, const std::vector<ledger::SignedTx>& txs,
                                    const std::string& where) {
  std::vector<Status> results;
  results.reserve(txs.size());
  bool batches = true;
  while (results.size() < txs.size()) {
    const size_t begin = results.size();
    if (!batches) {
      results.push_back(SubmitOne(stub, txs[begin], where));
      continue;
    }
    pb::SubmitTxsRequest req;
    size_t bytes = 0, end = begin;
    while (end < txs.size() && end - begin < kSubmitTxsCountMax) {
      Bytes encoded = ledger::EncodeTx(txs[end]);
      if (end > begin && bytes + encoded.size() > kSubmitTxsBytesMax) break;
      bytes += encoded.size();
      req.add_txs(ToField(ByteView(encoded)));
      end++;
    }
    auto ctx = ContextWithDeadline(kUnaryDeadline);
    pb::SubmitTxsResponse resp;
    grpc::Status call = stub->SubmitTxs(ctx.get(), req, &resp);
    if (call.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      batches = false;
      continue;
    }
    if (!call.ok()) {
      for (size_t i = begin; i < txs.size(); ++i) {
        results.push_back(FromGrpc(call, std::string(ledger::OperationName(txs[i].body.op)) + where));
      }
      break;
    }
    if (static_cast<size_t>(resp.results_size()) != end - begin) {
      // Which of them were admitted is unknown: a broken host, not a retry.
      for (size_t i = begin; i < end; ++i) {
        results.push_back(Internal(std::string(ledger::OperationName(txs[i].body.op)) + where + ": the ledger host answered " +
                                   std::to_string(resp.results_size()) + " results for " +
                                   std::to_string(end - begin) + " transactions"));
      }
      continue;
    }
    for (size_t i = begin; i < end; ++i) {
      results.push_back(FromTxResult(resp.results(static_cast<int>(i - begin)), txs[i], where));
    }
  }
  CAIRN_ASSERT(results.size() == txs.size());
  return results;
}

}  // namespace

struct Stubs {
  explicit Stubs(const std::shared_ptr<grpc::Channel>& channel)
      : ledger(pb::Ledger::NewStub(channel)), blobs(pb::Blobs::NewStub(channel)) {}
  std::unique_ptr<pb::Ledger::Stub> ledger;
  std::unique_ptr<pb::Blobs::Stub> blobs;
};

// ---- GrpcLedgerClient ----

GrpcLedgerClient::GrpcLedgerClient(std::string endpoint)
    : endpoint_(std::move(endpoint)), channel_(MakeChannel(endpoint_)), stubs_(std::make_shared<Stubs>(channel_)) {}

GrpcLedgerClient::~GrpcLedgerClient() = default;

Status GrpcLedgerClient::SubmitTx(const ledger::SignedTx& tx) {
  return SubmitOne(stubs_->ledger.get(), tx, " to the ledger host at " + endpoint_);
}

std::vector<Status> GrpcLedgerClient::SubmitTxs(const std::vector<ledger::SignedTx>& txs) {
  return SubmitInBatches(stubs_->ledger.get(), txs, " to the ledger host at " + endpoint_);
}

Result<uint64_t> GrpcLedgerClient::NextNonce(const ledger::AccountId& id) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetAccountRequest req;
  req.set_account(ToField(id));
  pb::Account resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetAccount(ctx.get(), req, &resp), "ledger host at " + endpoint_));
  return resp.next_nonce();  // Counts the host's mempool.
}

Result<ledger::Genesis> GrpcLedgerClient::GetGenesis() {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GenesisBytes resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetGenesis(ctx.get(), pb::GetGenesisRequest(), &resp), "ledger host at " + endpoint_));
  return ledger::DecodeGenesis(ByteView(std::string_view(resp.genesis())));
}

Status GrpcLedgerClient::FollowBlocks(uint64_t from_height, const std::function<bool(const ledger::Block&)>& on_block) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  grpc::ClientContext ctx;  // No deadline: the stream lives as long as the node follows.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return Unavailable("cancelled");
    streaming_ = &ctx;
  }
  pb::StreamBlocksRequest req;
  req.set_from_height(from_height);
  auto reader = stub->StreamBlocks(&ctx, req);
  pb::BlockBytes msg;
  Status result = Status::Ok();
  uint64_t expected = from_height;
  while (reader->Read(&msg)) {
    auto block = ledger::DecodeBlock(ByteView(std::string_view(msg.block())));
    if (!block.ok() || msg.height() != expected || block->header.height != expected) {
      result = block.ok() ? InvalidArgument("ledger host sent block " + std::to_string(msg.height()) + ", expected " +
                                            std::to_string(expected))
                          : block.status().WithContext("block from the ledger host");
      ctx.TryCancel();
      break;
    }
    expected++;
    if (!on_block(*block)) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status finished = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    streaming_ = nullptr;
  }
  if (!result.ok()) return result;
  if (finished.error_code() == grpc::StatusCode::CANCELLED) return Status::Ok();
  return FromGrpc(finished, "block stream from the ledger host at " + endpoint_);
}

void GrpcLedgerClient::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (streaming_) streaming_->TryCancel();
}

// ---- GrpcPeerClient ----

std::shared_ptr<grpc::Channel> GrpcPeerClient::Channel(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [e, ch] : channels_) {
    if (e == endpoint) return ch;
  }
  channels_.emplace_back(endpoint, MakeChannel(endpoint));
  return channels_.back().second;
}

Status GrpcPeerClient::FetchBlob(const std::string& endpoint, const Hash256& hash, uint64_t size_max,
                                 node::BlobStore* blobs) {
  if (blobs->Stat(hash)) return Status::Ok();
  // Held open (and locked) for the whole stream; hashes the bytes as they
  // are written, so the check at the end reads nothing back.
  CAIRN_ASSIGN_OR_RETURN(node::PartialBlob partial, blobs->OpenPartial(hash));
  if (partial.size() > size_max) {
    partial.Discard();
    return InvalidArgument("blob " + Short(hash) + ": the partial transfer here is larger than expected; discarded");
  }
  auto stub = pb::Blobs::NewStub(Channel(endpoint));
  grpc::ClientContext ctx;
  // A stalled peer is cut off at the deadline and the fetch resumes from the
  // bytes already here (at this holder or another).
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  pb::GetBlobRequest req;
  req.set_hash(ToField(hash));
  req.set_offset(partial.size());
  auto reader = stub->Get(&ctx, req);
  // Two messages, reused: while one chunk is written and hashed on a
  // thread of its own, the next is received into the other.
  std::array<pb::BlobChunk, 2> chunks;
  std::future<Status> writing;  // Appends the previous chunk.
  uint64_t received = partial.size();
  std::optional<uint64_t> size;
  Status bad = Status::Ok();
  for (size_t i = 0; bad.ok() && reader->Read(&chunks[i % 2]); ++i) {
    const pb::BlobChunk& chunk = chunks[i % 2];
    if (chunk.size() > size_max) {
      bad = InvalidArgument("blob " + Short(hash) + " at " + endpoint + " is " + std::to_string(chunk.size()) +
                            " bytes, over the expected " + std::to_string(size_max));
      break;
    }
    if ((size && chunk.size() != *size) || chunk.offset() != received ||
        chunk.data().size() > node::kBlobChunkBytesMax || received + chunk.data().size() > chunk.size()) {
      bad = InvalidArgument("blob " + Short(hash) + " from " + endpoint + ": chunk out of order or too long");
      break;
    }
    size = chunk.size();
    received += chunk.data().size();
    // The other message is free again once its chunk is written.
    if (writing.valid()) bad = writing.get();
    if (!bad.ok()) break;
    const ByteView data(std::string_view(chunk.data()));
    try {
      writing = std::async(std::launch::async, [&partial, data] { return partial.Append(data); });
    } catch (const std::system_error&) {  // No thread to be had: write it here.
      bad = partial.Append(data);
    }
  }
  if (writing.valid()) {
    Status written = writing.get();
    if (bad.ok()) bad = written;
  }
  if (!bad.ok()) ctx.TryCancel();
  grpc::Status finished = reader->Finish();
  CAIRN_RETURN_IF_ERROR(bad);
  if (!finished.ok()) {
    // What arrived stays in the partial file: the next attempt resumes there.
    return FromGrpc(finished, "blob " + Short(hash) + " from " + endpoint + " (have " + std::to_string(partial.size()) +
                                  " bytes)");
  }
  if (!size || partial.size() != *size) {
    return Unavailable("blob " + Short(hash) + " from " + endpoint + ": stream ended at " +
                       std::to_string(partial.size()) + " of " + (size ? std::to_string(*size) : "?") + " bytes");
  }
  return partial.Complete(*size);
}

Result<Bytes> GrpcPeerClient::GetCertificate(const std::string& endpoint, const Hash256& job_id) {
  auto stub = pb::Proof::NewStub(Channel(endpoint));
  auto ctx = ContextWithDeadline(kChunkDeadline);
  pb::GetCertificateRequest req;
  req.set_job_id(ToField(job_id));
  pb::CertificateBytes resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetCertificate(ctx.get(), req, &resp), "certificate of job " + Short(job_id) + " from " + endpoint));
  return Bytes(resp.certificate().begin(), resp.certificate().end());
}

Result<Bytes> GrpcPeerClient::GetCheckpoint(const std::string& endpoint, const Hash256& hash) {
  auto stub = pb::Proof::NewStub(Channel(endpoint));
  auto ctx = ContextWithDeadline(std::chrono::seconds(300));
  pb::GetCheckpointRequest req;
  req.set_hash(ToField(hash));
  auto reader = stub->GetCheckpoint(ctx.get(), req);
  return DrainChunks<pb::ProofChunk>(ctx.get(), reader.get(), uint64_t{4} << 30, "checkpoint " + Short(hash), endpoint);
}

Result<Bytes> GrpcPeerClient::GetModel(const std::string& endpoint, const Hash256& job_id) {
  auto stub = pb::Proof::NewStub(Channel(endpoint));
  auto ctx = ContextWithDeadline(std::chrono::seconds(300));
  pb::GetModelRequest req;
  req.set_job_id(ToField(job_id));
  auto reader = stub->GetModel(ctx.get(), req);
  return DrainChunks<pb::ProofChunk>(ctx.get(), reader.get(), uint64_t{4} << 30, "trained model of job " + Short(job_id),
                                     endpoint);
}

Result<node::TrainingProgress> GrpcPeerClient::GetProgress(const std::string& endpoint, const Hash256& job_id) {
  auto stub = pb::Proof::NewStub(Channel(endpoint));
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetProgressRequest req;
  req.set_job_id(ToField(job_id));
  pb::ProgressResponse resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetProgress(ctx.get(), req, &resp), "progress from " + endpoint));
  node::TrainingProgress p;
  p.state = resp.state();
  p.step = resp.step();
  p.total_steps = resp.total_steps();
  p.steps_per_second = resp.steps_per_second();
  p.loss_curve.assign(resp.loss_curve().begin(), resp.loss_curve().end());
  p.detail = resp.detail();
  return p;
}

// ---- NodeQueries ----

NodeQueries::NodeQueries(std::string endpoint)
    : endpoint_(std::move(endpoint)), channel_(MakeChannel(endpoint_)), stubs_(std::make_shared<Stubs>(channel_)) {}

Result<HeadInfo> NodeQueries::GetHead() {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::Head resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetHead(ctx.get(), pb::GetHeadRequest(), &resp), "node at " + endpoint_));
  HeadInfo h;
  h.chain_id = resp.chain_id();
  h.height = resp.height();
  CAIRN_ASSIGN_OR_RETURN(h.block_hash, HashField(resp.block_hash(), "block_hash"));
  CAIRN_ASSIGN_OR_RETURN(h.state_root, HashField(resp.state_root(), "state_root"));
  h.time_ms = resp.time_ms();
  h.sequencer = resp.sequencer();
  return h;
}

Result<ledger::Account> NodeQueries::GetAccount(const ledger::AccountId& id, std::string* endpoint) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetAccountRequest req;
  req.set_account(ToField(id));
  pb::Account resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetAccount(ctx.get(), req, &resp), "node at " + endpoint_));
  if (endpoint) *endpoint = resp.endpoint();
  return FromProto(resp);
}

Result<ledger::Job> NodeQueries::GetJob(const Hash256& job_id) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetJobRequest req;
  req.set_job_id(ToField(job_id));
  pb::Job resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetJob(ctx.get(), req, &resp), "node at " + endpoint_));
  return FromProto(resp);
}

Result<std::vector<ledger::Job>> NodeQueries::ListJobs(uint64_t after_height, uint32_t limit) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::ListJobsRequest req;
  req.set_after_height(after_height);
  req.set_limit(limit);
  pb::ListJobsResponse resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->ListJobs(ctx.get(), req, &resp), "node at " + endpoint_));
  std::vector<ledger::Job> out;
  for (const auto& j : resp.jobs()) {
    CAIRN_ASSIGN_OR_RETURN(ledger::Job job, FromProto(j));
    out.push_back(std::move(job));
  }
  return out;
}

Result<ledger::Block> NodeQueries::GetBlock(uint64_t height) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetBlockRequest req;
  req.set_height(height);
  pb::BlockBytes resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetBlock(ctx.get(), req, &resp), "node at " + endpoint_));
  return ledger::DecodeBlock(ByteView(std::string_view(resp.block())));
}

Result<ledger::Dispute> NodeQueries::GetDispute(const Hash256& job_id, uint32_t index) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetDisputeRequest req;
  req.set_job_id(ToField(job_id));
  req.set_index(index);
  pb::DisputeBytes resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetDispute(ctx.get(), req, &resp), "node at " + endpoint_));
  return ledger::DecodeDispute(resp.dispute());
}

Result<uint64_t> NodeQueries::NextNonce(const ledger::AccountId& id) {
  pb::Ledger::Stub* stub = stubs_->ledger.get();
  auto ctx = ContextWithDeadline(kUnaryDeadline);
  pb::GetAccountRequest req;
  req.set_account(ToField(id));
  pb::Account resp;
  CAIRN_RETURN_IF_ERROR(FromGrpc(stub->GetAccount(ctx.get(), req, &resp), "node at " + endpoint_));
  return resp.next_nonce();
}

Status NodeQueries::SubmitTx(const ledger::SignedTx& tx) { return SubmitOne(stubs_->ledger.get(), tx, ""); }

std::vector<Status> NodeQueries::SubmitTxs(const std::vector<ledger::SignedTx>& txs) {
  return SubmitInBatches(stubs_->ledger.get(), txs, "");
}

Result<Bytes> NodeQueries::GetBlob(const Hash256& hash, uint64_t size_max) {
  pb::Blobs::Stub* stub = stubs_->blobs.get();
  auto ctx = ContextWithDeadline(std::chrono::seconds(120));
  pb::GetBlobRequest req;
  req.set_hash(ToField(hash));
  auto reader = stub->Get(ctx.get(), req);
  CAIRN_ASSIGN_OR_RETURN(Bytes out, DrainChunks<pb::BlobChunk>(ctx.get(), reader.get(), size_max, "blob " + Short(hash), endpoint_));
  if (crypto::Blake2b256(out) != hash) return Corruption("blob " + Short(hash) + " from " + endpoint_ + " does not match its hash");
  return out;
}

Status GrpcPeerClient::PutBlob(const std::string& endpoint, ByteView bytes, const std::string& chain_id,
                               const crypto::KeyPair& uploader) {
  return NodeQueries(endpoint).PutBlob(bytes, chain_id, uploader);
}

Status NodeQueries::PutBlob(ByteView bytes, const std::string& chain_id, const crypto::KeyPair& uploader) {
  pb::Blobs::Stub* stub = stubs_->blobs.get();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60 + bytes.size / (1 << 20)));
  pb::PutBlobResponse resp;
  auto writer = stub->Put(&ctx, &resp);
  Hash256 hash = crypto::Blake2b256(bytes);
  pb::PutBlobRequest first;
  auto* h = first.mutable_header();
  h->set_hash(ToField(hash));
  h->set_size(bytes.size);
  h->set_uploader(ToField(uploader.public_key()));
  Hash256 digest = BlobPutDigest(chain_id, hash, bytes.size);
  crypto::Signature sig = uploader.Sign(ByteView(digest.bytes));
  h->set_signature(std::string(sig.bytes.begin(), sig.bytes.end()));
  size_t offset = 0;
  bool first_sent = false;
  while (!first_sent || offset < bytes.size) {
    pb::PutBlobRequest msg = first_sent ? pb::PutBlobRequest() : first;
    size_t n = std::min(node::kBlobChunkBytesMax, bytes.size - offset);
    msg.set_data(reinterpret_cast<const char*>(bytes.data + offset), n);
    if (!writer->Write(msg)) break;  // The server ended the call: Finish says why.
    offset += n;
    first_sent = true;
  }
  writer->WritesDone();
  return FromGrpc(writer->Finish(), "uploading blob " + Short(hash) + " to " + endpoint_);
}

}  // namespace cairn::net
