// ExportModelFile: a cairn model file as a TorchScript module and a PyTorch
// state dict (docs/export.md).
#include "train/export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "train/local_engine.h"
#include "train/models.h"
#include "train/snapshot.h"
#include "train/torch_error.h"

namespace cairn::train {
namespace {

// Examples of the training set run through both the native and the exported
// module to check that they compute the same logits.
constexpr int64_t kSelfCheckExamples = 16;

// The state as a tree of modules ("layer0.norm1.weight" is tensor "weight"
// of module "norm1" inside module "layer0"), keeping first-seen order so that
// the exported module lists its state as cairn does.
struct StateNode {
  std::vector<std::pair<std::string, const StateTensor*>> tensors;
  std::vector<std::string> child_order;
  std::map<std::string, StateNode> children;
};

StateNode TreeOf(const ModelState& state) {
  StateNode root;
  for (const StateTensor& t : state) {
    StateNode* node = &root;
    std::string rest = t.name;
    for (size_t dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
      const std::string child = rest.substr(0, dot);
      if (node->children.count(child) == 0) node->child_order.push_back(child);
      node = &node->children[child];
      rest = rest.substr(dot + 1);
    }
    node->tensors.emplace_back(rest, &t);
  }
  return root;
}

// A CPU copy that owns exactly its elements (so the saved storage holds
// nothing else).
torch::Tensor OwnCopy(const torch::Tensor& t) { return t.detach().to(torch::kCPU).contiguous().clone(); }

// A TorchScript module holding `node`'s tensors and submodules. Class names
// are unique per path, as a scripted Python module's would be.
torch::jit::Module BuildModuleTree(const StateNode& node, const std::string& class_name) {
  torch::jit::Module module(c10::QualifiedName("__torch__.cairn." + class_name));
  // Every nn.Module has it; Python's train()/eval() and `.training` need it.
  module.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& [name, t] : node.tensors) {
    torch::Tensor value = OwnCopy(t->tensor);
    if (t->role == proof::TensorRole::kBuffer) {
      module.register_buffer(name, value);
    } else {
      value.requires_grad_(t->role == proof::TensorRole::kParameter);
      module.register_parameter(name, value, /*is_buffer=*/false);
    }
  }
  for (const std::string& child : node.child_order) {
    module.register_module(child, BuildModuleTree(node.children.at(child), class_name + "_" + child));
  }
  return module;
}

// A double as TorchScript source that parses back to the same bits.
std::string Literal(double value) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  std::string text = buf;
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string Linear(const std::string& input, const std::string& module) {
  return "torch.linear(" + input + ", self." + module + ".weight, self." + module + ".bias)";
}

std::string LayerNorm(const std::string& input, const std::string& module, uint32_t width) {
  // LayerNormOptions' default eps, as the native model uses.
  return "torch.layer_norm(" + input + ", [" + std::to_string(width) + "], self." + module + ".weight, self." + module +
         ".bias, " + Literal(torch::nn::LayerNormOptions({1}).eps()) + ")";
}

// The forward of models.cpp's built-in models, written with the same ATen
// operators in the same order (so the results are bit-identical).
std::string ForwardSource(const job::ModelSpec& m, const std::vector<int64_t>& shape) {
  std::string src = "def forward(self, x):\n";
  auto line = [&](const std::string& text) { src += "    " + text + "\n"; };
  switch (m.kind) {
    case job::ModelKind::kMlp:
      line("x = x.flatten(1)");
      for (size_t i = 0; i < m.hidden_sizes.size(); ++i) {
        line("x = torch.relu(" + Linear("x", "fc" + std::to_string(i)) + ")");
      }
      line("return " + Linear("x", "head"));
      break;
    case job::ModelKind::kCnn:
      for (size_t i = 0; i < m.channels.size(); ++i) {
        const std::string conv = "self.conv" + std::to_string(i);
        line("x = torch.max_pool2d(torch.relu(torch.conv2d(x, " + conv + ".weight, " + conv +
             ".bias, [1, 1], [1, 1], [1, 1], 1)), [2, 2])");
      }
      line("return " + Linear("x.flatten(1)", "head"));
      break;
    case job::ModelKind::kTransformer: {
      int64_t features = 1;
      for (int64_t d : shape) features *= d;
      const int64_t tokens = shape.size() == 1 ? shape[0] : features / shape.back();
      const int64_t width = shape.size() == 1 ? 1 : shape.back();
      const uint32_t head_width = m.d_model / m.heads;
      const std::string scale = Literal(std::sqrt(static_cast<double>(head_width)));
      line("x = " +
           Linear("x.reshape([x.size(0), " + std::to_string(tokens) + ", " + std::to_string(width) + "])", "embed") +
           " + self.position");
      line("b = x.size(0)");
      line("t = x.size(1)");
      line("d = x.size(2)");
      for (uint32_t i = 0; i < m.layers; ++i) {
        const std::string layer = "layer" + std::to_string(i) + ".";
        line("parts = " + Linear(LayerNorm("x", layer + "norm1", m.d_model), layer + "qkv") + ".view([b, t, 3, " +
             std::to_string(m.heads) + ", " + std::to_string(head_width) + "]).permute([2, 0, 3, 1, 4])");
        line("q = parts[0]");
        line("k = parts[1]");
        line("v = parts[2]");
        line("scores = torch.matmul(q, k.transpose(-2, -1)) / " + scale);
        line("attended = torch.matmul(torch.softmax(scores, -1), v).permute([0, 2, 1, 3]).reshape([b, t, d])");
        line("x = x + " + Linear("attended", layer + "proj"));
        line("x = x + " +
             Linear("torch.gelu(" + Linear(LayerNorm("x", layer + "norm2", m.d_model), layer + "ff1") + ")",
                    layer + "ff2"));
      }
      line("return " + Linear(LayerNorm("x", "norm", m.d_model) + ".mean(1)", "head"));
      break;
    }
    case job::ModelKind::kTorchScript:
      CAIRN_ASSERT(false && "a TorchScript job exports its own module");
  }
  return src;
}

std::string ClassName(job::ModelKind kind) {
  switch (kind) {
    case job::ModelKind::kMlp: return "Mlp";
    case job::ModelKind::kCnn: return "Cnn";
    case job::ModelKind::kTransformer: return "Transformer";
    case job::ModelKind::kTorchScript: return "TorchScript";
  }
  return "Model";
}

// Runs both on the first examples of `dataset` and requires identical logits.
Status CheckSameLogits(Model* model, torch::jit::Module* exported, const data::Dataset& dataset) {
  const int64_t count = std::min<int64_t>(kSelfCheckExamples, static_cast<int64_t>(dataset.size()));
  std::vector<int64_t> shape = {count};
  shape.insert(shape.end(), dataset.feature_shape.begin(), dataset.feature_shape.end());
  torch::Tensor x =
      torch::from_blob(const_cast<float*>(dataset.features.data()), shape, torch::kFloat32).clone();
  torch::NoGradGuard no_grad;
  torch::Tensor native = model->Forward(x);
  torch::Tensor scripted = exported->forward({x}).toTensor();
  if (!native.sizes().equals(scripted.sizes()) || !torch::equal(native, scripted)) {
    const double difference =
        native.sizes().equals(scripted.sizes()) ? (native - scripted).abs().max().item<double>() : INFINITY;
    return Internal("the exported TorchScript module does not compute cairn's logits (largest difference " +
                    std::to_string(difference) + " on " + std::to_string(count) +
                    " training examples); this is a bug in train/export.cpp");
  }
  return Status::Ok();
}

Bytes ToBytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

// torch.save's zip layout (data.pkl plus one record per tensor under data/),
// as torch::pickle_save writes it, but without the TorchScript type tags
// (torch.jit._pickle.restore_type_tag) that pickle_save wraps dicts in:
// torch.load(weights_only=True) refuses that global. What remains uses only
// globals its allow-list has (torch._utils._rebuild_tensor_v2, the storage
// classes, collections.OrderedDict).
Bytes PickleStateDict(const c10::Dict<std::string, torch::Tensor>& dict) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(dict));
  pickler.stop();
  Bytes out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    out.insert(out.end(), bytes, bytes + size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return out;
}

