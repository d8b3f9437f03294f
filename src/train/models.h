// Models a job can train (internal to train/: includes libtorch). Built-in
// MLP, CNN and a small transformer, and TorchScript modules exported from
// PyTorch; all behind one interface so the trainer, checkpoints and replay
// treat them alike.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cairn/status.h"
#include "job/spec.h"
#include "kernels/backend.h"
#include "proof/model_state.h"

namespace cairn::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// One tensor of a model's state, as the module holds it right now.
struct StateTensor {
  std::string name;
  proof::TensorRole role;
  torch::Tensor tensor;
};
using ModelState = std::vector<StateTensor>;

// Tests only (CheatHooks::repro_output): sees the output of every operator
// of a repro forward pass, numbered 0, 1, ... in the order they run, and may
// change it in place.
using OutputHook = std::function<void(uint32_t op, float* values, int64_t count)>;

class Model {
 public:
  virtual ~Model() = default;
  // x: [batch, feature_shape...] float32 -> logits [batch, classes].
  virtual torch::Tensor Forward(const torch::Tensor& x) = 0;
  // With profile.kernels = "repro": the kernels' backend and threads that
  // Forward (and the loss, gradient norm and optimizer of its session) use;
  // nullopt for ATen.
  virtual std::optional<kernels::Exec> repro() const { return std::nullopt; }
  // Repro models only; an empty hook removes it.
  virtual void SetOutputHook(OutputHook hook) { (void)hook; }
  // The whole state in a fixed order: every parameter (trainable or frozen)
  // in registration order, then every buffer. Fetched afresh on each call,
  // since a TorchScript forward may replace a buffer object.
  virtual ModelState State() = 0;
  // The trainable parameters (requires_grad), in State() order.
  NamedTensors Parameters();
  virtual void MoveTo(const torch::Device& device) = 0;
  // Training mode (dropout active, BatchNorm updating its statistics) or
  // evaluation mode.
  virtual void SetTraining(bool training) = 0;
};

// The model files a job names, read once into memory and checked against
// the spec's hashes: the bytes BuildModel loads are the bytes the job id
// covers (a file swapped after hashing cannot slip in). Empty when unused.
struct ModelFiles {
  Bytes torchscript;
  Bytes weights;
};
Result<ModelFiles> ReadModelFiles(const job::JobSpec& spec);

// Builds the model of `spec` for examples of `feature_shape` and
// `num_classes` classes, with initial weights from the job seed or the
// fine-tuning weights file, from `files` (ReadModelFiles). With
// profile.kernels = "repro", the built-in model's forward runs on the
// reproducible kernels (the best backend, or CAIRN_KERNELS_BACKEND's) with
// profile.threads threads; the parameters, their names and their
// initialisation are those of the ATen model. Refuses (with
// the reason) a file that does not load or match its hash, a model without
// trainable parameters, one whose trainable parameters are not float32, one
// whose forward changes an attribute that is not a parameter or buffer (that
// state would escape checkpoints), or whose forward does not produce
// [batch, num_classes] logits for this data.
Result<std::unique_ptr<Model>> BuildModel(const job::JobSpec& spec, const std::vector<int64_t>& feature_shape,
                                          uint32_t num_classes, const ModelFiles& files);

// The training loss: mean cross-entropy of logits [batch, classes] against
// labels [batch] (int64), with ATen or, for a repro model, the kernels'
// CrossEntropy (a scalar tensor that autograd differentiates).
torch::Tensor CrossEntropyLoss(const Model& model, const torch::Tensor& logits, const torch::Tensor& labels);
// Per-example cross-entropy [batch] (float32, no gradient), for evaluation:
// ATen's, or for a repro model -LogSoftmaxForward(logits)[label].
torch::Tensor ExampleCrossEntropy(const Model& model, const torch::Tensor& logits, const torch::Tensor& labels);

// The TorchScript module behind a model loaded from a file (model.kind =
// "torchscript"), sharing its tensors; nullptr for the built-in models.
torch::jit::Module* ScriptedModule(Model* model);

// Seeded initialisation (docs/checkpoints.md): for each parameter in order,
// weights of rank >= 2 are uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] from
// CounterRng(seed, kStreamWeightInit) at consecutive indices; rank-1
// parameters named "...bias" are zero, other rank-1 parameters are one.
void InitializeFromSeed(const NamedTensors& parameters, uint64_t seed);

}  // namespace cairn::train
