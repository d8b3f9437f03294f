// Optimizers implemented op by op (internal to train/), so that their state
// has a canonical layout in checkpoints and their arithmetic is specified
// (docs/checkpoints.md) rather than inherited from a library version. The
// update rules are PyTorch's torch.optim.SGD / Adam / AdamW.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "job/spec.h"
#include "train/models.h"

namespace cairn::train {

class Optimizer {
 public:
  // State tensors are created zeroed, the same shape as each parameter.
  Optimizer(const job::OptimizerSpec& spec, NamedTensors parameters);

  // Applies one update with learning rate `lr` to the parameters' .grad().
  void Step(double lr);
  void ZeroGrad();

  // Per parameter: SGD keeps [momentum buffer] (if momentum > 0), Adam and
  // AdamW keep [exp_avg, exp_avg_sq].
  const std::vector<std::vector<torch::Tensor>>& state() const { return state_; }
  std::vector<std::vector<torch::Tensor>>& mutable_state() { return state_; }
  uint64_t step_count() const { return steps_; }
  void set_step_count(uint64_t steps) { steps_ = steps; }
  size_t StateTensorsPerParameter() const;

 private:
  job::OptimizerSpec spec_;
  NamedTensors parameters_;
  std::vector<std::vector<torch::Tensor>> state_;
  uint64_t steps_ = 0;
};

}  // namespace cairn::train
