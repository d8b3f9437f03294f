// Limits on submitted work that need more than the spec's own fields: the
// resolved step count (verifiability) and the model as built (size). Named
// constants, units last; every refusal gives the numbers.
#pragma once

#include <cstdint>

#include "cairn/status.h"
#include "job/spec.h"

namespace cairn::job {

// Trainable parameters of one model (float32: 200 MB of weights, 600 MB of
// checkpoint with Adam's state).
inline constexpr uint64_t kTrainableParametersMax = 50'000'000;
// Bytes of a model's whole state (parameters, frozen parameters, buffers).
inline constexpr uint64_t kModelStateBytesMax = uint64_t{2} << 30;
// Estimated activation memory of one training step (forward values kept
// for backward, and their gradients), for models whose structure is known.
inline constexpr uint64_t kStepActivationBytesMax = uint64_t{8} << 30;

// A verifier replays top_q + uniform segments; a job with so few segments
// that this is more than half of them makes every verifier redo most of the
// work (and a single-segment job makes it redo all of it). Refused, with the
// numbers and the fix (a smaller checkpoint_interval).
Status CheckVerifiable(const JobSpec& spec, uint64_t total_steps);

// Activation bytes of one step of a built-in model on batches of
// `feature_shape` examples: 0 when the structure is not known (TorchScript,
// bounded by the worker's address-space limit instead).
uint64_t EstimateStepActivationBytes(const JobSpec& spec, const std::vector<int64_t>& feature_shape,
                                     uint32_t num_classes);

// The size limits, given what the built model has.
Status CheckModelSize(uint64_t trainable_parameters, uint64_t state_bytes, uint64_t step_activation_bytes);

}  // namespace cairn::job
