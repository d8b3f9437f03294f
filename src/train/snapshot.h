// Canonical checkpoint bytes (internal to train/; layout in docs/checkpoints.md):
//
//   "CAIRNCK1"  u64 step
//   u32 parameter count, per parameter: string name, u32 rank, i64 dims..., f32 data (LE)
//   u8 optimizer kind, u64 optimizer step count, u32 state tensors per parameter,
//   per parameter, per state tensor: f32 data (LE), same shape as the parameter
//
// Weights come first so the final model hash covers exactly that prefix.
#pragma once

#include <torch/torch.h>

#include "cairn/bytes.h"
#include "train/models.h"
#include "train/optimizer.h"

namespace cairn::train {

Bytes EncodeSnapshot(uint64_t step, const NamedTensors& parameters, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec);

// The weights section alone (what `cairn job fetch` returns), and its hash.
Bytes EncodeWeights(const NamedTensors& parameters);
Hash256 ModelHash(ByteView weights);

// Restores parameters and optimizer state; the names, shapes and optimizer
// must match the model's exactly. Returns the snapshot's step.
Result<uint64_t> RestoreSnapshot(ByteView bytes, const NamedTensors& parameters, Optimizer* optimizer,
                                 const job::OptimizerSpec& spec);
// Loads a weights file (init = file) into parameters; names and shapes must match.
Status RestoreWeights(ByteView bytes, const NamedTensors& parameters, const std::string& source);

// The float32 weights of a snapshot, concatenated in parameter order (for
// tolerance-mode distances).
Result<std::vector<float>> SnapshotWeights(ByteView bytes);

}  // namespace cairn::train
