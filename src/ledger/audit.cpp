#include "ledger/audit.h"

#include "ledger/genesis.h"
#include "store/memory_store.h"

namespace cairn::ledger {
namespace {

// Describes a logical state key for an error message.
std::string DescribeKey(std::string_view logical) {
  auto hex_tail = [&](size_t from) { return ToHex(ByteView(logical.substr(from))).substr(0, 16); };
  if (logical.rfind("a/", 0) == 0) return "account " + hex_tail(2);
  if (logical.rfind("j/", 0) == 0) return "job " + hex_tail(2);
  if (logical.rfind("u/", 0) == 0) return "unbonding queue entry";
  return "state key '" + std::string(logical) + "'";
}

using Entries = std::map<std::string, std::string>;

Result<Entries> ReadAll(const store::KvStore& kv, const char* cf) {
  Entries out;
  CAIRN_RETURN_IF_ERROR(kv.Scan(cf, "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

// Compares two column families; `describe` names a differing key.
Status CompareColumnFamily(const store::KvStore& stored, const store::KvStore& replay, const char* cf,
                           const std::function<std::string(std::string_view)>& describe) {
  CAIRN_ASSIGN_OR_RETURN(Entries a, ReadAll(stored, cf));
  CAIRN_ASSIGN_OR_RETURN(Entries b, ReadAll(replay, cf));
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      return Corruption(std::string(cf) + ": stored " + describe(ia->first) + " does not exist in the replay");
    }
    if (ia == a.end() || ib->first < ia->first) {
      return Corruption(std::string(cf) + ": " + describe(ib->first) + " is missing from the store");
    }
    if (ia->second != ib->second) {
      return Corruption(std::string(cf) + ": stored " + describe(ia->first) + " differs from the replay");
    }
    ++ia;
    ++ib;
  }
  return Status::Ok();
}

}  // namespace

Result<AuditReport> AuditLedger(const store::KvStore& stored, const AuditProgress& progress) {
  auto raw_genesis = stored.Get(kMetaColumnFamily, "genesis");
  if (!raw_genesis.ok()) return raw_genesis.status().WithContext("audit: reading genesis");
  CAIRN_ASSIGN_OR_RETURN(Genesis genesis, DecodeGenesis(ByteView(*raw_genesis)));
  auto raw_head = stored.Get(kMetaColumnFamily, "head");
  if (!raw_head.ok()) return raw_head.status().WithContext("audit: reading head");
  CAIRN_ASSIGN_OR_RETURN(Head stored_head, DecodeHead(ByteView(*raw_head)));

  store::MemoryStore scratch(LedgerColumnFamilies());
  CAIRN_ASSIGN_OR_RETURN(auto replay, Ledger::Open(&scratch, &genesis, LedgerOptions{store::SyncPolicy::kNoSync, 0}));

  AuditReport report;
  for (uint64_t height = 1; height <= stored_head.height; ++height) {
    auto raw = stored.Get(kBlocksColumnFamily, store::EncodeKeyU64(height));
    if (!raw.ok()) {
      if (raw.status().code() == StatusCode::kNotFound) {
        return Corruption("audit: block " + std::to_string(height) + " is missing (head is " +
                          std::to_string(stored_head.height) + ")");
      }
      return raw.status().WithContext("audit: reading block " + std::to_string(height));
    }
    auto block = DecodeBlock(ByteView(*raw));
    if (!block.ok()) return Corruption("audit: block " + std::to_string(height) + ": " + block.status().message());
    if (block->header.height != height) {
      return Corruption("audit: the block stored at height " + std::to_string(height) + " says it is block " +
                        std::to_string(block->header.height));
    }
    auto root = replay->FinalizeBlock(*block);
    if (!root.ok()) return Corruption("audit: " + root.status().message());
    CAIRN_RETURN_IF_ERROR(replay->Commit().WithContext("audit: replaying block " + std::to_string(height)));
    report.blocks++;
    report.transactions += block->txs.size();
    if (progress) progress(height, stored_head.height);
  }
  if (replay->head() != stored_head) {
    return Corruption("audit: the stored head record does not match the block log (head says height " +
                      std::to_string(stored_head.height) + ", block " + stored_head.block_hash.ToHex().substr(0, 16) +
                      ")");
  }
  auto beyond = stored.Get(kBlocksColumnFamily, store::EncodeKeyU64(stored_head.height + 1));
  if (beyond.ok()) return Corruption("audit: a block is stored beyond the head at height " + std::to_string(stored_head.height + 1));

  CAIRN_RETURN_IF_ERROR(CompareColumnFamily(stored, scratch, kStateColumnFamily, [](std::string_view k) {
    return k.size() >= 2 ? DescribeKey(k.substr(2)) : std::string("malformed key");
  }).WithContext("audit"));
  CAIRN_RETURN_IF_ERROR(CompareColumnFamily(stored, scratch, kMetaColumnFamily, [](std::string_view k) {
    return "meta record '" + std::string(k.substr(0, k.rfind('/') == std::string_view::npos ? k.size() : k.rfind('/'))) + "'";
  }).WithContext("audit"));
  CAIRN_RETURN_IF_ERROR(CompareColumnFamily(stored, scratch, kTxIndexColumnFamily, [](std::string_view k) {
    return "index entry of tx " + ToHex(ByteView(k)).substr(0, 16);
  }).WithContext("audit"));
  CAIRN_RETURN_IF_ERROR(CompareColumnFamily(stored, scratch, kBlocksColumnFamily, [](std::string_view k) {
    return k.size() == 8 ? "block " + std::to_string(store::DecodeKeyU64(k)) : std::string("malformed block key");
  }).WithContext("audit"));
  CAIRN_ASSIGN_OR_RETURN(Entries state, ReadAll(stored, kStateColumnFamily));
  report.state_entries = state.size();
  report.head = stored_head;
  return report;
}

}  // namespace cairn::ledger
