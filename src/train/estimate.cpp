// `cairn job estimate`: steps, FLOPs per step and checkpoint storage,
// computed from the model as built (so TorchScript files are counted too).
#include <numeric>

#include "train/local_engine.h"
#include "train/models.h"
#include "train/optimizer.h"
#include "train/torch_error.h"
#include "train/train.h"

namespace cairn::train {
namespace {

// Multiply-accumulate count of one forward pass per example, from the
// layer structure where it is known.
double ForwardMacsPerExample(const job::JobSpec& spec, const std::vector<int64_t>& shape, uint64_t parameters) {
  const job::ModelSpec& m = spec.model;
  switch (m.kind) {
    case job::ModelKind::kMlp:
      return static_cast<double>(parameters);  // Every weight is used once per example.
    case job::ModelKind::kCnn: {
      double macs = 0;
      double c = static_cast<double>(shape[0]), h = static_cast<double>(shape[1]), w = static_cast<double>(shape[2]);
      for (uint32_t out : m.channels) {
        macs += h * w * c * out * 9;
        c = out;
        h = std::floor(h / 2);
        w = std::floor(w / 2);
      }
      return macs + c * h * w;  // Plus the head, roughly.
    }
    case job::ModelKind::kTransformer: {
      double tokens = shape.size() == 1 ? static_cast<double>(shape[0])
                                        : static_cast<double>(std::accumulate(shape.begin(), shape.end() - 1, int64_t{1},
                                                                              std::multiplies<int64_t>()));
      double d = m.d_model;
      // Weights are applied per token; attention adds 2 * tokens^2 * d per layer.
      return tokens * static_cast<double>(parameters) + m.layers * 2.0 * tokens * tokens * d;
    }
    case job::ModelKind::kTorchScript:
      return static_cast<double>(parameters);  // A lower bound: structure unknown.
  }
  return static_cast<double>(parameters);
}

}  // namespace

namespace {

Result<Estimate> EstimateUnguarded(const job::JobSpec& spec, const data::Dataset& dataset, const ModelFiles& files) {
  CAIRN_ASSIGN_OR_RETURN(auto model, BuildModel(spec, dataset.feature_shape, dataset.num_classes, files));
  Estimate e;
  e.steps = job::ResolvedSteps(spec, dataset.size());
  size_t state_per_param = 0;
  switch (spec.optimizer.kind) {
    case job::OptimizerKind::kSgd: state_per_param = spec.optimizer.momentum > 0 ? 1 : 0; break;
    default: state_per_param = 2; break;
  }
  uint64_t header_bytes = 8 + 8 + 4 + 1 + 8 + 4;
  for (const auto& [name, p] : model->Parameters()) {
    e.parameters += static_cast<uint64_t>(p.numel());
    header_bytes += 4 + name.size() + 4 + 8 * static_cast<uint64_t>(p.dim());
  }
  // Forward 2 FLOPs per MAC; backward about twice the forward.
  e.flops_per_step = 3.0 * 2.0 * ForwardMacsPerExample(spec, dataset.feature_shape, e.parameters) * spec.batch_size +
                     10.0 * static_cast<double>(e.parameters);  // Optimizer update.
  e.checkpoints = job::CheckpointCount(spec, e.steps);
  e.checkpoint_bytes = header_bytes + e.parameters * 4 * (1 + state_per_param);
  e.storage_bytes = e.checkpoint_bytes * e.checkpoints;
  return e;
}

}  // namespace

// worker_engine.cpp: the estimate computed in a sandboxed worker.
Result<Estimate> EstimateInWorker(const job::JobSpec& spec, const WorkerOptions& worker);

Result<Estimate> EstimateJobWith(const job::JobSpec& spec, const data::Dataset& dataset, const ModelFiles& files) {
  return GuardTorch("estimating the job", [&] { return EstimateUnguarded(spec, dataset, files); });
}

Result<Estimate> EstimateJob(const job::JobSpec& spec, const data::Dataset& dataset, const WorkerOptions& worker) {
  if (worker.isolated) return EstimateInWorker(spec, worker);
  return GuardTorch("estimating the job", [&]() -> Result<Estimate> {
    CAIRN_ASSIGN_OR_RETURN(ModelFiles files, ReadModelFiles(spec));
    return EstimateUnguarded(spec, dataset, files);
  });
}

}  // namespace cairn::train
