// Genesis: the chain's identity, parameters and initial allocations.
#pragma once

#include "ledger/state.h"
#include "ledger/types.h"

namespace cairn::ledger {

Bytes EncodeGenesis(const Genesis& genesis);
Result<Genesis> DecodeGenesis(ByteView bytes);
// The chain's root of trust: block 1's prev_hash.
Hash256 GenesisHash(const Genesis& genesis);

// Rejects a genesis that could not run: empty chain id, shares above 100%,
// duplicate or overflowing allocations.
Status ValidateGenesis(const Genesis& genesis);

// Writes the initial state (allocations, total supply) into `state`.
Status ApplyGenesis(Overlay* state, const Genesis& genesis);

}  // namespace cairn::ledger
