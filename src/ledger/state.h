// Ledger state: typed records over a key-value overlay, and the state root.
//
// Logical keys ("a/<account>", "j/<job id>", ...) are stored in the store's
// "state" column family under a 2-byte bucket prefix: bucket = the first 12
// bits of BLAKE2b(logical key). Each of the 4096 buckets has a digest over its
// sorted entries, and the state root is the Merkle root of the bucket
// digests. A block only rehashes the buckets it touched, so committing a
// block costs O(touched buckets x entries per bucket + 4096 hashes), not
// O(state). docs/ledger.md explains the layout and its scaling limit.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/types.h"
#include "store/kv_store.h"

namespace cairn::ledger {

inline constexpr char kStateColumnFamily[] = "state";
inline constexpr uint32_t kStateBuckets = 4096;

// Read access to a state: the committed store or an overlay above it.
class StateReader {
 public:
  virtual ~StateReader() = default;
  // nullopt if absent; a Status only for store failures.
  virtual Result<std::optional<std::string>> Read(const std::string& key) const = 0;
};

// The committed state in a KvStore.
class StoreStateReader final : public StateReader {
 public:
  explicit StoreStateReader(const store::KvStore* kv) : kv_(kv) {}
  Result<std::optional<std::string>> Read(const std::string& key) const override;

 private:
  const store::KvStore* kv_;
};

// Buffered writes above a parent state. Execution writes into an overlay per
// transaction; a transaction that fails is dropped with its overlay, which is
// how a rejected transaction changes nothing. Not thread-safe.
class Overlay final : public StateReader {
 public:
  explicit Overlay(const StateReader* parent) : parent_(parent) {}
  Result<std::optional<std::string>> Read(const std::string& key) const override;
  void Put(const std::string& key, std::string value) { writes_[key] = std::move(value); }
  void Erase(const std::string& key) { writes_[key] = std::nullopt; }
  // Applies this overlay's writes to `parent` (which must be its parent).
  void MergeInto(Overlay* parent) const;
  const std::map<std::string, std::optional<std::string>>& writes() const { return writes_; }
  void Clear() { writes_.clear(); }

 private:
  const StateReader* parent_;
  std::map<std::string, std::optional<std::string>> writes_;
};

// Logical keys.
std::string AccountKey(const AccountId& id);
std::string JobKey(const Hash256& job_id);
std::string UnbondingKey(uint64_t release_height);
std::string EndpointKey(const AccountId& id);
inline const std::string kJackpotKey = "g/jackpot";
inline const std::string kSupplyKey = "g/supply";

// Typed access. Absent accounts read as empty; an empty account is erased so
// that the state has one representation.
Result<Account> GetAccount(const StateReader& state, const AccountId& id);
void PutAccount(Overlay* state, const AccountId& id, const Account& account);
Result<std::optional<Job>> GetJob(const StateReader& state, const Hash256& job_id);
void PutJob(Overlay* state, const Job& job);
Result<Amount> GetAmount(const StateReader& state, const std::string& key);
void PutAmount(Overlay* state, const std::string& key, Amount amount);

// The endpoint an account announced (AnnounceOp); nullopt if none.
Result<std::optional<std::string>> GetEndpoint(const StateReader& state, const AccountId& id);
void PutEndpoint(Overlay* state, const AccountId& id, const std::string& endpoint);

struct Unbonding {
  AccountId account;
  Amount amount = 0;
};
Result<std::vector<Unbonding>> GetUnbondings(const StateReader& state, uint64_t release_height);
void PutUnbondings(Overlay* state, uint64_t release_height, const std::vector<Unbonding>& entries);

// Record codecs (canonical; strict decoding).
std::string EncodeAccount(const Account& a);
Result<Account> DecodeAccount(std::string_view bytes);
std::string EncodeJob(const Job& j);
Result<Job> DecodeJob(std::string_view bytes);

// Physical layout.
uint16_t StateBucket(std::string_view logical_key);
std::string PhysicalStateKey(std::string_view logical_key);

// Digest of one bucket's sorted (logical key, value) entries; zero if empty.
Hash256 BucketDigest(const std::map<std::string, std::string>& entries);

// The committed state, read through a cache of whole buckets. Execution
// reads the accounts that CheckTx just read, and recomputing a bucket's
// digest needs every entry of the bucket; both come from memory once a
// bucket has been read from the store. The Ledger installs the buckets each
// committed block changed, so the cache always agrees with the store.
// Bounded: when it would hold more than entries_max entries it starts over.
// Not thread-safe: the Ledger uses it under its lock.
class StateCache final : public StateReader {
 public:
  using Entries = std::map<std::string, std::string>;  // Logical key -> value.
  // Buckets changed by a block: their new digests and entries.
  struct Changes {
    std::map<uint16_t, Hash256> digests;
    std::map<uint16_t, Entries> entries;
  };

  StateCache(const store::KvStore* kv, size_t entries_max);
  Result<std::optional<std::string>> Read(const std::string& key) const override;
  // The buckets that `writes` (above the committed state) touch, as they will
  // be once the writes are committed. Changes nothing.
  Result<Changes> Recompute(const std::map<std::string, std::optional<std::string>>& writes) const;
  // REQUIRES: `changes` were just committed to the store.
  void Install(Changes changes);

 private:
  // The committed entries of bucket b, scanned from the store if not cached.
  // The pointer stays valid until the next call to Bucket or Install.
  Result<const Entries*> Bucket(uint16_t b) const;
  void Clear() const;

  const store::KvStore* const kv_;
  const size_t entries_max_;
  // Reading fills the cache, so it is mutable behind the const readers.
  mutable std::vector<std::optional<Entries>> buckets_;  // Indexed by bucket.
  mutable size_t entries_ = 0;                           // Over all cached buckets.
};

// The 4096 bucket digests and the Merkle tree over them. The tree is kept
// whole, so a block rehashes only the paths above the buckets it touched
// (about k * (13 - log2 k) node hashes for k buckets, instead of all 4095).
// With a power-of-two number of leaves, RFC 6962's shape is the perfect
// binary tree, so Root() equals crypto::MerkleRoot(bucket digests).
// Owned by the Ledger; not thread-safe.
class StateRoot {
 public:
  // New bucket digests and every tree node they change: computed once by
  // Stage, installed as they are by Install.
  struct Update {
    std::map<uint16_t, Hash256> buckets;
    std::vector<std::pair<uint32_t, Hash256>> nodes;  // (Heap index, hash) of each changed inner node.
    Hash256 root;                                     // Root once installed.
  };

  StateRoot();  // Every bucket empty.
  // REQUIRES: buckets.size() == kStateBuckets.
  explicit StateRoot(const std::vector<Hash256>& buckets);

  // The tree with `buckets` changed, without installing it.
  Update Stage(const std::map<uint16_t, Hash256>& buckets) const;
  // REQUIRES: `update` was staged against the current tree.
  void Install(const Update& update);
  const Hash256& Root() const { return nodes_[1]; }

  // Every bucket from scratch (start-up checks and audits).
  static Result<std::vector<Hash256>> ComputeAll(const store::KvStore& committed);

 private:
  static_assert((kStateBuckets & (kStateBuckets - 1)) == 0, "the tree must be perfect: a power of two of buckets");
  // Heap order: nodes_[1] is the root, the children of node i are 2i and
  // 2i + 1, and bucket b is the leaf kStateBuckets + b. nodes_[0] is unused.
  std::vector<Hash256> nodes_;
};

}  // namespace cairn::ledger
