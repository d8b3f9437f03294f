// What a node needs from the network, as interfaces: net/ implements them
// over gRPC, tests/sim over an in-memory transport. Domain types only; no
// protobuf or gRPC type crosses this line.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "ledger/block.h"
#include "ledger/tx.h"
#include "ledger/types.h"
#include "node/blob_store.h"

namespace cairn::node {

// The ledger host, as a client of it sees it.
class LedgerClient {
 public:
  virtual ~LedgerClient() = default;
  // OK once the host's mempool durably holds the transaction.
  virtual Status SubmitTx(const ledger::SignedTx& tx) = 0;
  // Several transactions in order, in as few round trips as the host
  // allows: results[i] is what SubmitTx(txs[i]) would have answered right
  // after txs[0..i). One refusal does not stop the rest.
  virtual std::vector<Status> SubmitTxs(const std::vector<ledger::SignedTx>& txs) {
    std::vector<Status> results;
    results.reserve(txs.size());
    for (const auto& tx : txs) results.push_back(SubmitTx(tx));
    return results;
  }
  // The sender's next nonce, counting the host's mempool.
  virtual Result<uint64_t> NextNonce(const ledger::AccountId& id) = 0;
  virtual Result<ledger::Genesis> GetGenesis() = 0;
  // Streams committed blocks from `from_height` on, waiting for new ones,
  // until `on_block` returns false, Cancel() is called or the stream breaks
  // (the Status says how; callers reconnect from their next height).
  virtual Status FollowBlocks(uint64_t from_height, const std::function<bool(const ledger::Block&)>& on_block) = 0;
  // Interrupts a FollowBlocks in progress (from another thread).
  virtual void Cancel() = 0;
};

struct TrainingProgress {
  std::string state;  // fetching, training, done, failed, unknown.
  uint64_t step = 0;
  uint64_t total_steps = 0;
  double steps_per_second = 0;
  std::vector<double> loss_curve;
  std::string detail;
};

// Other nodes' blob and proof services, by endpoint (host:port).
class PeerClient {
 public:
  virtual ~PeerClient() = default;
  // Fetches blob `hash` into `blobs`, resuming a partial transfer; the blob
  // is stored only if the whole hashes right. NotFound if the peer lacks it.
  virtual Status FetchBlob(const std::string& endpoint, const Hash256& hash, uint64_t size_max, BlobStore* blobs) = 0;
  // Uploads a blob to a node that stores what funded accounts send (the
  // ledger host: what a referee reads), signed by `uploader`.
  virtual Status PutBlob(const std::string& endpoint, ByteView bytes, const std::string& chain_id,
                         const crypto::KeyPair& uploader) = 0;
  virtual Result<Bytes> GetCertificate(const std::string& endpoint, const Hash256& job_id) = 0;
  virtual Result<Bytes> GetCheckpoint(const std::string& endpoint, const Hash256& hash) = 0;
  virtual Result<Bytes> GetModel(const std::string& endpoint, const Hash256& job_id) = 0;
  virtual Result<TrainingProgress> GetProgress(const std::string& endpoint, const Hash256& job_id) = 0;
};

// What this node's Proof service serves (the solver's side).
class ProofSource {
 public:
  virtual ~ProofSource() = default;
  virtual Result<Bytes> Certificate(const Hash256& job_id) = 0;
  // Path of a checkpoint / trained model file to stream, or NotFound.
  virtual Result<std::string> CheckpointPath(const Hash256& hash) = 0;
  virtual Result<std::string> ModelPath(const Hash256& job_id) = 0;
  virtual TrainingProgress Progress(const Hash256& job_id) = 0;
};

}  // namespace cairn::node
