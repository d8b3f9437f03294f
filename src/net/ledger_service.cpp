#include <grpcpp/impl/service_type.h>

#include "net/ledger_service.h"

#include "cairn/v1/ledger.grpc.pb.h"
#include "ledger/genesis.h"
#include "net/grpc_util.h"
#include "net/messages.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;
constexpr uint32_t kListJobsMax = 1000;
constexpr uint32_t kListJobsDefault = 100;

// A submitted transaction's bytes: what does not decode is the client's
// mistake (INVALID_ARGUMENT), not damage to this node's data.
Result<ledger::SignedTx> DecodeSubmitted(const std::string& bytes) {
  auto tx = ledger::DecodeTx(ByteView(std::string_view(bytes)));
  if (!tx.ok() && tx.status().code() == StatusCode::kCorruption) return InvalidArgument(tx.status().message());
  return tx;
}

class LedgerService final : public pb::Ledger::Service {
 public:
  LedgerService(ledger::Ledger* ledger, ledger::Sequencer* sequencer, node::HeightWatch* heights,
                std::string ledger_host, LedgerServiceHooks hooks)
      : ledger_(ledger), sequencer_(sequencer), heights_(heights), ledger_host_(std::move(ledger_host)),
        hooks_(std::move(hooks)) {}

  grpc::Status SubmitTx(grpc::ServerContext*, const pb::SubmitTxRequest* req, pb::SubmitTxResponse* resp) override {
    if (!sequencer_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "this node follows the ledger; send transactions to the ledger host at " + ledger_host_);
    }
    auto tx = DecodeSubmitted(req->tx());
    Status s = tx.ok() ? sequencer_->Submit(*tx) : tx.status();
    if (hooks_.on_submit) hooks_.on_submit(s);
    if (!s.ok()) return ToGrpc(s);
    resp->set_tx_id(ToField(ledger::TxId(tx->body)));
    auto next = ledger_->NextNonce(tx->body.sender);
    if (next.ok()) resp->set_next_nonce(*next);
    return grpc::Status::OK;
  }

  grpc::Status SubmitTxs(grpc::ServerContext*, const pb::SubmitTxsRequest* req, pb::SubmitTxsResponse* resp) override {
    if (!sequencer_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "this node follows the ledger; send transactions to the ledger host at " + ledger_host_);
    }
    const size_t count = static_cast<size_t>(req->txs_size());
    if (count > kSubmitTxsCountMax) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a SubmitTxs call carries at most " + std::to_string(kSubmitTxsCountMax) +
                              " transactions, this one " + std::to_string(count) + "; split the batch");
    }
    size_t bytes = 0;
    for (const std::string& tx : req->txs()) bytes += tx.size();
    if (bytes > kSubmitTxsBytesMax) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a SubmitTxs call carries at most " + std::to_string(kSubmitTxsBytesMax) +
                              " bytes of transactions, this one " + std::to_string(bytes) + "; split the batch");
    }
    // What does not decode is refused on its own; the rest is admitted in
    // order, as if each had been sent alone after the ones before it.
    std::vector<Status> results(count, Status::Ok());
    std::vector<ledger::SignedTx> decoded;
    std::vector<size_t> index_of;  // decoded[k] is txs[index_of[k]].
    decoded.reserve(count);
    index_of.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      auto tx = DecodeSubmitted(req->txs(static_cast<int>(i)));
      if (!tx.ok()) {
        results[i] = tx.status().WithContext("transaction " + std::to_string(i) + " of the batch");
        continue;
      }
      decoded.push_back(std::move(*tx));
      index_of.push_back(i);
    }
    std::vector<Status> admitted;
    if (!decoded.empty()) sequencer_->SubmitBatch(decoded, &admitted);
    CAIRN_ASSERT(admitted.size() == decoded.size());
    for (size_t k = 0; k < decoded.size(); ++k) results[index_of[k]] = std::move(admitted[k]);
    // Each sender's next nonce once, after the whole batch.
    std::vector<std::pair<ledger::AccountId, uint64_t>> next_nonces;
    auto next_nonce = [&](const ledger::AccountId& sender) -> uint64_t {
      for (const auto& [id, nonce] : next_nonces) {
        if (id == sender) return nonce;
      }
      auto next = ledger_->NextNonce(sender);
      next_nonces.emplace_back(sender, next.ok() ? *next : 0);
      return next_nonces.back().second;
    };
    for (size_t i = 0, k = 0; i < count; ++i) {
      const bool was_decoded = k < index_of.size() && index_of[k] == i;
      pb::TxResult* r = resp->add_results();
      if (hooks_.on_submit) hooks_.on_submit(results[i]);
      if (results[i].ok()) {
        const ledger::SignedTx& tx = decoded[k];
        r->set_tx_id(ToField(ledger::TxId(tx.body)));
        r->set_next_nonce(next_nonce(tx.body.sender));
      } else {
        grpc::Status g = ToGrpc(results[i]);
        r->set_code(static_cast<int32_t>(g.error_code()));
        r->set_error(g.error_message());
      }
      if (was_decoded) k++;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetHead(grpc::ServerContext*, const pb::GetHeadRequest*, pb::Head* resp) override {
    ledger::Head head = ledger_->head();
    resp->set_chain_id(ledger_->genesis().chain_id);
    resp->set_height(head.height);
    resp->set_block_hash(ToField(head.block_hash));
    resp->set_state_root(ToField(head.state_root));
    resp->set_sequencer(sequencer_ != nullptr);
    if (head.height == 0) {
      resp->set_time_ms(ledger_->genesis().genesis_time_ms);
    } else if (auto block = ledger_->GetBlock(head.height); block.ok()) {
      resp->set_time_ms(block->header.time_ms);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetGenesis(grpc::ServerContext*, const pb::GetGenesisRequest*, pb::GenesisBytes* resp) override {
    resp->set_genesis(ToField(ByteView(ledger::EncodeGenesis(ledger_->genesis()))));
    return grpc::Status::OK;
  }

  grpc::Status GetAccount(grpc::ServerContext*, const pb::GetAccountRequest* req, pb::Account* resp) override {
    auto id = KeyField(req->account(), "account");
    if (!id.ok()) return ToGrpc(id.status());
    auto account = ledger_->GetAccount(*id);
    if (!account.ok()) return ToGrpc(account.status());
    auto endpoint = ledger_->GetEndpoint(*id);
    if (!endpoint.ok()) return ToGrpc(endpoint.status());
    ToProto(*account, endpoint->value_or(""), resp);
    auto next = ledger_->NextNonce(*id);
    resp->set_next_nonce(next.ok() ? *next : account->nonce + 1);
    return grpc::Status::OK;
  }

  grpc::Status GetJob(grpc::ServerContext*, const pb::GetJobRequest* req, pb::Job* resp) override {
    auto id = HashField(req->job_id(), "job_id");
    if (!id.ok()) return ToGrpc(id.status());
    auto job = ledger_->GetJob(*id);
    if (!job.ok()) return ToGrpc(job.status());
    if (!*job) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job " + id->ToHex() + " on this ledger");
    ToProto(**job, resp);
    return grpc::Status::OK;
  }

  grpc::Status GetDispute(grpc::ServerContext*, const pb::GetDisputeRequest* req, pb::DisputeBytes* resp) override {
    auto id = HashField(req->job_id(), "job_id");
    if (!id.ok()) return ToGrpc(id.status());
    auto d = ledger_->GetDispute(*id, req->index());
    if (!d.ok()) return ToGrpc(d.status());
    if (!*d) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "job " + id->ToHex() + " has no dispute " + std::to_string(req->index()));
    }
    resp->set_dispute(ledger::EncodeDispute(**d));
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const pb::ListJobsRequest* req, pb::ListJobsResponse* resp) override {
    uint32_t limit = req->limit() == 0 ? kListJobsDefault : req->limit();
    if (limit > kListJobsMax) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit must be at most " + std::to_string(kListJobsMax));
    }
    Status failed = Status::Ok();
    Status s = ledger_->ListJobs([&](const Hash256& id, uint64_t height) {
      if (height <= req->after_height()) return true;
      auto job = ledger_->GetJob(id);
      if (!job.ok() || !*job) {
        failed = job.ok() ? Corruption("job index names a missing job") : job.status();
        return false;
      }
      ToProto(**job, resp->add_jobs());
      return static_cast<uint32_t>(resp->jobs_size()) < limit;
    });
    if (!s.ok()) return ToGrpc(s);
    return ToGrpc(failed);
  }

  grpc::Status GetBlock(grpc::ServerContext*, const pb::GetBlockRequest* req, pb::BlockBytes* resp) override {
    return FillBlock(req->height(), resp);
  }

  grpc::Status StreamBlocks(grpc::ServerContext* ctx, const pb::StreamBlocksRequest* req,
                            grpc::ServerWriter<pb::BlockBytes>* writer) override {
    uint64_t next = std::max<uint64_t>(1, req->from_height());
    while (!ctx->IsCancelled() && !heights_->shut_down()) {
      if (ledger_->head().height < next) {
        heights_->WaitFor(next, std::chrono::milliseconds(500));
        continue;
      }
      pb::BlockBytes msg;
      grpc::Status s = FillBlock(next, &msg);
      if (!s.ok()) return s;
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "the follower went away");
      next++;
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is shutting down");
  }

 private:
  grpc::Status FillBlock(uint64_t height, pb::BlockBytes* resp) {
    auto block = ledger_->GetBlock(height);
    if (!block.ok()) return ToGrpc(block.status());
    resp->set_height(height);
    resp->set_block(ToField(ByteView(ledger::EncodeBlock(*block))));
    for (const Hash256& id : JobsTouched(*block)) {
      auto job = ledger_->GetJob(id);
      if (!job.ok() || !*job) continue;
      pb::JobEvent* e = resp->add_job_events();
      e->set_job_id(ToField(id));
      e->set_status(ledger::JobStatusName((*job)->status));
    }
    return grpc::Status::OK;
  }

  ledger::Ledger* ledger_;
  ledger::Sequencer* sequencer_;
  node::HeightWatch* heights_;
  std::string ledger_host_;
  LedgerServiceHooks hooks_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeLedgerService(ledger::Ledger* ledger, ledger::Sequencer* sequencer,
                                                 node::HeightWatch* heights, std::string ledger_host,
                                                 LedgerServiceHooks hooks) {
  return std::make_unique<LedgerService>(ledger, sequencer, heights, std::move(ledger_host), std::move(hooks));
}

}  // namespace cairn::net
