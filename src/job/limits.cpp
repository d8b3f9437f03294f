#include "job/limits.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cairn::job {
namespace {

std::string Mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

Status CheckVerifiable(const JobSpec& spec, uint64_t total_steps) {
  const uint64_t segments = CheckpointCount(spec, total_steps) - 1;
  const uint64_t sampled = uint64_t{spec.verification.top_q} + spec.verification.uniform;
  if (sampled > 0 && segments < 2 * sampled) {
    return InvalidArgument("the job has " + std::to_string(segments) + " segment(s) of " +
                           std::to_string(spec.checkpoint_interval) + " steps and a verifier replays " +
                           std::to_string(sampled) + " (verification.top_q + verification.uniform), more than half "
                           "of the job: lower checkpoint_interval to at most " +
                           std::to_string(std::max<uint64_t>(1, total_steps / (2 * sampled))) +
                           " so that verification stays cheap");
  }
  return Status::Ok();
}

uint64_t EstimateStepActivationBytes(const JobSpec& spec, const std::vector<int64_t>& feature_shape,
                                     uint32_t num_classes) {
  // Values per example kept for backward, each with a gradient of its own:
  // 2 floats of 4 bytes per value.
  const double per_value_bytes = 8.0;
  const double batch = spec.batch_size;
  const double inputs = static_cast<double>(
      std::accumulate(feature_shape.begin(), feature_shape.end(), int64_t{1}, std::multiplies<int64_t>()));
  const ModelSpec& m = spec.model;
  double values = 0;
  switch (m.kind) {
    case ModelKind::kMlp: {
      values = inputs + num_classes;
      for (uint32_t width : m.hidden_sizes) values += 2.0 * width;  // Linear output and ReLU.
      break;
    }
    case ModelKind::kCnn: {
      if (feature_shape.size() != 3) return 0;
      double h = static_cast<double>(feature_shape[1]), w = static_cast<double>(feature_shape[2]);
      values = inputs;
      for (uint32_t c : m.channels) {
        values += 2.0 * c * h * w;  // Convolution and ReLU at full size.
        h = std::floor(h / 2);
        w = std::floor(w / 2);
        values += c * h * w;  // After pooling.
      }
      values += num_classes;
      break;
    }
    case ModelKind::kTransformer: {
      const double tokens = feature_shape.size() == 1 ? inputs : inputs / static_cast<double>(feature_shape.back());
      const double d = m.d_model;
      // Per layer: norms, q/k/v, projections and the feed-forward per token,
      // plus the attention scores and their softmax per head.
      values = tokens * d + m.layers * (tokens * (12.0 * d + 2.0 * m.feedforward) + 2.0 * m.heads * tokens * tokens);
      break;
    }
    case ModelKind::kTorchScript:
      return 0;
  }
  return static_cast<uint64_t>(batch * values * per_value_bytes);
}

Status CheckModelSize(uint64_t trainable_parameters, uint64_t state_bytes, uint64_t step_activation_bytes) {
  if (trainable_parameters > kTrainableParametersMax) {
    return InvalidArgument("the model has " + std::to_string(trainable_parameters) +
                           " trainable parameters, more than the limit of " + std::to_string(kTrainableParametersMax));
  }
  if (state_bytes > kModelStateBytesMax) {
    return InvalidArgument("the model's state is " + Mib(state_bytes) + ", more than the limit of " +
                           Mib(kModelStateBytesMax));
  }
  if (step_activation_bytes > kStepActivationBytesMax) {
    return InvalidArgument("one training step needs an estimated " + Mib(step_activation_bytes) +
                           " of activations, more than the limit of " + Mib(kStepActivationBytesMax) +
                           ": lower batch_size or the model's widths");
  }
  return Status::Ok();
}

}  // namespace cairn::job
