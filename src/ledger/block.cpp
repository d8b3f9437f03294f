#include "ledger/block.h"

#include <algorithm>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "util/codec.h"

namespace cairn::ledger {
namespace {
constexpr uint8_t kBlockVersion = 1;

void WriteHeader(util::Writer& w, const BlockHeader& h) {
  w.U8(kBlockVersion);
  w.String(h.chain_id);
  w.U64(h.height);
  w.Hash(h.prev_hash);
  w.U64(h.time_ms);
  w.Hash(h.tx_root);
  w.U32(h.tx_count);
  w.Hash(h.state_root);
  w.Raw(ByteView(h.proposer.bytes));
}
}  // namespace

Bytes EncodeBlockHeader(const BlockHeader& header) {
  util::Writer w;
  WriteHeader(w, header);
  return w.Take();
}

Hash256 BlockHash(const BlockHeader& header) {
  return crypto::TaggedHash("cairn/block/v1", EncodeBlockHeader(header));
}

Hash256 TxRoot(const std::vector<SignedTx>& txs) {
  std::vector<Hash256> ids;
  ids.reserve(txs.size());
  for (const auto& tx : txs) ids.push_back(TxId(tx.body));
  return TxRootFromIds(ids);
}

Hash256 TxRootFromIds(const std::vector<Hash256>& tx_ids) {
  std::vector<Hash256> leaves;
  leaves.reserve(tx_ids.size());
  for (const auto& id : tx_ids) leaves.push_back(crypto::MerkleLeafHash(ByteView(id.bytes)));
  return crypto::MerkleRoot(leaves);
}

Bytes EncodeBlock(const Block& block) {
  util::Writer w;
  WriteHeader(w, block.header);
  w.Raw(ByteView(block.signature.bytes));
  w.U32(static_cast<uint32_t>(block.txs.size()));
  for (const auto& tx : block.txs) w.LengthPrefixed(EncodeTx(tx));
  return w.Take();
}

Result<Block> DecodeBlock(ByteView bytes) {
  if (bytes.size > kBlockBytesMax) return InvalidArgument("block exceeds " + std::to_string(kBlockBytesMax) + " bytes");
  util::Reader r(bytes);
  Block b;
  uint8_t version = r.U8();
  if (r.ok() && version != kBlockVersion) r.Fail("unsupported block version " + std::to_string(version));
  b.header.chain_id = r.String(kChainIdBytesMax);
  b.header.height = r.U64();
  b.header.prev_hash = r.Hash();
  b.header.time_ms = r.U64();
  b.header.tx_root = r.Hash();
  b.header.tx_count = r.U32();
  b.header.state_root = r.Hash();
  r.Raw(b.header.proposer.bytes.data(), b.header.proposer.bytes.size());
  r.Raw(b.signature.bytes.data(), b.signature.bytes.size());
  uint32_t n = r.ListLength(kBlockTxsMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Bytes raw = r.LengthPrefixed(kTxBytesMax);
    if (!r.ok()) break;
    auto tx = DecodeTx(raw);
    if (!tx.ok()) return tx.status().WithContext("block " + std::to_string(b.header.height) + ": tx " + std::to_string(i));
    b.txs.push_back(std::move(tx).value());
  }
  Status s = r.Finish();
  if (!s.ok()) return s.WithContext("malformed block");
  return b;
}

Status CheckBlockIntegrity(const Block& block) {
  const std::string where = "block " + std::to_string(block.header.height);
  if (block.header.tx_count != block.txs.size()) {
    return Corruption(where + ": header says " + std::to_string(block.header.tx_count) + " txs, body has " +
                      std::to_string(block.txs.size()));
  }
  if (TxRoot(block.txs) != block.header.tx_root) return Corruption(where + ": tx root does not match its transactions");
  Hash256 hash = BlockHash(block.header);
  if (!crypto::Verify(block.header.proposer, ByteView(hash.bytes), block.signature)) {
    return Corruption(where + ": proposer signature is invalid");
  }
  return Status::Ok();
}

std::vector<Hash256> JobsTouched(const Block& block) {
  std::vector<Hash256> out;
  for (const SignedTx& tx : block.txs) {
    auto id = JobOfOperation(tx.body.op);
    if (id && std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
    // A replicated job's post makes its other replicas too.
    if (const auto* post = std::get_if<PostJobOp>(&tx.body.op)) {
      for (uint8_t r = 1; r < post->replicas && r < kReplicasMax; ++r) out.push_back(ReplicaJobId(post->job_id, r));
    }
  }
  return out;
}

}  // namespace cairn::ledger