Result<ExportedModel> ExportUnguarded(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                      const data::Dataset& train_shape_source) {
  // A repro job's model exports as the same module on ATen (TorchScript
  // has no cairn kernels): its logits are ATen's, within rounding of the
  // repro ones (docs/kernels.md), and the check below compares with ATen's.
  job::JobSpec aten = spec;
  aten.profile.kernels = job::Kernels::kAten;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                         BuildModel(aten, train_shape_source.feature_shape, train_shape_source.num_classes, files));
  CAIRN_RETURN_IF_ERROR(RestoreUserModelFile(model_file, model->State()));
  model->SetTraining(false);
  const ModelState state = model->State();

  ExportedModel out;
  std::ostringstream saved;
  if (torch::jit::Module* own = ScriptedModule(model.get())) {
    // Its own code, methods and attributes, with the trained state (which
    // RestoreModelFile copied into the module's tensors) and in eval mode.
    own->eval();
    own->save(saved);
  } else {
    torch::jit::Module exported = BuildModuleTree(TreeOf(state), ClassName(spec.model.kind));
    exported.define(ForwardSource(spec.model, train_shape_source.feature_shape));
    exported.eval();
    CAIRN_RETURN_IF_ERROR(CheckSameLogits(model.get(), &exported, train_shape_source));
    exported.save(saved);
  }
  out.torchscript = ToBytes(saved.str());

  c10::Dict<std::string, torch::Tensor> dict;
  for (const StateTensor& t : state) dict.insert(t.name, OwnCopy(t.tensor));
  out.state_dict = PickleStateDict(dict);
  out.tensors = state.size();
  return out;
}

}  // namespace

Result<ExportedModel> ExportModelFile(const job::JobSpec& spec, ByteView model_file,
                                      const data::Dataset& train_shape_source) {
  return GuardTorch("exporting the model", [&]() -> Result<ExportedModel> {
    CAIRN_ASSIGN_OR_RETURN(ModelFiles files, ReadModelFiles(spec));
    return ExportUnguarded(spec, files, model_file, train_shape_source);
  });
}

Result<ExportedModel> ExportModelFileWith(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                          const data::Dataset& train_shape_source) {
  return GuardTorch("exporting the model", [&] { return ExportUnguarded(spec, files, model_file, train_shape_source); });
}

}  // namespace cairn::train
