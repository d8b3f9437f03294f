// Blocks: ordered, hash-chained batches of transactions, each recording the
// state root after it is applied. The sequencer signs the header hash.
#pragma once

#include <vector>

#include "ledger/tx.h"

namespace cairn::ledger {

struct BlockHeader {
  std::string chain_id;
  uint64_t height = 0;   // Genesis is height 0; the first block is 1.
  Hash256 prev_hash;     // Hash of block height-1 (the genesis hash for block 1).
  uint64_t time_ms = 0;  // Sequencer's clock; informational, not used by execution.
  Hash256 tx_root;       // Merkle root of the tx ids, in block order.
  uint32_t tx_count = 0;
  Hash256 state_root;    // State root after applying this block.
  AccountId proposer;
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

struct Block {
  BlockHeader header;
  crypto::Signature signature;  // Proposer's signature over BlockHash(header).
  std::vector<SignedTx> txs;
};

Bytes EncodeBlockHeader(const BlockHeader& header);
Hash256 BlockHash(const BlockHeader& header);
Hash256 TxRoot(const std::vector<SignedTx>& txs);
// The same from the transactions' ids (TxId), in block order.
Hash256 TxRootFromIds(const std::vector<Hash256>& tx_ids);

Bytes EncodeBlock(const Block& block);
Result<Block> DecodeBlock(ByteView bytes);
// The jobs a block's transactions are about, each once, in first-mention order.
std::vector<Hash256> JobsTouched(const Block& block);

// Checks what a block says about itself: proposer signature, tx count and tx
// root. Does not execute it (that is Ledger::FinalizeBlock).
Status CheckBlockIntegrity(const Block& block);

}  // namespace cairn::ledger
