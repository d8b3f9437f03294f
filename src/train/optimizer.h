// Optimizers implemented op by op (internal to train/), so that their state
// has a canonical layout in checkpoints and their arithmetic is specified
// (docs/checkpoints.md) rather than inherited from a library version. The
// update rules are PyTorch's torch.optim.SGD / Adam / AdamW; with a kernels
// Exec (profile.kernels = "repro") they are the kernels' SgdStep / AdamStep
// (docs/kernels.md, "Optimizers"), with the same state.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "job/spec.h"
#include "kernels/backend.h"
#include "train/models.h"

namespace cairn::train {

class Optimizer {
 public:
  // State tensors are created zeroed, the same shape as each parameter.
  Optimizer(const job::OptimizerSpec& spec, NamedTensors parameters, std::optional<kernels::Exec> repro = std::nullopt);

  // Applies one update with learning rate `lr` to the parameters' .grad().
  void Step(double lr);
  // Zeroes the gradients (ATen), or drops them (repro: autograd then stores
  // each fresh gradient instead of adding it to a zero with ATen).
  void ZeroGrad();

  // Per parameter: SGD keeps [momentum buffer] (if momentum > 0), Adam and
  // AdamW keep [exp_avg, exp_avg_sq].
  const std::vector<std::vector<torch::Tensor>>& state() const { return state_; }
  std::vector<std::vector<torch::Tensor>>& mutable_state() { return state_; }
  uint64_t step_count() const { return steps_; }
  void set_step_count(uint64_t steps) { steps_ = steps; }
  size_t StateTensorsPerParameter() const;

 private:
  void ReproStep(double lr);

  job::OptimizerSpec spec_;
  NamedTensors parameters_;
  std::optional<kernels::Exec> repro_;
  std::vector<std::vector<torch::Tensor>> state_;
  uint64_t steps_ = 0;
};

}  // namespace cairn::train
