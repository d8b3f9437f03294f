#include "train/models.h"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <cmath>
#include <sstream>

#include "cairn/assert.h"
#include "crypto/hash.h"
#include "data/batch_order.h"
#include "kernels/norm.h"
#include "kernels/torch/autograd.h"
#include "train/snapshot.h"
#include "train/torch_error.h"
#include "util/file.h"

namespace cairn::train {
namespace {

int64_t Product(const std::vector<int64_t>& shape, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < shape.size(); ++i) p *= shape[i];
  return p;
}

ModelState FromModule(const torch::nn::Module& module) {
  ModelState out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.push_back({item.key(), item.value().requires_grad() ? proof::TensorRole::kParameter
                                                            : proof::TensorRole::kFrozenParameter,
                   item.value()});
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    out.push_back({item.key(), proof::TensorRole::kBuffer, item.value()});
  }
  return out;
}

namespace ka = kernels::autograd;

// The operators of a repro forward pass: the kernels' autograd Functions
// with one Exec, each arithmetic operator's output shown to the test hook
// (if any) in order. One per forward pass; not thread-safe.
//
// The graph it builds uses every tensor once (Fork splits one that feeds
// two consumers), so the autograd engine never adds gradients itself: every
// arithmetic operation of forward and backward is a kernel. ATen does only
// memory work here (allocation, views, copies), which cannot round.
class ReproOps {
 public:
  ReproOps(const kernels::Exec& exec, const OutputHook& hook) : exec_(exec), hook_(hook) {}

  torch::Tensor Linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
    return Tap(ka::Linear(exec_, x, layer->weight, layer->bias));
  }
  // 3x3, padding 1, stride 1 (the cnn's blocks).
  torch::Tensor Conv2d(const torch::nn::Conv2d& conv, const torch::Tensor& x) {
    return Tap(ka::Conv2d(exec_, x, conv->weight, conv->bias, /*pad=*/1, /*stride=*/1));
  }
  torch::Tensor LayerNorm(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
    return Tap(ka::LayerNorm(exec_, x, norm->weight, norm->bias, norm->options.eps()));
  }
  torch::Tensor Relu(const torch::Tensor& x) { return Tap(ka::Relu(exec_, x)); }
  torch::Tensor Gelu(const torch::Tensor& x) { return Tap(ka::Gelu(exec_, x)); }
  torch::Tensor MaxPool2x2(const torch::Tensor& x) { return Tap(ka::MaxPool2x2(exec_, x)); }
  torch::Tensor Softmax(const torch::Tensor& x) { return Tap(ka::Softmax(exec_, x)); }
  torch::Tensor BatchedMatMul(const torch::Tensor& a, const torch::Tensor& b, bool transpose_b) {
    return Tap(ka::BatchedMatMul(exec_, a, b, transpose_b));
  }
  torch::Tensor Scale(const torch::Tensor& x, double s) { return Tap(ka::Scale(exec_, x, s)); }
  torch::Tensor Add(const torch::Tensor& a, const torch::Tensor& b) { return Tap(ka::Add(exec_, a, b)); }
  torch::Tensor AddRowBias(const torch::Tensor& x, const torch::Tensor& bias) {
    return Tap(ka::AddRowBias(exec_, x, bias));
  }
  torch::Tensor MeanRows(const torch::Tensor& x) { return Tap(ka::MeanRows(exec_, x)); }
  std::pair<torch::Tensor, torch::Tensor> Fork(const torch::Tensor& x) { return ka::Fork(exec_, x); }

 private:
  torch::Tensor Tap(torch::Tensor y) {
    if (hook_) hook_(op_, y.data_ptr<float>(), y.numel());
    op_++;
    return y;
  }

  kernels::Exec exec_;
  const OutputHook& hook_;
  uint32_t op_ = 0;
};

