#include "ledger/ledger.h"

#include <algorithm>
#include <cstring>

#include "ledger/execute.h"
#include "ledger/genesis.h"
#include "util/codec.h"
#include "util/parallel.h"

namespace cairn::ledger {
namespace {

const std::string kGenesisMetaKey = "genesis";
const std::string kHeadMetaKey = "head";
const std::string kBucketMetaPrefix = "bucket/";

std::string ToString(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::string BucketMetaKey(uint16_t b) {
  return kBucketMetaPrefix + std::string{static_cast<char>(b >> 8), static_cast<char>(b & 0xff)};
}

std::string TxIndexValue(uint64_t height, uint32_t index) {
  util::Writer w;
  w.U64(height);
  w.U32(index);
  return ToString(w.bytes());
}

std::string ShortId(const Hash256& h) { return h.ToHex().substr(0, 16); }

// Adds the block overlay's state writes and bucket digests to `batch`.
void AddStateWrites(const Overlay& writes, const std::map<uint16_t, Hash256>& buckets, store::WriteBatch* batch) {
  // In physical key order: RocksDB's memtable inserts keys faster in order
  // (it resumes the search where the previous insert ended).
  std::vector<std::pair<std::string, const std::optional<std::string>*>> sorted;
  sorted.reserve(writes.writes().size());
  for (const auto& [key, value] : writes.writes()) sorted.emplace_back(PhysicalStateKey(key), &value);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, value] : sorted) {
    if (*value) {
      batch->Put(kStateColumnFamily, key, **value);
    } else {
      batch->Delete(kStateColumnFamily, key);
    }
  }
  for (const auto& [b, digest] : buckets) {
    if (digest.IsZero()) {
      batch->Delete(kMetaColumnFamily, BucketMetaKey(b));
    } else {
      batch->Put(kMetaColumnFamily, BucketMetaKey(b), std::string(ByteView(digest.bytes).AsStringView()));
    }
  }
}

}  // namespace

std::vector<std::string> LedgerColumnFamilies() {
  return {kStateColumnFamily, kBlocksColumnFamily, kMetaColumnFamily, kTxIndexColumnFamily, kJobIndexColumnFamily,
          kMempoolColumnFamily};
}

Bytes EncodeHead(const Head& head) {
  util::Writer w;
  w.U64(head.height);
  w.Hash(head.block_hash);
  w.Hash(head.state_root);
  return w.Take();
}

Result<Head> DecodeHead(ByteView bytes) {
  util::Reader r(bytes);
  Head h;
  h.height = r.U64();
  h.block_hash = r.Hash();
  h.state_root = r.Hash();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("head record"));
  return h;
}

size_t Ledger::SigKeyHash::operator()(const SigKey& k) const {
  size_t h;
  std::memcpy(&h, k.tx_id.bytes.data(), sizeof(h));
  return h;
}

Ledger::Ledger(store::KvStore* kv, Genesis genesis, LedgerOptions options)
    : kv_(kv),
      genesis_(std::move(genesis)),
      genesis_hash_(GenesisHash(genesis_)),
      options_(options),
      committed_(kv),
      cache_(kv, kStateCacheEntriesMax),
      check_state_(&cache_) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(store::KvStore* kv, const Genesis* genesis, LedgerOptions options) {
  auto stored = kv->Get(kMetaColumnFamily, kGenesisMetaKey);
  if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
  if (!stored.ok()) {
    if (genesis == nullptr) {
      return FailedPrecondition("the ledger store is empty and no genesis was given to initialise it");
    }
    CAIRN_RETURN_IF_ERROR(ValidateGenesis(*genesis));
    std::unique_ptr<Ledger> ledger(new Ledger(kv, *genesis, options));
    CAIRN_RETURN_IF_ERROR(ledger->Initialise());
    return ledger;
  }
  CAIRN_ASSIGN_OR_RETURN(Genesis on_disk, DecodeGenesis(ByteView(*stored)));
  if (genesis != nullptr && !(*genesis == on_disk)) {
    return FailedPrecondition("the store belongs to chain '" + on_disk.chain_id + "' with genesis " +
                              ShortId(GenesisHash(on_disk)) + ", not the genesis given (" +
                              ShortId(GenesisHash(*genesis)) + "); use another data directory");
  }
  std::unique_ptr<Ledger> ledger(new Ledger(kv, std::move(on_disk), options));
  CAIRN_RETURN_IF_ERROR(ledger->Load());
  return ledger;
}

