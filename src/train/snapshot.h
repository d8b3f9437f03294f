// A model's state and training checkpoints as canonical bytes (internal to
// train/): the torch side of proof/model_state.h, which defines the layout
// (docs/checkpoints.md) and decodes it without libtorch.
#pragma once

#include <torch/torch.h>

#include <mutex>
#include <vector>

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

// The canonical checkpoint bytes (docs/checkpoints.md), built tensor by
// tensor with the canonical codec: the reference encoding. Training uses
// SnapshotEncoder, which produces the same bytes faster.
Bytes EncodeSnapshot(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec);

// Encodes one session's checkpoints with as little work as possible on the
// training thread. A model's checkpoint layout (every name, role, dtype and
// shape, the optimizer configuration) does not change from step to step, so
// the encoding is laid out once as a template: EncodeSnapshot's own bytes,
// with the offset of every tensor's data taken from proof::DecodeCheckpoint.
// A snapshot is then the template's header bytes, the two step counters and
// one memcpy of each tensor's storage into place, into a buffer handed back
// by Recycle when there is one (no allocation, no page faults). The bytes are
// EncodeSnapshot's, byte for byte: the template is checked against it when it
// is built, and a state whose layout no longer matches (a TorchScript forward
// that replaced a buffer with one of another shape) gets a new template.
// Thread-safety: Encode from one thread at a time; Recycle from any thread.
class SnapshotEncoder {
 public:
  Bytes Encode(uint64_t step, const ModelState& state, const Optimizer& optimizer, const job::OptimizerSpec& spec);
  // Takes back the bytes of a snapshot the caller is done with, to reuse
  // their memory. Any Bytes may be handed back (only the capacity is reused).
  void Recycle(Bytes buffer);
  // How many templates were laid out (1 unless the layout changed).
  uint64_t templates_built() const { return templates_built_; }

 private:
  // What decides a tensor's place and header in the checkpoint.
  struct TensorKey {
    std::string name;
    proof::TensorRole role;
    torch::ScalarType dtype;
    std::vector<int64_t> sizes;
  };
  struct Region {
    size_t offset = 0;
    size_t bytes = 0;
  };

  bool Matches(const ModelState& state, const Optimizer& optimizer, const job::OptimizerSpec& spec) const;
  void BuildTemplate(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec);
  void Fill(uint64_t step, const ModelState& state, const Optimizer& optimizer, Bytes* out) const;
  Bytes TakeBuffer();

  // The layout and its template (the Encode thread's).
  bool built_ = false;
  std::vector<TensorKey> keys_;  // The state's tensors, in order.
  uint8_t optimizer_kind_ = 0;
  size_t state_per_parameter_ = 0;
  Bytes template_;
  std::vector<Region> data_;  // Model tensors in state order, then optimizer state tensors in order.
  std::vector<Region> gaps_;  // Every other byte: magic, names, roles, dtypes, dims, counts.
  size_t optimizer_steps_offset_ = 0;
  uint64_t templates_built_ = 0;

  std::mutex mu_;
  std::vector<Bytes> free_;  // GUARDED_BY(mu_); at most kSnapshotBuffersPooledMax.
};

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