// A native module behind the Model interface; with a kernels Exec, its
// forward is the module's forward_repro on those kernels.
template <typename Net>
class NativeModel final : public Model {
 public:
  NativeModel(std::shared_ptr<Net> net, std::optional<kernels::Exec> repro) : net_(std::move(net)), repro_(repro) {}
  torch::Tensor Forward(const torch::Tensor& x) override {
    if (!repro_) return net_->forward(x);
    ReproOps ops(*repro_, hook_);
    return net_->forward_repro(x, ops);
  }
  std::optional<kernels::Exec> repro() const override { return repro_; }
  void SetOutputHook(OutputHook hook) override { hook_ = std::move(hook); }
  ModelState State() override { return FromModule(*net_); }
  void MoveTo(const torch::Device& device) override { net_->to(device); }
  void SetTraining(bool training) override { net_->train(training); }

 private:
  std::shared_ptr<Net> net_;
  std::optional<kernels::Exec> repro_;
  OutputHook hook_;
};

struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t inputs, const std::vector<uint32_t>& hidden, int64_t classes) {
    int64_t width = inputs;
    for (size_t i = 0; i < hidden.size(); ++i) {
      layers.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(width, hidden[i])));
      width = hidden[i];
    }
    head = register_module("head", torch::nn::Linear(width, classes));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x.flatten(1);
    for (auto& layer : layers) x = torch::relu(layer->forward(x));
    return head->forward(x);
  }
  torch::Tensor forward_repro(const torch::Tensor& input, ReproOps& ops) {
    torch::Tensor x = input.flatten(1);
    for (auto& layer : layers) x = ops.Relu(ops.Linear(layer, x));
    return ops.Linear(head, x);
  }
  std::vector<torch::nn::Linear> layers;
  torch::nn::Linear head{nullptr};
};

struct CnnImpl : torch::nn::Module {
  // REQUIRES: shape is {channels, height, width}.
  CnnImpl(const std::vector<int64_t>& shape, const std::vector<uint32_t>& channels, int64_t classes) {
    int64_t c = shape[0], h = shape[1], w = shape[2];
    for (size_t i = 0; i < channels.size(); ++i) {
      convs.push_back(register_module(
          "conv" + std::to_string(i), torch::nn::Conv2d(torch::nn::Conv2dOptions(c, channels[i], 3).padding(1))));
      c = channels[i];
      h /= 2;
      w /= 2;
    }
    head = register_module("head", torch::nn::Linear(c * h * w, classes));
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& conv : convs) x = torch::max_pool2d(torch::relu(conv->forward(x)), 2);
    return head->forward(x.flatten(1));
  }
  torch::Tensor forward_repro(torch::Tensor x, ReproOps& ops) {
    for (auto& conv : convs) x = ops.MaxPool2x2(ops.Relu(ops.Conv2d(conv, x)));
    return ops.Linear(head, x.flatten(1));
  }
  std::vector<torch::nn::Conv2d> convs;
  torch::nn::Linear head{nullptr};
};