Status Ledger::Initialise() {
  Overlay state(&committed_);
  CAIRN_RETURN_IF_ERROR(ApplyGenesis(&state, genesis_));
  CAIRN_ASSIGN_OR_RETURN(StateCache::Changes changes, cache_.Recompute(state.writes()));
  StateRoot::Update update = root_.Stage(changes.digests);
  Head head{0, genesis_hash_, update.root};
  store::WriteBatch batch;
  AddStateWrites(state, update.buckets, &batch);
  batch.Put(kMetaColumnFamily, kGenesisMetaKey, ToString(EncodeGenesis(genesis_)));
  batch.Put(kMetaColumnFamily, kHeadMetaKey, ToString(EncodeHead(head)));
  CAIRN_RETURN_IF_ERROR(kv_->Write(batch, options_.sync));
  std::lock_guard<std::mutex> lock(mu_);
  root_.Install(update);
  cache_.Install(std::move(changes));
  head_ = head;
  return Status::Ok();
}

Status Ledger::Load() {
  CAIRN_ASSIGN_OR_RETURN(std::string raw_head, kv_->Get(kMetaColumnFamily, kHeadMetaKey));
  CAIRN_ASSIGN_OR_RETURN(Head head, DecodeHead(ByteView(raw_head)));
  std::vector<Hash256> buckets(kStateBuckets);
  Status bad;
  CAIRN_RETURN_IF_ERROR(kv_->Scan(kMetaColumnFamily, kBucketMetaPrefix, [&](std::string_view key, std::string_view value) {
    if (key.size() != kBucketMetaPrefix.size() + 2 || value.size() != 32) {
      bad = Corruption("malformed state bucket record in meta");
      return false;
    }
    uint16_t b = static_cast<uint16_t>((static_cast<uint8_t>(key[key.size() - 2]) << 8) |
                                       static_cast<uint8_t>(key[key.size() - 1]));
    if (b >= kStateBuckets) {
      bad = Corruption("state bucket index out of range in meta");
      return false;
    }
    Hash256 digest;
    std::memcpy(digest.bytes.data(), value.data(), 32);
    buckets[b] = digest;
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(bad);
  StateRoot root(buckets);
  if (root.Root() != head.state_root) {
    return Corruption("stored state buckets do not match the state root of block " + std::to_string(head.height) +
                      "; run `cairn ledger audit` on this data directory");
  }
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  root_ = std::move(root);
  return Status::Ok();
}

bool Ledger::SignatureVerified(const SignedTx& tx, const Hash256& tx_id) {
  std::lock_guard<std::mutex> lock(sig_mu_);
  return verified_.count(SigKey{tx_id, tx.signature}) > 0;
}

void Ledger::RememberSignature(const SignedTx& tx, const Hash256& tx_id) {
  std::lock_guard<std::mutex> lock(sig_mu_);
  // A full cache is simply dropped: verification is a cost, never a correctness question.
  if (verified_.size() >= kSignatureCacheEntriesMax) verified_.clear();
  verified_.insert(SigKey{tx_id, tx.signature});
}

Status Ledger::CheckTx(const SignedTx& tx) {
  Hash256 tx_id = TxId(tx.body);
  if (!SignatureVerified(tx, tx_id)) {
    if (!VerifyTxSignature(tx, tx_id)) {
      return PermissionDenied("tx " + ShortId(tx_id) + ": signature does not verify against sender " +
                              tx.body.sender.ToHex().substr(0, 16));
    }
    RememberSignature(tx, tx_id);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ExecContext ctx{&genesis_, head_.height + 1, head_.block_hash};
  if (!check_state_begun_) {
    // What the next block starts with (released unbondings, selection seeds)
    // applies to the transactions checked for it.
    CAIRN_RETURN_IF_ERROR(BeginBlock(&check_state_, ctx));
    check_state_begun_ = true;
  }
  Overlay scratch(&check_state_);
  CAIRN_RETURN_IF_ERROR(ApplyTx(&scratch, tx, ctx).WithContext("tx " + ShortId(tx_id)));
  scratch.MergeInto(&check_state_);
  return Status::Ok();
}

void Ledger::PreverifySignatures(const std::vector<SignedTx>& txs, std::vector<bool>* ok) {
  std::vector<uint8_t> good(txs.size(), 0);
  unsigned threads = options_.verify_threads ? options_.verify_threads : util::HardwareThreads();
  util::ParallelFor(txs.size(), threads, [&](size_t i) {
    Hash256 id = TxId(txs[i].body);
    if (SignatureVerified(txs[i], id)) {
      good[i] = 1;
    } else if (VerifyTxSignature(txs[i], id)) {
      good[i] = 1;
      RememberSignature(txs[i], id);
    }
  });
  ok->assign(good.begin(), good.end());
}

Status Ledger::VerifySignatures(const std::vector<SignedTx>& txs, std::vector<Hash256>* tx_ids) {
  std::vector<Hash256>& ids = *tx_ids;
  ids.assign(txs.size(), Hash256{});
  std::vector<uint8_t> good(txs.size(), 0);
  unsigned threads = options_.verify_threads ? options_.verify_threads : util::HardwareThreads();
  util::ParallelFor(txs.size(), threads, [&](size_t i) {
    ids[i] = TxId(txs[i].body);
    good[i] = SignatureVerified(txs[i], ids[i]) || VerifyTxSignature(txs[i], ids[i]);
  });
  for (size_t i = 0; i < txs.size(); ++i) {
    if (!good[i]) {
      return PermissionDenied("tx " + std::to_string(i) + " (" + ShortId(ids[i]) + "): signature does not verify");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Ledger::Staged>> Ledger::Execute(const BlockHeader& header, const std::vector<SignedTx>& txs,
                                                        const std::vector<Hash256>& tx_ids,
                                                        std::vector<DroppedTx>* dropped) {
  CAIRN_ASSERT(tx_ids.size() == txs.size());
  auto staged = std::unique_ptr<Staged>(new Staged{Block{}, Hash256{}, {}, Overlay(&cache_), {}, {}, Head{}});
  ExecContext ctx{&genesis_, header.height, header.prev_hash};
  CAIRN_RETURN_IF_ERROR(BeginBlock(&staged->writes, ctx).WithContext("block " + std::to_string(header.height)));
  for (size_t i = 0; i < txs.size(); ++i) {
    Overlay tx_state(&staged->writes);
    Status s = ApplyTx(&tx_state, txs[i], ctx);
    if (!s.ok()) {
      if (dropped == nullptr) {
        return s.WithContext("block " + std::to_string(header.height) + ": tx " + std::to_string(i) + " (" +
                             ShortId(tx_ids[i]) + ")");
      }
      dropped->push_back({tx_ids[i], s});
      continue;
    }
    tx_state.MergeInto(&staged->writes);
    if (dropped != nullptr) {
      staged->block.txs.push_back(txs[i]);
      staged->tx_ids.push_back(tx_ids[i]);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(staged->bucket_changes, cache_.Recompute(staged->writes.writes()));
  staged->root_update = root_.Stage(staged->bucket_changes.digests);
  staged->head.height = header.height;
  staged->head.state_root = staged->root_update.root;
  return staged;
}

Result<Block> Ledger::PrepareProposal(const std::vector<SignedTx>& candidates, uint64_t time_ms,
                                      const crypto::KeyPair& proposer, std::vector<DroppedTx>* dropped) {
  CAIRN_ASSERT(dropped != nullptr);
  if (candidates.size() > kBlockTxsMax) return InvalidArgument("more candidates than fit in a block");
  // Candidates normally come through CheckTx (signatures cached); verify any that did not.
  std::vector<SignedTx> signed_ok;
  std::vector<Hash256> signed_ok_ids;
  for (const auto& tx : candidates) {
    Hash256 id = TxId(tx.body);
    if (SignatureVerified(tx, id) || VerifyTxSignature(tx, id)) {
      signed_ok.push_back(tx);
      signed_ok_ids.push_back(id);
    } else {
      dropped->push_back({id, PermissionDenied("signature does not verify")});
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  BlockHeader header;
  header.chain_id = genesis_.chain_id;
  header.height = head_.height + 1;
  header.prev_hash = head_.block_hash;
  header.time_ms = time_ms;
  header.proposer = proposer.public_key();
  CAIRN_ASSIGN_OR_RETURN(auto staged, Execute(header, signed_ok, signed_ok_ids, dropped));
  header.tx_count = static_cast<uint32_t>(staged->block.txs.size());
  header.tx_root = TxRootFromIds(staged->tx_ids);
  header.state_root = staged->head.state_root;
  Hash256 hash = BlockHash(header);
  // Keep the execution: FinalizeBlock of this very block reuses it (ABCI++'s
  // "optimistic execution"), so the proposer executes each block once.
  staged->block.header = header;
  staged->block.signature = proposer.Sign(ByteView(hash.bytes));
  staged->block_hash = hash;
  staged->head.block_hash = hash;
  Block block = staged->block;
  staged_ = std::move(staged);
  return block;
}

Result<Hash256> Ledger::FinalizeBlock(const Block& block) {
  const BlockHeader& h = block.header;
  const std::string where = "block " + std::to_string(h.height);
  Hash256 hash = BlockHash(h);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (staged_ && staged_->block_hash == hash) return staged_->head.state_root;
    if (h.height != head_.height + 1) {
      return FailedPrecondition(where + ": expected height " + std::to_string(head_.height + 1));
    }
    if (h.prev_hash != head_.block_hash) return InvalidArgument(where + ": does not extend the current head");
  }
  if (h.chain_id != genesis_.chain_id) return InvalidArgument(where + ": belongs to chain '" + h.chain_id + "'");
  if (h.proposer != genesis_.sequencer) return PermissionDenied(where + ": proposer is not this chain's sequencer");
  if (block.txs.size() > kBlockTxsMax) return InvalidArgument(where + ": too many transactions");
  CAIRN_RETURN_IF_ERROR(CheckBlockIntegrity(block));
  std::vector<Hash256> tx_ids;
  CAIRN_RETURN_IF_ERROR(VerifySignatures(block.txs, &tx_ids).WithContext(where));
  std::lock_guard<std::mutex> lock(mu_);
  CAIRN_ASSIGN_OR_RETURN(auto staged, Execute(h, block.txs, tx_ids, nullptr));
  if (staged->head.state_root != h.state_root) {
    return Corruption(where + ": recorded state root " + ShortId(h.state_root) + " but executing the block gives " +
                      ShortId(staged->head.state_root));
  }
  staged->block = block;
  staged->tx_ids = std::move(tx_ids);
  staged->block_hash = hash;
  staged->head.block_hash = hash;
  staged_ = std::move(staged);
  return h.state_root;
}

Status Ledger::Commit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!staged_) return FailedPrecondition("Commit without a finalized block");
  Staged& s = *staged_;
  store::WriteBatch batch;
  AddStateWrites(s.writes, s.root_update.buckets, &batch);
  batch.Put(kBlocksColumnFamily, store::EncodeKeyU64(s.head.height), ToString(EncodeBlock(s.block)));
  CAIRN_ASSERT(s.tx_ids.size() == s.block.txs.size());
  std::vector<std::pair<Hash256, uint32_t>> index;  // Sorted by tx id, for the same reason.
  index.reserve(s.block.txs.size());
  for (uint32_t i = 0; i < s.tx_ids.size(); ++i) index.emplace_back(s.tx_ids[i], i);
  std::sort(index.begin(), index.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, i] : index) {
    batch.Put(kTxIndexColumnFamily, std::string(ByteView(id.bytes).AsStringView()), TxIndexValue(s.head.height, i));
  }
  // Index new jobs by posting height (re-putting an existing entry is harmless).
  for (const auto& [key, value] : s.writes.writes()) {
    if (!value || key.rfind("j/", 0) != 0) continue;
    CAIRN_ASSIGN_OR_RETURN(Job job, DecodeJob(*value));
    if (job.posted_height == s.head.height) {
      std::string index_key = store::EncodeKeyU64(job.posted_height);
      index_key.append(ByteView(job.job_id.bytes).AsStringView());
      batch.Put(kJobIndexColumnFamily, index_key, "");
    }
  }
  batch.Put(kMetaColumnFamily, kHeadMetaKey, ToString(EncodeHead(s.head)));
  CAIRN_RETURN_IF_ERROR(kv_->Write(batch, options_.sync));
  root_.Install(s.root_update);
  cache_.Install(std::move(s.bucket_changes));
  head_ = s.head;
  staged_.reset();
  // The check state was relative to the old head; the sequencer re-checks
  // what is left in its mempool.
  check_state_.Clear();
  check_state_begun_ = false;
  return Status::Ok();
}

Head Ledger::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

Result<Account> Ledger::GetAccount(const AccountId& id) const { return ledger::GetAccount(committed_, id); }

Result<std::optional<Job>> Ledger::GetJob(const Hash256& job_id) const { return ledger::GetJob(committed_, job_id); }

Result<std::optional<Dispute>> Ledger::GetDispute(const Hash256& job_id, uint32_t index) const {
  return ledger::GetDispute(committed_, job_id, index);
}

Result<std::optional<Dispute>> Ledger::GetOpenDispute(const Hash256& job_id) const {
  CAIRN_ASSIGN_OR_RETURN(auto job, GetJob(job_id));
  if (!job || job->status != JobStatus::kDisputed || job->disputes == 0) return std::optional<Dispute>();
  return GetDispute(job_id, job->disputes - 1);
}

Result<Amount> Ledger::GetJackpot() const { return GetAmount(committed_, kJackpotKey); }

Result<Block> Ledger::GetBlock(uint64_t height) const {
  auto raw = kv_->Get(kBlocksColumnFamily, store::EncodeKeyU64(height));
  if (!raw.ok()) {
    if (raw.status().code() == StatusCode::kNotFound) return NotFound("no block at height " + std::to_string(height));
    return raw.status();
  }
  return DecodeBlock(ByteView(*raw));
}

Result<std::optional<TxLocation>> Ledger::FindTx(const Hash256& tx_id) const {
  auto raw = kv_->Get(kTxIndexColumnFamily, std::string(ByteView(tx_id.bytes).AsStringView()));
  if (!raw.ok()) {
    if (raw.status().code() == StatusCode::kNotFound) return std::optional<TxLocation>();
    return raw.status();
  }
  util::Reader r{ByteView(*raw)};
  TxLocation loc;
  loc.height = r.U64();
  loc.index = r.U32();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("tx index record"));
  return std::optional<TxLocation>(loc);
}

Status Ledger::ListJobs(const std::function<bool(const Hash256&, uint64_t)>& visit) const {
  Status decode = Status::Ok();
  Status scan = kv_->Scan(kJobIndexColumnFamily, "", [&](std::string_view key, std::string_view) {
    if (key.size() != 8 + 32) {
      decode = Corruption("job index key of " + std::to_string(key.size()) + " bytes");
      return false;
    }
    Hash256 id;
    std::memcpy(id.bytes.data(), key.data() + 8, 32);
    return visit(id, store::DecodeKeyU64(key.substr(0, 8)));
  });
  CAIRN_RETURN_IF_ERROR(scan);
  return decode;
}

Result<std::optional<std::string>> Ledger::GetEndpoint(const AccountId& id) const {
  return ledger::GetEndpoint(committed_, id);
}

Result<uint64_t> Ledger::NextNonce(const AccountId& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  CAIRN_ASSIGN_OR_RETURN(Account a, ledger::GetAccount(check_state_, id));
  return a.nonce + 1;
}

}  // namespace cairn::ledger
