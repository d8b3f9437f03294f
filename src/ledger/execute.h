// The deterministic state transition: one transaction, or the start of a
// block, applied to an overlay. Pure: no clock, no randomness, no I/O except
// reads through the overlay. Same inputs, same writes, on every machine.
#pragma once

#include "ledger/state.h"
#include "ledger/tx.h"

namespace cairn::ledger {

// Windows a job may ask for, in blocks.
inline constexpr uint64_t kJobWindowBlocksMax = kWindowBlocksMax;

struct ExecContext {
  const Genesis* genesis = nullptr;
  uint64_t height = 0;  // Height of the block being executed.
  Hash256 prev_block_hash;  // Hash of block height - 1 (the genesis hash for block 1).
};

// Runs at the start of every block: releases stake whose unbonding delay ends
// at this height, and gives the jobs committed in the block before their
// verifier selection seed (that block's hash).
Status BeginBlock(Overlay* state, const ExecContext& ctx);

// Applies one transaction whose signature the caller has already verified.
// On error `state` may hold partial writes: callers apply each transaction
// into its own child overlay and drop it on error, so a rejected transaction
// changes nothing. The Status says why, in terms a user can act on.
Status ApplyTx(Overlay* state, const SignedTx& tx, const ExecContext& ctx);

}  // namespace cairn::ledger