// Pre-norm encoder layer written out op by op (no dropout), so that every
// operator of the graph is explicit for replay and pinpointing.
struct EncoderLayerImpl : torch::nn::Module {
  EncoderLayerImpl(int64_t d, int64_t heads_, int64_t ff) : heads(heads_) {
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    qkv = register_module("qkv", torch::nn::Linear(d, 3 * d));
    proj = register_module("proj", torch::nn::Linear(d, d));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    ff1 = register_module("ff1", torch::nn::Linear(d, ff));
    ff2 = register_module("ff2", torch::nn::Linear(ff, d));
  }
  torch::Tensor forward(torch::Tensor x) {
    const int64_t b = x.size(0), t = x.size(1), d = x.size(2), dh = d / heads;
    auto parts = qkv->forward(norm1->forward(x)).view({b, t, 3, heads, dh}).permute({2, 0, 3, 1, 4});
    auto q = parts[0], k = parts[1], v = parts[2];  // [b, heads, t, dh]
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
    auto attended = torch::matmul(torch::softmax(scores, -1), v).permute({0, 2, 1, 3}).reshape({b, t, d});
    x = x + proj->forward(attended);
    return x + ff2->forward(torch::gelu(ff1->forward(norm2->forward(x))));
  }
  // The same layer on the kernels, over x [batch * tokens, d]; attention
  // scales q k^T by float(1 / sqrt(dh)) (a multiplication, where the ATen
  // forward divides).
  torch::Tensor forward_repro(const torch::Tensor& x, int64_t batch, int64_t tokens, ReproOps& ops) {
    const int64_t d = x.size(1), dh = d / heads;
    auto [skip, branch] = ops.Fork(x);
    const std::vector<torch::Tensor> qkv_heads =
        ka::SplitHeads(ops.Linear(qkv, ops.LayerNorm(norm1, branch)), batch, tokens, heads);  // [b * heads, t, dh]
    torch::Tensor scores = ops.Scale(ops.BatchedMatMul(qkv_heads[0], qkv_heads[1], /*transpose_b=*/true),
                                     1.0 / std::sqrt(static_cast<double>(dh)));
    torch::Tensor attended = ops.BatchedMatMul(ops.Softmax(scores), qkv_heads[2], /*transpose_b=*/false);
    attended = attended.view({batch, heads, tokens, dh}).permute({0, 2, 1, 3}).reshape({batch * tokens, d});
    torch::Tensor mid = ops.Add(skip, ops.Linear(proj, attended));
    auto [skip2, branch2] = ops.Fork(mid);
    return ops.Add(skip2, ops.Linear(ff2, ops.Gelu(ops.Linear(ff1, ops.LayerNorm(norm2, branch2)))));
  }
  int64_t heads;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(EncoderLayer);

struct TransformerImpl : torch::nn::Module {
  // Tokens: the last dimension is the token width, everything before it (per
  // example) is flattened into the sequence.
  TransformerImpl(const std::vector<int64_t>& shape, const job::ModelSpec& m, int64_t classes)
      : tokens(shape.size() == 1 ? shape[0] : Product(shape) / shape.back()),
        width(shape.size() == 1 ? 1 : shape.back()) {
    embed = register_module("embed", torch::nn::Linear(width, m.d_model));
    position = register_parameter("position", torch::zeros({tokens, static_cast<int64_t>(m.d_model)}));
    for (uint32_t i = 0; i < m.layers; ++i) {
      layers.push_back(register_module("layer" + std::to_string(i), EncoderLayer(m.d_model, m.heads, m.feedforward)));
    }
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({m.d_model})));
    head = register_module("head", torch::nn::Linear(m.d_model, classes));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = embed->forward(x.reshape({x.size(0), tokens, width})) + position;
    for (auto& layer : layers) x = layer->forward(x);
    return head->forward(norm->forward(x).mean(1));
  }
  // Tokens as rows of [batch * tokens, d]; the mean over tokens is MeanRows
  // (a fixed-order sum times float(1 / tokens)).
  torch::Tensor forward_repro(const torch::Tensor& input, ReproOps& ops) {
    const int64_t batch = input.size(0), d = position.size(1);
    torch::Tensor x = ops.Linear(embed, input.reshape({batch * tokens, width}));
    x = ops.AddRowBias(x.view({batch, tokens * d}), position).view({batch * tokens, d});
    for (auto& layer : layers) x = layer->forward_repro(x, batch, tokens, ops);
    return ops.Linear(head, ops.MeanRows(ops.LayerNorm(norm, x).view({batch, tokens, d})));
  }
  int64_t tokens, width;
  torch::nn::Linear embed{nullptr}, head{nullptr};
  torch::Tensor position;
  std::vector<EncoderLayer> layers;
  torch::nn::LayerNorm norm{nullptr};
};

