// Models a job can train (internal to train/: includes libtorch). Built-in
// MLP, CNN and a small transformer, and TorchScript modules exported from
// PyTorch; all behind one interface so the trainer, checkpoints and replay
// treat them alike.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/status.h"
#include "job/spec.h"

namespace cairn::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class Model {
 public:
  virtual ~Model() = default;
  // x: [batch, feature_shape...] float32 -> logits [batch, classes].
  virtual torch::Tensor Forward(const torch::Tensor& x) = 0;
  // Trainable parameters in a fixed order (registration order), the order of
  // the checkpoint layout.
  virtual NamedTensors Parameters() = 0;
  virtual void MoveTo(const torch::Device& device) = 0;
};

// Builds the model of `spec` for examples of `feature_shape` and
// `num_classes` classes, with initial weights from the job seed or the
// fine-tuning weights file. Refuses (with the reason) a TorchScript file that
// does not load, has no parameters, or whose forward does not produce
// [batch, num_classes] logits for this data.
Result<std::unique_ptr<Model>> BuildModel(const job::JobSpec& spec, const std::vector<int64_t>& feature_shape,
                                          uint32_t num_classes);

// Seeded initialisation (docs/checkpoints.md): for each parameter in order,
// weights of rank >= 2 are uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] from
// CounterRng(seed, kStreamWeightInit) at consecutive indices; rank-1
// parameters named "...bias" are zero, other rank-1 parameters are one.
void InitializeFromSeed(const NamedTensors& parameters, uint64_t seed);

}  // namespace cairn::train
