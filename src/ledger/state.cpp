#include "ledger/state.h"

#include <algorithm>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "util/codec.h"

namespace cairn::ledger {
namespace {

std::string KeyBytes(ByteView b) { return std::string(b.AsStringView()); }

void PutId(util::Writer& w, const crypto::PublicKey& k) { w.Raw(ByteView(k.bytes)); }
crypto::PublicKey GetId(util::Reader& r) {
  crypto::PublicKey k;
  r.Raw(k.bytes.data(), k.bytes.size());
  return k;
}

}  // namespace

Result<std::optional<std::string>> StoreStateReader::Read(const std::string& key) const {
  auto v = kv_->Get(kStateColumnFamily, PhysicalStateKey(key));
  if (v.ok()) return std::optional<std::string>(std::move(v).value());
  if (v.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return v.status();
}

Result<std::optional<std::string>> Overlay::Read(const std::string& key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  return parent_->Read(key);
}

void Overlay::MergeInto(Overlay* parent) const {
  CAIRN_ASSERT(parent == parent_);
  for (const auto& [k, v] : writes_) parent->writes_[k] = v;
}

std::string AccountKey(const AccountId& id) { return "a/" + KeyBytes(ByteView(id.bytes)); }
std::string JobKey(const Hash256& job_id) { return "j/" + KeyBytes(ByteView(job_id.bytes)); }
std::string EndpointKey(const AccountId& id) { return "p/" + KeyBytes(ByteView(id.bytes)); }

Result<std::optional<std::string>> GetEndpoint(const StateReader& state, const AccountId& id) {
  return state.Read(EndpointKey(id));
}

void PutEndpoint(Overlay* state, const AccountId& id, const std::string& endpoint) {
  state->Put(EndpointKey(id), endpoint);
}
std::string UnbondingKey(uint64_t release_height) { return "u/" + store::EncodeKeyU64(release_height); }

std::string EncodeAccount(const Account& a) {
  util::Writer w;
  w.U64(a.nonce);
  w.U64(a.balance);
  w.U64(a.stake_free);
  w.U64(a.stake_bonded);
  w.U64(a.unbonding);
  w.U64(a.stake_height);
  return std::string(w.bytes().begin(), w.bytes().end());
}

Result<Account> DecodeAccount(std::string_view bytes) {
  util::Reader r{ByteView(bytes)};
  Account a;
  a.nonce = r.U64();
  a.balance = r.U64();
  a.stake_free = r.U64();
  a.stake_bonded = r.U64();
  a.unbonding = r.U64();
  a.stake_height = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("account record"));
  return a;
}

std::string EncodeJob(const Job& j) {
  util::Writer w;
  w.Hash(j.job_id);
  PutId(w, j.submitter);
  w.U64(j.fee);
  w.U64(j.solver_stake);
  w.U64(j.claim_deadline_height);
  w.U64(j.commit_window_blocks);
  w.U64(j.commit_deadline_height);
  w.U8(static_cast<uint8_t>(j.status));
  PutId(w, j.solver);
  w.U64(j.claimed_height);
  w.Hash(j.forced_error_commitment);
  w.Hash(j.certificate_hash);
  w.Hash(j.checkpoint_root);
  w.Hash(j.final_model_hash);
  w.U64(j.challenge_end_height);
  w.U32(static_cast<uint32_t>(j.votes.size()));
  for (const Vote& v : j.votes) {
    PutId(w, v.verifier);
    w.Bool(v.accept);
    w.U64(v.bond);
    w.Hash(v.report_hash);
  }
  w.Hash(j.manifest_hash);
  w.U64(j.posted_height);
  w.U64(j.checkpoint_count);
  w.U64(j.committed_height);
  w.Hash(j.selection_seed);
  w.U32(j.disputes);
  w.Hash(j.claim_seed);
  w.U8(static_cast<uint8_t>(j.forced));
  w.Hash(j.forced_error_secret);
  w.U64(j.forced_leaf);
  w.Hash(j.group);
  w.U8(j.replica);
  w.U8(j.replicas);
  w.Bool(j.exact_replay);
  return std::string(w.bytes().begin(), w.bytes().end());
}

Result<Job> DecodeJob(std::string_view bytes) {
  util::Reader r{ByteView(bytes)};
  Job j;
  j.job_id = r.Hash();
  j.submitter = GetId(r);
  j.fee = r.U64();
  j.solver_stake = r.U64();
  j.claim_deadline_height = r.U64();
  j.commit_window_blocks = r.U64();
  j.commit_deadline_height = r.U64();
  uint8_t status = r.U8();
  if (r.ok() && (status < 1 || status > 8)) r.Fail("unknown job status " + std::to_string(status));
  j.status = static_cast<JobStatus>(status);
  j.solver = GetId(r);
  j.claimed_height = r.U64();
  j.forced_error_commitment = r.Hash();
  j.certificate_hash = r.Hash();
  j.checkpoint_root = r.Hash();
  j.final_model_hash = r.Hash();
  j.challenge_end_height = r.U64();
  uint32_t n = r.ListLength(2 * kVerdictsPerJobMax + 1);  // Accepts, slashed accepts, one pending reject.
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Vote v;
    v.verifier = GetId(r);
    v.accept = r.Bool();
    v.bond = r.U64();
    v.report_hash = r.Hash();
    j.votes.push_back(v);
  }
  j.manifest_hash = r.Hash();
  j.posted_height = r.U64();
  j.checkpoint_count = r.U64();
  j.committed_height = r.U64();
  j.selection_seed = r.Hash();
  j.disputes = r.U32();
  j.claim_seed = r.Hash();
  uint8_t forced = r.U8();
  if (r.ok() && forced > static_cast<uint8_t>(ForcedError::kMasked)) r.Fail("unknown forced-error state " + std::to_string(forced));
  j.forced = static_cast<ForcedError>(forced);
  j.forced_error_secret = r.Hash();
  j.forced_leaf = r.U64();
  j.group = r.Hash();
  j.replica = r.U8();
  j.replicas = r.U8();
  j.exact_replay = r.Bool();
  if (r.ok() && (j.replicas == 0 || j.replica >= j.replicas)) r.Fail("replica " + std::to_string(j.replica) + " of " + std::to_string(j.replicas));
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("job record"));
  return j;
}