class TorchScriptModel final : public Model {
 public:
  explicit TorchScriptModel(torch::jit::Module module) : module_(std::move(module)) { module_.train(); }
  torch::Tensor Forward(const torch::Tensor& x) override {
    c10::IValue out = module_.forward({x});
    if (!out.isTensor()) {
      throw std::runtime_error("forward returned a " + out.tagKind() + ", not a tensor of logits");
    }
    return out.toTensor();
  }
  ModelState State() override {
    ModelState out;
    for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
      out.push_back({p.name, p.value.requires_grad() ? proof::TensorRole::kParameter
                                                     : proof::TensorRole::kFrozenParameter,
                     p.value});
    }
    for (const auto& b : module_.named_buffers(/*recurse=*/true)) {
      out.push_back({b.name, proof::TensorRole::kBuffer, b.value});
    }
    return out;
  }
  void MoveTo(const torch::Device& device) override { module_.to(device); }
  void SetTraining(bool training) override { module_.train(training); }
  torch::jit::Module& module() { return module_; }

 private:
  torch::jit::Module module_;
};

// The first prim::SetAttr in `block` (recursively) that assigns an attribute
// which is neither a parameter nor a buffer, as "Class.attribute", or "".
std::string FindUncheckpointedSetAttr(const torch::jit::Block* block) {
  for (const torch::jit::Node* node : block->nodes()) {
    if (node->kind() == c10::prim::SetAttr) {
      const std::string name = node->s(c10::attr::name);
      auto type = node->input(0)->type()->cast<c10::ClassType>();
      if (type) {
        auto slot = type->findAttributeSlot(name);
        if (!slot || !(type->is_parameter(*slot) || type->is_buffer(*slot))) {
          return type->name() ? type->name()->name() + "." + name : name;
        }
      }
    }
    for (const torch::jit::Block* sub : node->blocks()) {
      std::string found = FindUncheckpointedSetAttr(sub);
      if (!found.empty()) return found;
    }
  }
  return "";
}

// State that a forward pass keeps outside parameters and buffers (a Python
// int counter, a tensor attribute replaced each call) would not be in
// checkpoints, so a replay from a checkpoint would diverge from the solver's
// run and an honest solver would be rejected: refuse such modules up front.
Status CheckAllStateIsCheckpointed(const torch::jit::Module& root, const std::string& what) {
  for (const torch::jit::Module& m : root.modules()) {
    for (const torch::jit::Method& method : m.get_methods()) {
      std::string found = FindUncheckpointedSetAttr(method.graph()->block());
      if (!found.empty()) {
        return InvalidArgument(what + ": method " + method.name() + " assigns the attribute " + found +
                               ", which is neither a parameter nor a buffer, so checkpoints could not hold it; "
                               "register it with self.register_buffer(name, tensor) and update it in place");
      }
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Model>> LoadTorchScript(const job::ModelSpec& m, const Bytes& bytes) {
  const std::string what = "TorchScript model " + m.torchscript_path;
  std::unique_ptr<TorchScriptModel> model;
  try {
    std::istringstream stream(std::string(bytes.begin(), bytes.end()));
    model = std::make_unique<TorchScriptModel>(torch::jit::load(stream));
  } catch (const std::exception& e) {
    return TorchFailure(StatusCode::kInvalidArgument,
                        "model file " + m.torchscript_path +
                            " is not a loadable TorchScript module (save it with torch.jit.script(model).save(path))",
                        e);
  }
  CAIRN_RETURN_IF_ERROR(CheckAllStateIsCheckpointed(model->module(), what));
  return std::unique_ptr<Model>(std::move(model));
}

// Runs one forward pass on a tiny batch and checks the output shape, so a
// model that does not fit the data fails before training, with the reason.
Status CheckForward(Model* model, const std::vector<int64_t>& feature_shape, uint32_t num_classes,
                    const std::string& what) {
  std::vector<int64_t> shape = {2};
  shape.insert(shape.end(), feature_shape.begin(), feature_shape.end());
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor out = model->Forward(torch::zeros(shape));
    if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != num_classes) {
      return InvalidArgument(what + ": forward returns shape " + c10::str(out.sizes()) + " for input " +
                             c10::str(torch::IntArrayRef(shape)) + "; it must return [batch, " +
                             std::to_string(num_classes) + "] logits for this dataset");
    }
  } catch (const std::exception& e) {
    return TorchFailure(StatusCode::kInvalidArgument,
                        what + ": forward fails on input of shape " + c10::str(torch::IntArrayRef(shape)) +
                            " (this dataset's batches)",
                        e);
  }
  return Status::Ok();
}

// Reads a file the job names and checks it against the job's hash.
Result<Bytes> ReadHashedFile(const std::string& what, const std::string& path, const Hash256& expected) {
  auto bytes = util::ReadFile(path, job::kModelFileBytesMax);
  if (!bytes.ok()) return bytes.status().WithContext(what);
  const Hash256 hash = crypto::Blake2b256(*bytes);
  if (hash != expected) {
    return InvalidArgument(what + " " + path + " has hash " + hash.ToHex() + ", the job names " + expected.ToHex() +
                           " (the file changed since the job was written?)");
  }
  return bytes;
}

}  // namespace

