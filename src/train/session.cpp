#include "train/session.h"

#include <cmath>

#include "crypto/hash.h"
#include "data/batch_order.h"
#include "kernels/reduce.h"
#include "train/snapshot.h"
#include "util/file.h"

namespace cairn::train {

TrainingSession::TrainingSession(const job::JobSpec& spec, const data::Dataset& dataset, uint64_t total_steps,
                                 std::unique_ptr<Model> model, torch::Device device)
    : spec_(spec), dataset_(dataset), total_steps_(total_steps), model_(std::move(model)), device_(device) {}

Result<std::unique_ptr<TrainingSession>> TrainingSession::Create(const job::JobSpec& spec, const data::Dataset& dataset,
                                                                 uint64_t total_steps) {
  CAIRN_ASSIGN_OR_RETURN(ModelFiles files, ReadModelFiles(spec));
  return Create(spec, dataset, total_steps, files);
}

Result<std::unique_ptr<TrainingSession>> TrainingSession::Create(const job::JobSpec& spec, const data::Dataset& dataset,
                                                                 uint64_t total_steps, const ModelFiles& files) {
  if (dataset.size() == 0) return InvalidArgument("the dataset is empty");
  CAIRN_ASSIGN_OR_RETURN(auto model, BuildModel(spec, dataset.feature_shape, dataset.num_classes, files));
  torch::Device device = spec.profile.device == job::Device::kCuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  std::unique_ptr<TrainingSession> s(new TrainingSession(spec, dataset, total_steps, std::move(model), device));
  s->model_->MoveTo(device);
  s->parameters_ = s->model_->Parameters();
  s->optimizer_ = std::make_unique<Optimizer>(spec.optimizer, s->parameters_, s->model_->repro());
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

void TrainingSession::SeedRandomness(uint64_t step) const {
  torch::manual_seed(data::CounterRng(spec_.seed, data::kStreamModelRandomness).Bits64(step));
}

std::pair<torch::Tensor, torch::Tensor> TrainingSession::Batch(uint64_t step, const CheatHooks& cheat) const {
  const uint32_t n = static_cast<uint32_t>(dataset_.size());
  std::vector<uint32_t> indices =
      cheat.batch_indices ? cheat.batch_indices(step) : data::BatchIndices(spec_.seed, step, spec_.batch_size, n);
  std::vector<int64_t> index64(indices.begin(), indices.end());
  torch::Tensor index =
      torch::from_blob(index64.data(), {static_cast<int64_t>(index64.size())}, torch::kInt64).to(device_);
  return {features_.index_select(0, index), labels_.index_select(0, index)};
}

double TrainingSession::GradientSquaredNorm() const {
  torch::NoGradGuard no_grad;
  if (const std::optional<kernels::Exec> repro = model_->repro()) {
    // Each gradient's fixed-tree SumSquares, added in double in parameter order.
    double sum = 0;
    for (const auto& [name, p] : parameters_) {
      if (!p.grad().defined()) continue;
      const torch::Tensor g = p.grad().contiguous();
      sum += static_cast<double>(kernels::SumSquares(*repro, g.data_ptr<float>(), g.numel()));
    }
    return sum;
  }
  std::vector<torch::Tensor> squares;
  for (const auto& [name, p] : parameters_) {
    if (p.grad().defined()) squares.push_back(p.grad().pow(2).sum());
  }
  return torch::stack(squares).sum().item<double>();
}

Status TrainingSession::RunSteps(uint64_t begin, uint64_t end, SegmentAccumulator* acc, const CheatHooks& cheat,
                                 const std::function<void(uint64_t, double)>& after_step, StepObserver* observer) {
  for (uint64_t step = begin; step < end; ++step) {
    auto [x, y] = Batch(step, cheat);
    SeedRandomness(step);
    // Ends the observed step however the body below leaves (also by a throw).
    struct EndObserved {
      StepObserver* observer;
      ~EndObserved() {
        if (observer != nullptr) observer->EndStep();
      }
    } end_observed{nullptr};
    if (observer != nullptr) {
      observer->BeginStep(step, StepInputs(x, y));
      end_observed.observer = observer;
    }
    optimizer_->ZeroGrad();
    if (cheat.repro_output) {
      model_->SetOutputHook(
          [&cheat, step](uint32_t op, float* values, int64_t count) { cheat.repro_output(step, op, values, count); });
    }
    torch::Tensor loss = CrossEntropyLoss(*model_, model_->Forward(x), y);
    if (cheat.repro_output) model_->SetOutputHook(nullptr);
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
      // Metadata, not part of the step's state: an observer does not see it,
      // so a traced step is the same whatever segment it ends.
      std::optional<at::DisableRecordFunctionGuard> unobserved;
      if (observer != nullptr) unobserved.emplace();
      grad_sq = GradientSquaredNorm();
    }
    double lr = job::LearningRateAt(spec_, step, total_steps_);
    if (cheat.learning_rate) lr = cheat.learning_rate(step, lr);
    optimizer_->Step(lr);
    if (cheat.round_to_bfloat16 && cheat.round_to_bfloat16(step)) RoundStateToBfloat16();
    if (acc != nullptr) {
      acc->loss_sum += loss_value;
      if (step + 1 == end) acc->grad_norm_last = std::sqrt(grad_sq);
      acc->steps++;
      acc->last_loss = loss_value;
    }
    if (end_observed.observer != nullptr) {
      end_observed.observer = nullptr;
      observer->EndStep();
    }
    if (after_step) after_step(step, loss_value);
  }
  return Status::Ok();
}

void TrainingSession::RoundStateToBfloat16() {
  torch::NoGradGuard no_grad;
  auto round = [](torch::Tensor& t) {
    if (t.defined() && t.scalar_type() == torch::kFloat32) t.copy_(t.to(torch::kBFloat16).to(torch::kFloat32));
  };
  for (auto& [name, p] : parameters_) round(p);
  for (auto& per_parameter : optimizer_->mutable_state()) {
    for (torch::Tensor& t : per_parameter) round(t);
  }
}

NamedTensors TrainingSession::StepInputs(const torch::Tensor& x, const torch::Tensor& y) {
  NamedTensors inputs = {{"batch.features", x}, {"batch.labels", y}};
  for (const StateTensor& t : model_->State()) inputs.push_back({t.name, t.tensor});
  for (size_t i = 0; i < parameters_.size(); ++i) {
    for (size_t s = 0; s < optimizer_->state()[i].size(); ++s) {
      inputs.push_back({"optimizer." + parameters_[i].first + "." + std::to_string(s), optimizer_->state()[i][s]});
    }
  }
  return inputs;
}

void TrainingSession::ResetGradients() {
  for (auto& [name, p] : parameters_) p.mutable_grad() = torch::Tensor();
}

Bytes TrainingSession::Snapshot(uint64_t step) {
  return encoder_.Encode(step, model_->State(), *optimizer_, spec_.optimizer);
}

Result<uint64_t> TrainingSession::Restore(ByteView snapshot) {
  return RestoreSnapshot(snapshot, model_->State(), optimizer_.get(), spec_.optimizer);
}

Bytes TrainingSession::ModelFile() const { return EncodeModelFile(model_->State()); }

Status TrainingSession::CheckRandomnessIsControlled(uint64_t step) {
  const Bytes saved = Snapshot(step);
  // One forward and backward; returns what it decided: loss, gradients and
  // the buffers the forward left behind.
  auto pass = [&]() -> std::pair<Bytes, Bytes> {
    auto [x, y] = Batch(step, CheatHooks{});
    SeedRandomness(step);
    optimizer_->ZeroGrad();
    torch::Tensor loss = CrossEntropyLoss(*model_, model_->Forward(x), y);
    loss.backward();
    ModelState grads;
    grads.push_back({"loss", proof::TensorRole::kBuffer, loss.detach()});
    for (const auto& [name, p] : parameters_) {
      if (p.grad().defined()) grads.push_back({name, proof::TensorRole::kBuffer, p.grad()});
    }
    return {EncodeModelFile(grads), ModelFile()};
  };
  auto first = pass();
  CAIRN_RETURN_IF_ERROR(Restore(saved).status());
  auto second = pass();
  CAIRN_RETURN_IF_ERROR(Restore(saved).status());
  optimizer_->ZeroGrad();
  if (first != second) {
    const char* what = first.first != second.first ? "loss or gradients" : "buffers";
    return FailedPrecondition(
        "the model's training step is not reproducible: two passes over the same batch from the same state with "
        "the same seed give different " + std::string(what) +
        ". cairn seeds torch's default generators (CPU and CUDA) from the job seed before every step, which covers "
        "dropout, torch.rand/randn/bernoulli and friends in built-in and TorchScript models; a model that draws from "
        "its own generator or uses a nondeterministic operator cannot be verified");
  }
  return Status::Ok();
}

}  // namespace cairn::train
