// A model's state and training checkpoints as canonical bytes (internal to
// train/): the torch side of proof/model_state.h, which defines the layout
// (docs/checkpoints.md) and decodes it without libtorch.
#pragma once

#include <torch/torch.h>

#include "cairn/bytes.h"
#include "proof/model_state.h"
#include "train/models.h"
#include "train/optimizer.h"

namespace cairn::train {

// The checkpoint dtype of a tensor's scalar type; fails for types
// checkpoints cannot hold (complex, quantized).
Result<proof::DType> DTypeOf(torch::ScalarType type);
torch::ScalarType ScalarTypeOf(proof::DType dtype);

// The model file: every tensor of the state (what `model.bin` holds and
// final_model_hash covers).
Bytes EncodeModelFile(const ModelState& state);

Bytes EncodeSnapshot(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec);

// Restores the whole state and the optimizer's, all or nothing: the bytes are
// decoded and checked against the model (names, roles, dtypes, shapes) and
// the optimizer configuration before any tensor changes. Returns the step.
Result<uint64_t> RestoreSnapshot(ByteView bytes, const ModelState& state, Optimizer* optimizer,
                                 const job::OptimizerSpec& spec);

// Loads a model file (init = "file") into the state: the same tensors with
// the same shapes and dtypes; a parameter may be trainable in one and frozen
// in the other (fine-tuning freezes a backbone). All or nothing.
Status RestoreModelFile(ByteView bytes, const ModelState& state, const std::string& source);

// RestoreModelFile for a model file a user names (`cairn eval`, `cairn
// export`): the message says whether the bytes are no model file at all or a
// model file of another model, and where a job's trained model is.
Status RestoreUserModelFile(ByteView bytes, const ModelState& state);

}  // namespace cairn::train
