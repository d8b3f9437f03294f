// EvaluateModelFile: one deterministic forward pass over an evaluation set.
#include "train/evaluate.h"

#include <algorithm>

#include "train/models.h"
#include "train/snapshot.h"
#include "train/torch_error.h"
#include "train/train.h"

namespace cairn::train {
namespace {

Result<EvalResult> EvaluateUnguarded(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                     const data::Dataset& train_shape_source, const data::Dataset& eval_set) {
  CAIRN_RETURN_IF_ERROR(job::CheckEvaluationFits(train_shape_source, eval_set, "the evaluation set"));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                         BuildModel(spec, train_shape_source.feature_shape, train_shape_source.num_classes, files));
  CAIRN_RETURN_IF_ERROR(RestoreUserModelFile(model_file, model->State()));
  const torch::Device device =
      spec.profile.device == job::Device::kCuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  model->MoveTo(device);
  model->SetTraining(false);
  torch::NoGradGuard no_grad;

  const int64_t n = static_cast<int64_t>(eval_set.size());
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), eval_set.feature_shape.begin(), eval_set.feature_shape.end());
  // from_blob does not copy; nothing here writes to the features.
  const torch::Tensor features = torch::from_blob(const_cast<float*>(eval_set.features.data()), shape, torch::kFloat32);
  const torch::Tensor labels = torch::from_blob(const_cast<int64_t*>(eval_set.labels.data()), {n}, torch::kInt64);

  EvalResult result;
  double loss_sum = 0;
  for (int64_t begin = 0; begin < n; begin += kEvalBatchExamples) {
    const int64_t count = std::min<int64_t>(kEvalBatchExamples, n - begin);
    torch::Tensor x = features.narrow(0, begin, count).to(device);
    torch::Tensor y = labels.narrow(0, begin, count).to(device);
    torch::Tensor logits = model->Forward(x);
    torch::Tensor losses = ExampleCrossEntropy(*model, logits, y);  // ATen's or the repro kernels'.
    torch::Tensor hits = logits.argmax(1).eq(y);
    // Widening float32 to double is exact (and float64 logits stay as they are).
    losses = losses.to(torch::kCPU, torch::kFloat64).contiguous();
    const double* per_example = losses.data_ptr<double>();
    for (int64_t i = 0; i < count; ++i) loss_sum += per_example[i];
    result.correct += static_cast<uint64_t>(hits.sum().item<int64_t>());
  }
  result.examples = static_cast<uint64_t>(n);
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = static_cast<double>(result.correct) / static_cast<double>(n);
  return result;
}

}  // namespace

Result<EvalResult> EvaluateModelFile(const job::JobSpec& spec, ByteView model_file,
                                     const data::Dataset& train_shape_source, const data::Dataset& eval_set) {
  return GuardTorch("evaluating the model", [&]() -> Result<EvalResult> {
    CAIRN_RETURN_IF_ERROR(ApplyProfile(spec.profile).status());
    CAIRN_ASSIGN_OR_RETURN(ModelFiles files, ReadModelFiles(spec));
    return EvaluateUnguarded(spec, files, model_file, train_shape_source, eval_set);
  });
}

Result<EvalResult> EvaluateModelFileWith(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                         const data::Dataset& train_shape_source, const data::Dataset& eval_set) {
  return GuardTorch("evaluating the model", [&] {
    return EvaluateUnguarded(spec, files, model_file, train_shape_source, eval_set);
  });
}

}  // namespace cairn::train