Result<ModelFiles> ReadModelFiles(const job::JobSpec& spec) {
  ModelFiles files;
  if (spec.model.kind == job::ModelKind::kTorchScript) {
    CAIRN_ASSIGN_OR_RETURN(files.torchscript,
                           ReadHashedFile("model file", spec.model.torchscript_path, spec.model.torchscript_hash));
  }
  if (spec.model.init == job::WeightInit::kFile) {
    CAIRN_ASSIGN_OR_RETURN(files.weights,
                           ReadHashedFile("weights file", spec.model.weights_path, spec.model.weights_hash));
  }
  return files;
}

torch::jit::Module* ScriptedModule(Model* model) {
  auto* scripted = dynamic_cast<TorchScriptModel*>(model);
  return scripted == nullptr ? nullptr : &scripted->module();
}

torch::Tensor CrossEntropyLoss(const Model& model, const torch::Tensor& logits, const torch::Tensor& labels) {
  const std::optional<kernels::Exec> repro = model.repro();
  if (!repro) return torch::nn::functional::cross_entropy(logits, labels);
  return ka::CrossEntropy(*repro, logits, labels);
}

torch::Tensor ExampleCrossEntropy(const Model& model, const torch::Tensor& logits, const torch::Tensor& labels) {
  const std::optional<kernels::Exec> repro = model.repro();
  if (!repro) {
    return torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = logits.contiguous();
  const torch::Tensor y = labels.contiguous();
  const int64_t rows = x.size(0), classes = x.size(1);
  torch::Tensor log_probs = torch::empty_like(x);
  kernels::LogSoftmaxForward(*repro, x.data_ptr<float>(), log_probs.data_ptr<float>(), rows, classes);
  torch::Tensor out = torch::empty({rows}, x.options());
  const float* lp = log_probs.data_ptr<float>();
  const int64_t* label = y.data_ptr<int64_t>();
  float* loss = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    CAIRN_ASSERT(label[r] >= 0 && label[r] < classes);
    loss[r] = -lp[r * classes + label[r]];  // Negation is exact.
  }
  return out;
}

NamedTensors Model::Parameters() {
  NamedTensors out;
  for (auto& t : State()) {
    if (t.role == proof::TensorRole::kParameter) out.emplace_back(std::move(t.name), std::move(t.tensor));
  }
  return out;
}

void InitializeFromSeed(const NamedTensors& parameters, uint64_t seed) {
  torch::NoGradGuard no_grad;
  data::CounterRng rng(seed, data::kStreamWeightInit);
  uint64_t index = 0;
  for (const auto& [name, p] : parameters) {
    torch::Tensor cpu = torch::empty(p.sizes(), torch::kFloat32);
    float* out = cpu.data_ptr<float>();
    const int64_t n = cpu.numel();
    if (p.dim() >= 2) {
      const int64_t fan_in = p.numel() / p.size(0);
      const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in)));
      for (int64_t i = 0; i < n; ++i) out[i] = (2.0f * rng.UniformFloat(index++) - 1.0f) * bound;
    } else {
      const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
      const float value = is_bias ? 0.0f : 1.0f;
      for (int64_t i = 0; i < n; ++i) out[i] = value;
    }
    p.copy_(cpu);
  }
}

