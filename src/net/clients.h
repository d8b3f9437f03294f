// gRPC clients: the node's LedgerClient and PeerClient, and the queries the
// CLI makes. Every call has a deadline; failures are Status values that say
// which node did not answer and what to do.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "ledger/dispute.h"
#include "node/ports.h"

namespace grpc {
class Channel;
class ClientContext;
}

namespace cairn::net {

// The generated stubs over one channel (clients.cpp), made once per client
// rather than per call; a stub is safe to use from many threads.
struct Stubs;

class GrpcLedgerClient final : public node::LedgerClient {
 public:
  explicit GrpcLedgerClient(std::string endpoint);
  ~GrpcLedgerClient() override;
  Status SubmitTx(const ledger::SignedTx& tx) override;
  // SubmitTxs calls of at most kSubmitTxsCountMax transactions and
  // kSubmitTxsBytesMax bytes each; one SubmitTx per transaction with a host
  // that does not know SubmitTxs.
  std::vector<Status> SubmitTxs(const std::vector<ledger::SignedTx>& txs) override;
  Result<uint64_t> NextNonce(const ledger::AccountId& id) override;
  Result<ledger::Genesis> GetGenesis() override;
  Status FollowBlocks(uint64_t from_height, const std::function<bool(const ledger::Block&)>& on_block) override;
  void Cancel() override;

 private:
  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<Stubs> stubs_;
  std::mutex mu_;
  grpc::ClientContext* streaming_ = nullptr;  // GUARDED_BY(mu_)
  bool cancelled_ = false;                    // GUARDED_BY(mu_)
};

class GrpcPeerClient final : public node::PeerClient {
 public:
  Status FetchBlob(const std::string& endpoint, const Hash256& hash, uint64_t size_max, node::BlobStore* blobs) override;
  Status PutBlob(const std::string& endpoint, ByteView bytes, const std::string& chain_id,
                 const crypto::KeyPair& uploader) override;
  Result<Bytes> GetCertificate(const std::string& endpoint, const Hash256& job_id) override;
  Result<Bytes> GetCheckpoint(const std::string& endpoint, const Hash256& hash) override;
  Result<Bytes> GetModel(const std::string& endpoint, const Hash256& job_id) override;
  Result<node::TrainingProgress> GetProgress(const std::string& endpoint, const Hash256& job_id) override;

 private:
  std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint);
  std::mutex mu_;
  std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> channels_;  // GUARDED_BY(mu_)
};

// What `cairn job`, `cairn account` and `cairn devnet` ask a node.
struct HeadInfo {
  std::string chain_id;
  uint64_t height = 0;
  Hash256 block_hash;
  Hash256 state_root;
  uint64_t time_ms = 0;
  bool sequencer = false;
};

class NodeQueries {
 public:
  explicit NodeQueries(std::string endpoint);
  const std::string& endpoint() const { return endpoint_; }
  Result<HeadInfo> GetHead();
  Result<ledger::Account> GetAccount(const ledger::AccountId& id, std::string* endpoint = nullptr);
  Result<ledger::Job> GetJob(const Hash256& job_id);
  Result<std::vector<ledger::Job>> ListJobs(uint64_t after_height = 0, uint32_t limit = 1000);
  Result<ledger::Block> GetBlock(uint64_t height);
  Result<ledger::Dispute> GetDispute(const Hash256& job_id, uint32_t index);
  // The account's next nonce, counting the node's mempool.
  Result<uint64_t> NextNonce(const ledger::AccountId& id);
  Status SubmitTx(const ledger::SignedTx& tx);
  // As GrpcLedgerClient::SubmitTxs.
  std::vector<Status> SubmitTxs(const std::vector<ledger::SignedTx>& txs);
  Result<Bytes> GetBlob(const Hash256& hash, uint64_t size_max);
  // Signed upload of a blob in 1 MiB chunks; OK if the node already had it.
  Status PutBlob(ByteView bytes, const std::string& chain_id, const crypto::KeyPair& uploader);

 private:
  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<Stubs> stubs_;
};

}  // namespace cairn::net