Result<Account> GetAccount(const StateReader& state, const AccountId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto raw, state.Read(AccountKey(id)));
  if (!raw) return Account{};
  return DecodeAccount(*raw);
}

void PutAccount(Overlay* state, const AccountId& id, const Account& account) {
  if (account.IsEmpty()) {
    state->Erase(AccountKey(id));
  } else {
    state->Put(AccountKey(id), EncodeAccount(account));
  }
}

Result<std::optional<Job>> GetJob(const StateReader& state, const Hash256& job_id) {
  CAIRN_ASSIGN_OR_RETURN(auto raw, state.Read(JobKey(job_id)));
  if (!raw) return std::optional<Job>();
  CAIRN_ASSIGN_OR_RETURN(Job job, DecodeJob(*raw));
  return std::optional<Job>(std::move(job));
}

void PutJob(Overlay* state, const Job& job) { state->Put(JobKey(job.job_id), EncodeJob(job)); }

Result<Amount> GetAmount(const StateReader& state, const std::string& key) {
  CAIRN_ASSIGN_OR_RETURN(auto raw, state.Read(key));
  if (!raw) return Amount{0};
  util::Reader r{ByteView(*raw)};
  Amount a = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("amount record " + key));
  return a;
}

void PutAmount(Overlay* state, const std::string& key, Amount amount) {
  if (amount == 0) {
    state->Erase(key);
    return;
  }
  util::Writer w;
  w.U64(amount);
  state->Put(key, std::string(w.bytes().begin(), w.bytes().end()));
}

