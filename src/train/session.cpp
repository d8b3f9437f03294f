#include "train/session.h"

#include <cmath>

#include "data/batch_order.h"
#include "train/snapshot.h"
#include "util/file.h"

namespace cairn::train {

TrainingSession::TrainingSession(const job::JobSpec& spec, const data::Dataset& dataset, uint64_t total_steps,
                                 std::unique_ptr<Model> model, torch::Device device)
    : spec_(spec), dataset_(dataset), total_steps_(total_steps), model_(std::move(model)), device_(device) {}

Result<std::unique_ptr<TrainingSession>> TrainingSession::Create(const job::JobSpec& spec, const data::Dataset& dataset,
                                                                 uint64_t total_steps) {
  if (dataset.size() == 0) return InvalidArgument("the dataset is empty");
  CAIRN_ASSIGN_OR_RETURN(auto model, BuildModel(spec, dataset.feature_shape, dataset.num_classes));
  torch::Device device = spec.profile.device == job::Device::kCuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  std::unique_ptr<TrainingSession> s(new TrainingSession(spec, dataset, total_steps, std::move(model), device));
  s->model_->MoveTo(device);
  s->parameters_ = s->model_->Parameters();
  if (spec.model.init == job::WeightInit::kFile) {
    CAIRN_ASSIGN_OR_RETURN(Bytes weights, util::ReadFile(spec.model.weights_path, size_t{4} << 30));
    CAIRN_RETURN_IF_ERROR(RestoreWeights(weights, s->parameters_, "weights file " + spec.model.weights_path));
  }
  s->optimizer_ = std::make_unique<Optimizer>(spec.optimizer, s->parameters_);
  std::vector<int64_t> shape = {static_cast<int64_t>(dataset.size())};
  shape.insert(shape.end(), dataset.feature_shape.begin(), dataset.feature_shape.end());
  // from_blob does not copy; the session never writes to the features.
  s->features_ = torch::from_blob(const_cast<float*>(dataset.features.data()), shape, torch::kFloat32);
  s->labels_ = torch::from_blob(const_cast<int64_t*>(dataset.labels.data()), {static_cast<int64_t>(dataset.size())},
                                torch::kInt64);
  if (device.is_cuda()) {
    s->features_ = s->features_.to(device);
    s->labels_ = s->labels_.to(device);
  }
  return s;
}

Status TrainingSession::RunSteps(uint64_t begin, uint64_t end, SegmentAccumulator* acc, const CheatHooks& cheat,
                                 const std::function<void(uint64_t, double)>& after_step) {
  const uint32_t n = static_cast<uint32_t>(dataset_.size());
  for (uint64_t step = begin; step < end; ++step) {
    std::vector<uint32_t> indices = cheat.batch_indices
                                        ? cheat.batch_indices(step)
                                        : data::BatchIndices(spec_.seed, step, spec_.batch_size, n);
    std::vector<int64_t> index64(indices.begin(), indices.end());
    torch::Tensor index = torch::from_blob(index64.data(), {static_cast<int64_t>(index64.size())}, torch::kInt64)
                              .to(device_);
    torch::Tensor x = features_.index_select(0, index);
    torch::Tensor y = labels_.index_select(0, index);

    optimizer_->ZeroGrad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model_->Forward(x), y);
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      return FailedPrecondition("training diverged: the loss is " + std::to_string(loss_value) + " at step " +
                                std::to_string(step) +
                                "; lower the learning rate or check the data. No certificate was produced");
    }
    loss.backward();
    double grad_sq = 0;
    // Certificate metadata, at the segment's last step only: a norm every
    // step adds ~20% dispatch overhead to small models. Plain training skips it.
    if (acc != nullptr && step + 1 == end) {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> squares;
      for (const auto& [name, p] : parameters_) {
        if (p.grad().defined()) squares.push_back(p.grad().pow(2).sum());
      }
      grad_sq = torch::stack(squares).sum().item<double>();
    }
    double lr = job::LearningRateAt(spec_, step, total_steps_);
    if (cheat.learning_rate) lr = cheat.learning_rate(step, lr);
    optimizer_->Step(lr);
    if (acc != nullptr) {
      acc->loss_sum += loss_value;
      if (step + 1 == end) acc->grad_norm_last = std::sqrt(grad_sq);
      acc->steps++;
      acc->last_loss = loss_value;
    }
    if (after_step) after_step(step, loss_value);
  }
  return Status::Ok();
}

Bytes TrainingSession::Snapshot(uint64_t step) const {
  return EncodeSnapshot(step, parameters_, *optimizer_, spec_.optimizer);
}

Result<uint64_t> TrainingSession::Restore(ByteView snapshot) {
  return RestoreSnapshot(snapshot, parameters_, optimizer_.get(), spec_.optimizer);
}

Bytes TrainingSession::Weights() const { return EncodeWeights(parameters_); }

std::vector<torch::Tensor> TrainingSession::CloneWeights() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : parameters_) out.push_back(p.detach().clone());
  return out;
}

double TrainingSession::DistanceFrom(const std::vector<torch::Tensor>& earlier) const {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    sum += (parameters_[i].second.detach().to(torch::kFloat64) - earlier[i].to(torch::kFloat64)).pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

}  // namespace cairn::train