Result<std::unique_ptr<Model>> BuildModel(const job::JobSpec& spec, const std::vector<int64_t>& feature_shape,
                                          uint32_t num_classes, const ModelFiles& files) {
  const job::ModelSpec& m = spec.model;
  const int64_t classes = num_classes;
  std::unique_ptr<Model> model;
  std::string what = job::ModelKindName(m.kind) + " model";
  std::optional<kernels::Exec> repro;
  if (spec.profile.kernels == job::Kernels::kRepro) {
    if (m.kind == job::ModelKind::kTorchScript || spec.profile.device != job::Device::kCpu) {
      return InvalidArgument("profile.kernels = \"repro\" trains only the built-in models on the CPU");
    }
    Result<kernels::Exec> exec = kernels::DefaultExec(static_cast<int>(spec.profile.threads));
    if (!exec.ok()) return FailedPrecondition("the repro kernels cannot run: " + exec.status().message());
    repro = *exec;
  }
  switch (m.kind) {
    case job::ModelKind::kMlp:
      model = std::make_unique<NativeModel<MlpImpl>>(
          std::make_shared<MlpImpl>(Product(feature_shape), m.hidden_sizes, classes), repro);
      break;
    case job::ModelKind::kCnn:
      if (feature_shape.size() != 3) {
        return InvalidArgument("a cnn needs image data shaped [channels, height, width]; this dataset's examples are " +
                               c10::str(torch::IntArrayRef(feature_shape)));
      }
      if ((feature_shape[1] >> m.channels.size()) == 0 || (feature_shape[2] >> m.channels.size()) == 0) {
        return InvalidArgument("a cnn with " + std::to_string(m.channels.size()) +
                               " pooling blocks needs images of at least " +
                               std::to_string(1 << m.channels.size()) + " pixels per side");
      }
      model =
          std::make_unique<NativeModel<CnnImpl>>(std::make_shared<CnnImpl>(feature_shape, m.channels, classes), repro);
      break;
    case job::ModelKind::kTransformer:
      model = std::make_unique<NativeModel<TransformerImpl>>(
          std::make_shared<TransformerImpl>(feature_shape, m, classes), repro);
      break;
    case job::ModelKind::kTorchScript: {
      CAIRN_ASSIGN_OR_RETURN(model, LoadTorchScript(m, files.torchscript));
      what = "TorchScript model " + m.torchscript_path;
      break;
    }
  }
  NamedTensors params = model->Parameters();
  if (params.empty()) return InvalidArgument(what + " has no trainable parameters");
  for (const auto& [name, p] : params) {
    if (p.scalar_type() != torch::kFloat32) {
      return InvalidArgument(what + ": parameter " + name + " is " + std::string(c10::toString(p.scalar_type())) +
                             "; cairn trains float32 parameters (convert with model.float() before export)");
    }
  }
  for (const StateTensor& t : model->State()) {
    if (!DTypeOf(t.tensor.scalar_type()).ok()) {
      return InvalidArgument(what + ": " + proof::TensorRoleName(t.role) + " " + t.name + " is " +
                             std::string(c10::toString(t.tensor.scalar_type())) +
                             ", a dtype checkpoints cannot hold (float32/64/16, bfloat16, int64/32/16/8, uint8, bool)");
    }
  }
  if (m.init == job::WeightInit::kSeed) {
    InitializeFromSeed(params, spec.seed);
  } else {
    CAIRN_RETURN_IF_ERROR(RestoreModelFile(files.weights, model->State(), "weights file " + m.weights_path));
  }
  // In evaluation mode, so the check neither draws random numbers nor moves
  // BatchNorm statistics: the initial state stays exactly the seeded one.
  model->SetTraining(false);
  Status forward = CheckForward(model.get(), feature_shape, num_classes, what);
  model->SetTraining(true);
  CAIRN_RETURN_IF_ERROR(forward);
  return model;
}

}  // namespace cairn::train