Result<std::vector<Unbonding>> GetUnbondings(const StateReader& state, uint64_t release_height) {
  CAIRN_ASSIGN_OR_RETURN(auto raw, state.Read(UnbondingKey(release_height)));
  std::vector<Unbonding> out;
  if (!raw) return out;
  util::Reader r{ByteView(*raw)};
  uint32_t n = r.ListLength(kUnbondingsPerBlockMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Unbonding u;
    u.account = GetId(r);
    u.amount = r.U64();
    out.push_back(u);
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("unbonding record"));
  return out;
}

void PutUnbondings(Overlay* state, uint64_t release_height, const std::vector<Unbonding>& entries) {
  if (entries.empty()) {
    state->Erase(UnbondingKey(release_height));
    return;
  }
  util::Writer w;
  w.U32(static_cast<uint32_t>(entries.size()));
  for (const auto& u : entries) {
    PutId(w, u.account);
    w.U64(u.amount);
  }
  state->Put(UnbondingKey(release_height), std::string(w.bytes().begin(), w.bytes().end()));
}

uint16_t StateBucket(std::string_view logical_key) {
  Hash256 h = crypto::Blake2b256(ByteView(logical_key));
  return static_cast<uint16_t>(((h.bytes[0] << 8) | h.bytes[1]) >> 4);
  static_assert(kStateBuckets == 4096, "StateBucket takes 12 bits");
}

std::string PhysicalStateKey(std::string_view logical_key) {
  uint16_t b = StateBucket(logical_key);
  std::string out;
  out.reserve(2 + logical_key.size());
  out.push_back(static_cast<char>(b >> 8));
  out.push_back(static_cast<char>(b & 0xff));
  out.append(logical_key);
  return out;
}

Hash256 BucketDigest(const std::map<std::string, std::string>& entries) {
  if (entries.empty()) return Hash256{};
  util::Writer w;
  for (const auto& [k, v] : entries) {
    w.String(k);
    w.String(v);
  }
  return crypto::TaggedHash("cairn/state/bucket/v1", w.bytes());
}

namespace {
std::string BucketPrefix(uint16_t b) {
  return std::string{static_cast<char>(b >> 8), static_cast<char>(b & 0xff)};
}

Status ReadBucket(const store::KvStore& kv, uint16_t b, std::map<std::string, std::string>* out) {
  return kv.Scan(kStateColumnFamily, BucketPrefix(b), [&](std::string_view key, std::string_view value) {
    out->emplace(std::string(key.substr(2)), std::string(value));
    return true;
  });
}
}  // namespace

StateCache::StateCache(const store::KvStore* kv, size_t entries_max)
    : kv_(kv), entries_max_(entries_max), buckets_(kStateBuckets) {}

Result<const StateCache::Entries*> StateCache::Bucket(uint16_t b) const {
  std::optional<Entries>& cached = buckets_[b];
  if (!cached) {
    Entries entries;
    CAIRN_RETURN_IF_ERROR(ReadBucket(*kv_, b, &entries));
    if (entries_ + entries.size() > entries_max_) Clear();
    entries_ += entries.size();
    cached = std::move(entries);
  }
  return &*cached;
}

void StateCache::Clear() const {
  // Starting over is simpler than evicting and, at this size, rare.
  for (auto& bucket : buckets_) bucket.reset();
  entries_ = 0;
}

