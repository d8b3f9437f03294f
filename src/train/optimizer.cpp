#include "train/optimizer.h"

#include <cmath>

#include "kernels/optim.h"
#include "kernels/torch/autograd.h"

namespace cairn::train {

size_t Optimizer::StateTensorsPerParameter() const {
  switch (spec_.kind) {
    case job::OptimizerKind::kSgd: return spec_.momentum > 0 ? 1 : 0;
    case job::OptimizerKind::kAdam:
    case job::OptimizerKind::kAdamW: return 2;
  }
  return 0;
}

Optimizer::Optimizer(const job::OptimizerSpec& spec, NamedTensors parameters, std::optional<kernels::Exec> repro)
    : spec_(spec), parameters_(std::move(parameters)), repro_(repro) {
  for (const auto& [name, p] : parameters_) {
    std::vector<torch::Tensor> s;
    for (size_t i = 0; i < StateTensorsPerParameter(); ++i) s.push_back(torch::zeros_like(p));
    state_.push_back(std::move(s));
  }
}

void Optimizer::ZeroGrad() {
  for (auto& [name, p] : parameters_) {
    if (!p.grad().defined()) continue;
    if (repro_) {
      p.mutable_grad() = torch::Tensor();
    } else {
      p.mutable_grad().zero_();
    }
  }
}

void Optimizer::ReproStep(double lr) {
  const bool sgd = spec_.kind == job::OptimizerKind::kSgd;
  // The float scalars of this step, derived once in documented double arithmetic.
  const kernels::SgdScalars sgd_scalars = kernels::MakeSgdScalars(
      {.lr = lr, .momentum = spec_.momentum, .weight_decay = spec_.weight_decay, .nesterov = spec_.nesterov});
  const kernels::AdamScalars adam_scalars =
      sgd ? kernels::AdamScalars{}
          : kernels::MakeAdamScalars({.lr = lr,
                                      .beta1 = spec_.beta1,
                                      .beta2 = spec_.beta2,
                                      .eps = spec_.epsilon,
                                      .weight_decay = spec_.weight_decay,
                                      .decoupled = spec_.kind == job::OptimizerKind::kAdamW},
                                     static_cast<int64_t>(steps_));
  torch::Tensor no_momentum;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor& p = parameters_[i].second;
    if (!p.grad().defined()) continue;
    if (sgd) {
      kernels::autograd::SgdStep(*repro_, sgd_scalars, p, spec_.momentum > 0 ? state_[i][0] : no_momentum);
    } else {
      kernels::autograd::AdamStep(*repro_, adam_scalars, p, state_[i][0], state_[i][1]);
    }
  }
}

void Optimizer::Step(double lr) {
  torch::NoGradGuard no_grad;
  steps_++;
  if (repro_) {
    ReproStep(lr);
    return;
  }
  const double wd = spec_.weight_decay;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor& p = parameters_[i].second;
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad();
    switch (spec_.kind) {
      case job::OptimizerKind::kSgd: {
        if (wd != 0) g = g.add(p, wd);
        if (spec_.momentum > 0) {
          // A zero buffer makes the first step buf = g, as PyTorch's clone does.
          torch::Tensor& buf = state_[i][0];
          buf.mul_(spec_.momentum).add_(g);
          g = spec_.nesterov ? g.add(buf, spec_.momentum) : buf;
        }
        p.add_(g, -lr);
        break;
      }
      case job::OptimizerKind::kAdam:
      case job::OptimizerKind::kAdamW: {
        if (spec_.kind == job::OptimizerKind::kAdamW) {
          p.mul_(1.0 - lr * wd);
        } else if (wd != 0) {
          g = g.add(p, wd);
        }
        torch::Tensor& m = state_[i][0];
        torch::Tensor& v = state_[i][1];
        m.mul_(spec_.beta1).add_(g, 1.0 - spec_.beta1);
        v.mul_(spec_.beta2).addcmul_(g, g, 1.0 - spec_.beta2);
        const double bias1 = 1.0 - std::pow(spec_.beta1, static_cast<double>(steps_));
        const double bias2 = 1.0 - std::pow(spec_.beta2, static_cast<double>(steps_));
        torch::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(spec_.epsilon);
        p.addcdiv_(m, denom, -lr / bias1);
        break;
      }
    }
  }
}

}  // namespace cairn::train
