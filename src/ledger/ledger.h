// Ledger: the replicated state machine of cairn, shaped like CometBFT's ABCI
// so that the same code can later run under a BFT engine.
//
//   CheckTx          mempool admission, against the committed state plus the
//                    transactions admitted since (the "check state").
//   PrepareProposal  the proposer turns candidate transactions into a signed
//                    block, dropping (with reasons) those that do not apply.
//   FinalizeBlock    verifies and executes a block, returns the new state root
//                    (the app hash); nothing is written yet.
//   Commit           persists the finalized block, its state changes, the new
//                    head and the state-root buckets in ONE atomic write
//                    batch, so a crash leaves the ledger at the previous
//                    block or at this one, never between.
//
// On one machine a single sequencer calls these in order (see Sequencer).
// Thread-safety: all methods are safe to call concurrently; signature
// verification in CheckTx runs outside the lock so concurrent submitters use
// every core.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "ledger/block.h"
#include "ledger/dispute.h"
#include "ledger/state.h"
#include "store/kv_store.h"

namespace cairn::ledger {

// Column families the ledger owns.
inline constexpr char kBlocksColumnFamily[] = "blocks";   // height (u64 BE) -> block
inline constexpr char kMetaColumnFamily[] = "meta";       // genesis, head, bucket digests
inline constexpr char kTxIndexColumnFamily[] = "txindex"; // tx id -> height, position
inline constexpr char kJobIndexColumnFamily[] = "jobindex"; // posted height (u64 BE) + job id -> ""
inline constexpr char kMempoolColumnFamily[] = "mempool";   // admission sequence (u64 BE) -> tx (Sequencer)
std::vector<std::string> LedgerColumnFamilies();

inline constexpr size_t kSignatureCacheEntriesMax = 200'000;
// State entries kept in memory for execution (StateCache): ~30 MB of accounts.
inline constexpr size_t kStateCacheEntriesMax = 200'000;

struct Head {
  uint64_t height = 0;
  Hash256 block_hash;  // The genesis hash at height 0.
  Hash256 state_root;
  friend bool operator==(const Head&, const Head&) = default;
};

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

struct DroppedTx {
  Hash256 tx_id;
  Status reason;
};

struct LedgerOptions {
  store::SyncPolicy sync = store::SyncPolicy::kSync;
  unsigned verify_threads = 0;  // 0 = one per hardware thread.
};

class Ledger {
 public:
  // Opens the ledger stored in `kv` (which must have LedgerColumnFamilies()).
  // An empty store is initialised from `genesis`; a non-empty one must hold
  // the same genesis if one is given. `kv` must outlive the Ledger.
  static Result<std::unique_ptr<Ledger>> Open(store::KvStore* kv, const Genesis* genesis,
                                              LedgerOptions options = {});

  Status CheckTx(const SignedTx& tx);
  // Verifies signatures on every core and caches the good ones, so that a
  // burst of CheckTx calls pays no signature cost. ok[i] says if tx i verified.
  void PreverifySignatures(const std::vector<SignedTx>& txs, std::vector<bool>* ok);
  Result<Block> PrepareProposal(const std::vector<SignedTx>& candidates, uint64_t time_ms,
                                const crypto::KeyPair& proposer, std::vector<DroppedTx>* dropped);
  Result<Hash256> FinalizeBlock(const Block& block);
  Status Commit();

  // Queries against the committed state.
  Head head() const;
  const Genesis& genesis() const { return genesis_; }
  Result<Account> GetAccount(const AccountId& id) const;
  Result<std::optional<Job>> GetJob(const Hash256& job_id) const;
  // Dispute `index` of a job; the open one is index job.disputes - 1 while
  // the job is disputed.
  Result<std::optional<Dispute>> GetDispute(const Hash256& job_id, uint32_t index) const;
  // The job's open dispute, nullopt if it has none.
  Result<std::optional<Dispute>> GetOpenDispute(const Hash256& job_id) const;
  Result<Amount> GetJackpot() const;
  Result<Block> GetBlock(uint64_t height) const;
  Result<std::optional<TxLocation>> FindTx(const Hash256& tx_id) const;
  // Every job ever posted, oldest first; `visit` returns false to stop.
  Status ListJobs(const std::function<bool(const Hash256& job_id, uint64_t posted_height)>& visit) const;
  // The endpoint `id` announced, if any.
  Result<std::optional<std::string>> GetEndpoint(const AccountId& id) const;
  store::KvStore* store() const { return kv_; }
  // The nonce the next transaction from `id` should carry, counting
  // transactions admitted to the mempool but not yet in a block.
  Result<uint64_t> NextNonce(const AccountId& id) const;

 private:
  struct Staged {
    Block block;
    Hash256 block_hash;
    std::vector<Hash256> tx_ids;  // TxId of each of block.txs, computed once.
    Overlay writes;
    StateRoot::Update root_update;
    StateCache::Changes bucket_changes;  // The buckets' new entries, for the cache.
    Head head;
  };
  struct SigKey {
    Hash256 tx_id;
    crypto::Signature signature;
    friend bool operator==(const SigKey& a, const SigKey& b) { return a.tx_id == b.tx_id && a.signature == b.signature; }
  };
  struct SigKeyHash {
    size_t operator()(const SigKey& k) const;
  };

  Ledger(store::KvStore* kv, Genesis genesis, LedgerOptions options);
  Status Load();
  Status Initialise();
  // Executes txs (whose ids are tx_ids) into a fresh block overlay. With
  // `dropped` set, failing transactions are skipped and reported instead of
  // failing the block, and the staged block gets the others (and their ids).
  Result<std::unique_ptr<Staged>> Execute(const BlockHeader& header, const std::vector<SignedTx>& txs,
                                          const std::vector<Hash256>& tx_ids, std::vector<DroppedTx>* dropped);
  bool SignatureVerified(const SignedTx& tx, const Hash256& tx_id);
  void RememberSignature(const SignedTx& tx, const Hash256& tx_id);
  // Verifies every signature (on every core); fills `tx_ids`.
  Status VerifySignatures(const std::vector<SignedTx>& txs, std::vector<Hash256>* tx_ids);

  store::KvStore* const kv_;
  const Genesis genesis_;
  const Hash256 genesis_hash_;
  const LedgerOptions options_;
  StoreStateReader committed_;      // Queries read the store directly, without the lock.

  mutable std::mutex mu_;
  Head head_;                       // GUARDED_BY(mu_)
  StateRoot root_;                  // GUARDED_BY(mu_)
  StateCache cache_;                // GUARDED_BY(mu_); execution reads the committed state here.
  Overlay check_state_;             // GUARDED_BY(mu_)
  bool check_state_begun_ = false;  // GUARDED_BY(mu_): BeginBlock of head + 1 applied to it.
  std::unique_ptr<Staged> staged_;  // GUARDED_BY(mu_)

  std::mutex sig_mu_;
  std::unordered_set<SigKey, SigKeyHash> verified_;  // GUARDED_BY(sig_mu_)
};

Bytes EncodeHead(const Head& head);
Result<Head> DecodeHead(ByteView bytes);

}  // namespace cairn::ledger