Result<std::optional<std::string>> StateCache::Read(const std::string& key) const {
  CAIRN_ASSIGN_OR_RETURN(const Entries* bucket, Bucket(StateBucket(key)));
  auto it = bucket->find(key);
  if (it == bucket->end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<StateCache::Changes> StateCache::Recompute(
    const std::map<std::string, std::optional<std::string>>& writes) const {
  std::map<uint16_t, std::vector<const std::pair<const std::string, std::optional<std::string>>*>> by_bucket;
  for (const auto& entry : writes) by_bucket[StateBucket(entry.first)].push_back(&entry);
  Changes changes;
  for (const auto& [b, bucket_writes] : by_bucket) {
    CAIRN_ASSIGN_OR_RETURN(const Entries* committed, Bucket(b));
    Entries entries = *committed;
    for (const auto* w : bucket_writes) {
      if (w->second) {
        entries[w->first] = *w->second;
      } else {
        entries.erase(w->first);
      }
    }
    changes.digests[b] = BucketDigest(entries);
    changes.entries[b] = std::move(entries);
  }
  return changes;
}

void StateCache::Install(Changes changes) {
  for (auto& [b, entries] : changes.entries) {
    if (buckets_[b]) entries_ -= buckets_[b]->size();
    entries_ += entries.size();
    buckets_[b] = std::move(entries);
  }
  if (entries_ > entries_max_) Clear();
}

StateRoot::StateRoot() : StateRoot(std::vector<Hash256>(kStateBuckets)) {}

StateRoot::StateRoot(const std::vector<Hash256>& buckets) : nodes_(2 * kStateBuckets) {
  CAIRN_ASSERT(buckets.size() == kStateBuckets);
  std::copy(buckets.begin(), buckets.end(), nodes_.begin() + kStateBuckets);
  for (uint32_t i = kStateBuckets - 1; i >= 1; --i) {
    nodes_[i] = crypto::MerkleNodeHash(nodes_[2 * i], nodes_[2 * i + 1]);
  }
}

StateRoot::Update StateRoot::Stage(const std::map<uint16_t, Hash256>& buckets) const {
  Update update;
  // The changed nodes of one level, by increasing heap index; then their parents.
  std::vector<std::pair<uint32_t, Hash256>> level;
  level.reserve(buckets.size());
  for (const auto& [b, digest] : buckets) level.emplace_back(kStateBuckets + b, digest);
  while (!level.empty() && level.front().first > 1) {
    std::vector<std::pair<uint32_t, Hash256>> parents;
    parents.reserve(level.size());
    for (size_t i = 0; i < level.size(); ++i) {
      uint32_t index = level[i].first;
      uint32_t left = index & ~1u;
      // A changed sibling is next in the list; an unchanged one is in the tree.
      bool sibling_changed = i + 1 < level.size() && level[i + 1].first == (left | 1u);
      const Hash256& left_hash = index == left ? level[i].second : nodes_[left];
      const Hash256& right_hash =
          index == left ? (sibling_changed ? level[i + 1].second : nodes_[left | 1u]) : level[i].second;
      parents.emplace_back(index / 2, crypto::MerkleNodeHash(left_hash, right_hash));
      if (sibling_changed) ++i;
    }
    update.nodes.insert(update.nodes.end(), parents.begin(), parents.end());
    level = std::move(parents);
  }
  update.root = update.nodes.empty() ? nodes_[1] : update.nodes.back().second;
  update.buckets = buckets;
  return update;
}

void StateRoot::Install(const Update& update) {
  for (const auto& [b, digest] : update.buckets) nodes_[kStateBuckets + b] = digest;
  for (const auto& [index, hash] : update.nodes) nodes_[index] = hash;
  CAIRN_ASSERT(nodes_[1] == update.root);
}

Result<std::vector<Hash256>> StateRoot::ComputeAll(const store::KvStore& committed) {
  std::vector<std::map<std::string, std::string>> contents(kStateBuckets);
  Status bad_key;
  CAIRN_RETURN_IF_ERROR(committed.Scan(kStateColumnFamily, "", [&](std::string_view key, std::string_view value) {
    if (key.size() < 2) {
      bad_key = Corruption("state key shorter than its bucket prefix");
      return false;
    }
    std::string_view logical = key.substr(2);
    uint16_t b = static_cast<uint16_t>((static_cast<uint8_t>(key[0]) << 8) | static_cast<uint8_t>(key[1]));
    if (b >= kStateBuckets || StateBucket(logical) != b) {
      bad_key = Corruption("state key is stored under the wrong bucket");
      return false;
    }
    contents[b].emplace(std::string(logical), std::string(value));
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(bad_key);
  std::vector<Hash256> out(kStateBuckets);
  for (uint32_t b = 0; b < kStateBuckets; ++b) out[b] = BucketDigest(contents[b]);
  return out;
}

}  // namespace cairn::ledger
