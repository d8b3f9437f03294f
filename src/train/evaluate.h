// Scoring a trained model on a held-out dataset: test loss and accuracy
// (`cairn eval`; what a certificate will report and a verifier recompute).
// Torch-free interface: libtorch stays inside train/evaluate.cpp.
#pragma once

#include <cstdint>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "data/dataset.h"
#include "job/spec.h"

namespace cairn::train {

// Examples per forward pass. Part of the definition of the result: batches
// of another size may round differently (BLAS blocking), so solver, verifier
// and exported-model checks all use this one.
inline constexpr uint32_t kEvalBatchExamples = 500;

struct EvalResult {
  double loss = 0;      // Mean cross-entropy (natural log) over the examples.
  double accuracy = 0;  // correct / examples.
  uint64_t examples = 0;
  uint64_t correct = 0;  // Examples whose largest logit (first, on ties) is the label.
};

// Builds the model of `spec` for examples shaped like `train_shape_source`
// (its feature shape and class count decide the layer sizes), loads
// `model_file` (a cairn model file of this job: model.bin or any file
// EncodeModelFile wrote for it), and runs all of `eval_set` through it in
// evaluation mode (dropout off, BatchNorm using its running statistics),
// without gradients, in batches of kEvalBatchExamples in index order. Each
// example's float32 cross-entropy is widened to double and summed in index
// order, so the result is a pure function of the inputs for a fixed execution
// profile (which is applied first, as training applies it). A model file that
// does not decode or does not fit the job's model, and an evaluation set that
// does not fit the training set, are InvalidArgument. A model whose outputs
// are not finite gives a NaN or infinite loss rather than an error.
Result<EvalResult> EvaluateModelFile(const job::JobSpec& spec, ByteView model_file,
                                     const data::Dataset& train_shape_source, const data::Dataset& eval_set);

}  // namespace cairn::train
