// ValidateJobSpec: the ranges and cross-field rules of docs/jobs.md. Messages
// name the TOML key; ParseJobToml prefixes the file name.
#include <cmath>
#include <string_view>

#include "job/spec.h"
#include "job/text.h"

namespace cairn::job {
namespace {

using internal::FormatNumber;
using internal::Quote;

Status Invalid(std::string_view key, const std::string& what) { return InvalidArgument(std::string(key) + " " + what); }

Status OutOfRange(std::string_view key, uint64_t low, uint64_t high, uint64_t got) {
  return Invalid(key,
                 "must be in " + std::to_string(low) + ".." + std::to_string(high) + ", got " + std::to_string(got));
}

Status CheckRange(std::string_view key, uint64_t value, uint64_t low, uint64_t high) {
  if (value < low || value > high) return OutOfRange(key, low, high, value);
  return Status::Ok();
}

// A field that only another kind uses must keep its default, so that two
// specs with the same encoding (which leaves such fields out) are equal.
Status DoesNotApply(std::string_view key, std::string_view kind_key, std::string_view kind) {
  return Invalid(key, "does not apply to " + std::string(kind_key) + " = " + Quote(kind));
}

Status CheckPositiveFinite(std::string_view key, double value) {
  if (!(std::isfinite(value) && value > 0)) {
    return Invalid(key, "must be a positive finite number, got " + FormatNumber(value));
  }
  return Status::Ok();
}

Status CheckNonNegativeFinite(std::string_view key, double value) {
  if (!(std::isfinite(value) && value >= 0)) {
    return Invalid(key, "must be a finite number >= 0, got " + FormatNumber(value));
  }
  return Status::Ok();
}

// [0, 1): momentum and Adam's betas.
Status CheckUnitInterval(std::string_view key, double value) {
  if (!(value >= 0 && value < 1)) return Invalid(key, "must be in [0, 1), got " + FormatNumber(value));
  return Status::Ok();
}

Status CheckWidths(std::string_view key, const std::vector<uint32_t>& widths, size_t count_min) {
  if (widths.size() < count_min || widths.size() > kHiddenLayersMax) {
    return Invalid(key, "must list " + std::to_string(count_min) + ".." + std::to_string(kHiddenLayersMax) +
                            " layers, got " + std::to_string(widths.size()));
  }
  for (size_t i = 0; i < widths.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(CheckRange(std::string(key) + "[" + std::to_string(i) + "]", widths[i], 1, kLayerWidthMax));
  }
  return Status::Ok();
}

bool IsKnown(ModelKind kind) { return kind >= ModelKind::kMlp && kind <= ModelKind::kTorchScript; }

Status ValidateModel(const JobSpec& spec) {
  const ModelSpec& m = spec.model;
  const ModelSpec defaults;
  if (!IsKnown(m.kind)) {
    return Invalid("model.kind", "is not a known model kind (" + std::to_string(static_cast<int>(m.kind)) + ")");
  }
  const std::string kind = ModelKindName(m.kind);
  // Fields of the other kinds keep their defaults.
  if (m.kind != ModelKind::kMlp && !m.hidden_sizes.empty())
    return DoesNotApply("model.hidden_sizes", "model.kind", kind);
  if (m.kind != ModelKind::kCnn && !m.channels.empty()) return DoesNotApply("model.channels", "model.kind", kind);
  if (m.kind != ModelKind::kTransformer) {
    if (m.d_model != defaults.d_model) return DoesNotApply("model.d_model", "model.kind", kind);
    if (m.heads != defaults.heads) return DoesNotApply("model.heads", "model.kind", kind);
    if (m.layers != defaults.layers) return DoesNotApply("model.layers", "model.kind", kind);
    if (m.feedforward != defaults.feedforward) return DoesNotApply("model.feedforward", "model.kind", kind);
  }
  if (m.kind != ModelKind::kTorchScript) {
    if (!m.torchscript_path.empty()) return DoesNotApply("model.path", "model.kind", kind);
    if (!m.torchscript_hash.IsZero()) return DoesNotApply("model.hash", "model.kind", kind);
  }

  switch (m.kind) {
    case ModelKind::kMlp:
      CAIRN_RETURN_IF_ERROR(CheckWidths("model.hidden_sizes", m.hidden_sizes, /*count_min=*/0));
      break;
    case ModelKind::kCnn:
      CAIRN_RETURN_IF_ERROR(CheckWidths("model.channels", m.channels, /*count_min=*/1));
      break;
    case ModelKind::kTransformer:
      CAIRN_RETURN_IF_ERROR(CheckRange("model.d_model", m.d_model, 1, kLayerWidthMax));
      CAIRN_RETURN_IF_ERROR(CheckRange("model.heads", m.heads, 1, m.d_model));
      if (m.d_model % m.heads != 0) {
        return Invalid("model.d_model", "(" + std::to_string(m.d_model) + ") must be divisible by model.heads (" +
                                            std::to_string(m.heads) + ")");
      }
      CAIRN_RETURN_IF_ERROR(CheckRange("model.layers", m.layers, 1, kHiddenLayersMax));
      CAIRN_RETURN_IF_ERROR(CheckRange("model.feedforward", m.feedforward, 1, kLayerWidthMax));
      break;
    case ModelKind::kTorchScript:
      if (m.torchscript_path.empty()) return Invalid("model.path", "is required for model.kind = \"torchscript\"");
      break;
  }

  if (m.init == WeightInit::kFile) {
    if (m.weights_path.empty()) return Invalid("model.weights_path", "is required when model.init = \"file\"");
  } else if (m.init == WeightInit::kSeed) {
    if (!m.weights_path.empty()) return DoesNotApply("model.weights_path", "model.init", "seed");
    if (!m.weights_hash.IsZero()) return DoesNotApply("model.weights_hash", "model.init", "seed");
  } else {
    return Invalid("model.init", "is not a known initialisation (" + std::to_string(static_cast<int>(m.init)) + ")");
  }

  // Convolutions need images, which only IDX provides. (A transformer takes
  // either: image rows or CSV columns are its tokens.)
  if (m.kind == ModelKind::kCnn && spec.dataset.source.format != data::DatasetFormat::kIdx) {
    return Invalid("model.kind", "= " + Quote(kind) + " needs image data (dataset.format = \"idx\")");
  }
  return Status::Ok();
}

// `section` is "dataset" or "evaluation" (the same keys), for messages.
Status ValidateDataset(const DatasetSpec& d, const std::string& section) {
  const data::DatasetSource& s = d.source;
  auto key = [&](std::string_view name) { return section + "." + std::string(name); };
  switch (s.format) {
    case data::DatasetFormat::kIdx:
      if (s.features_path.empty()) return Invalid(key("images"), "is required for " + key("format") + " = \"idx\"");
      if (s.labels_path.empty()) return Invalid(key("labels"), "is required for " + key("format") + " = \"idx\"");
      if (!s.label_column.empty()) return DoesNotApply(key("label_column"), key("format"), "idx");
      return Status::Ok();
    case data::DatasetFormat::kCsv:
      if (s.features_path.empty()) return Invalid(key("csv"), "is required for " + key("format") + " = \"csv\"");
      if (!s.labels_path.empty()) return DoesNotApply(key("labels"), key("format"), "csv");
      if (s.label_column.empty() || s.label_column.size() > kLabelColumnBytesMax) {
        return Invalid(key("label_column"), "must be 1.." + std::to_string(kLabelColumnBytesMax) +
                                                " bytes naming a column of the header row, got " +
                                                Quote(s.label_column));
      }
      return Status::Ok();
  }
  return Invalid(key("format"), "is not a known format (" + std::to_string(static_cast<int>(s.format)) + ")");
}

Status ValidateOptimizer(const OptimizerSpec& o) {
  const OptimizerSpec defaults;
  if (o.kind < OptimizerKind::kSgd || o.kind > OptimizerKind::kAdamW) {
    return Invalid("optimizer.kind", "is not a known optimizer (" + std::to_string(static_cast<int>(o.kind)) + ")");
  }
  const std::string kind = OptimizerKindName(o.kind);
  CAIRN_RETURN_IF_ERROR(CheckPositiveFinite("optimizer.learning_rate", o.learning_rate));
  CAIRN_RETURN_IF_ERROR(CheckNonNegativeFinite("optimizer.weight_decay", o.weight_decay));
  if (o.kind == OptimizerKind::kSgd) {
    CAIRN_RETURN_IF_ERROR(CheckUnitInterval("optimizer.momentum", o.momentum));
    if (o.nesterov && !(o.momentum > 0)) return Invalid("optimizer.nesterov", "= true requires optimizer.momentum > 0");
    // Compared bitwise-equal to the defaults: these fields are not encoded for sgd.
    if (o.beta1 != defaults.beta1) return DoesNotApply("optimizer.beta1", "optimizer.kind", kind);
    if (o.beta2 != defaults.beta2) return DoesNotApply("optimizer.beta2", "optimizer.kind", kind);
    if (o.epsilon != defaults.epsilon) return DoesNotApply("optimizer.epsilon", "optimizer.kind", kind);
    return Status::Ok();
  }
  CAIRN_RETURN_IF_ERROR(CheckUnitInterval("optimizer.beta1", o.beta1));
  CAIRN_RETURN_IF_ERROR(CheckUnitInterval("optimizer.beta2", o.beta2));
  CAIRN_RETURN_IF_ERROR(CheckPositiveFinite("optimizer.epsilon", o.epsilon));
  if (o.momentum != defaults.momentum) return DoesNotApply("optimizer.momentum", "optimizer.kind", kind);
  if (o.nesterov != defaults.nesterov) return DoesNotApply("optimizer.nesterov", "optimizer.kind", kind);
  return Status::Ok();
}

Status ValidateSchedule(const JobSpec& spec) {
  const ScheduleSpec& s = spec.schedule;
  const ScheduleSpec defaults;
  CAIRN_RETURN_IF_ERROR(CheckRange("schedule.warmup_steps", s.warmup_steps, 0, kStepsMax));
  if (spec.steps != 0 && s.warmup_steps >= spec.steps) {
    return Invalid("schedule.warmup_steps", "must be less than steps (" + std::to_string(spec.steps) + "), got " +
                                                std::to_string(s.warmup_steps));
  }
  const char* kind = "constant";
  switch (s.kind) {
    case ScheduleKind::kConstant:
      break;
    case ScheduleKind::kStep:
      kind = "step";
      CAIRN_RETURN_IF_ERROR(CheckRange("schedule.step_size", s.step_size, 1, kStepsMax));
      if (!(s.gamma > 0 && s.gamma <= 1)) {
        return Invalid("schedule.gamma", "must be in (0, 1], got " + FormatNumber(s.gamma));
      }
      break;
    case ScheduleKind::kCosine:
      kind = "cosine";
      if (!(s.min_learning_rate >= 0 && s.min_learning_rate <= spec.optimizer.learning_rate)) {
        return Invalid("schedule.min_learning_rate",
                       "must be in [0, optimizer.learning_rate = " + FormatNumber(spec.optimizer.learning_rate) +
                           "], got " + FormatNumber(s.min_learning_rate));
      }
      break;
    default:
      return Invalid("schedule.kind", "is not a known schedule (" + std::to_string(static_cast<int>(s.kind)) + ")");
  }
  if (s.kind != ScheduleKind::kStep) {
    if (s.step_size != defaults.step_size) return DoesNotApply("schedule.step_size", "schedule.kind", kind);
    if (s.gamma != defaults.gamma) return DoesNotApply("schedule.gamma", "schedule.kind", kind);
  }
  if (s.kind != ScheduleKind::kCosine && s.min_learning_rate != defaults.min_learning_rate) {
    return DoesNotApply("schedule.min_learning_rate", "schedule.kind", kind);
  }
  return Status::Ok();
}

Status ValidateVerification(const VerificationSpec& v) {
  const VerificationSpec defaults;
  CAIRN_RETURN_IF_ERROR(CheckRange("verification.top_q", v.top_q, 0, kSampledSegmentsMax));
  CAIRN_RETURN_IF_ERROR(CheckRange("verification.uniform", v.uniform, 0, kSampledSegmentsMax));
  uint64_t sampled = uint64_t{v.top_q} + v.uniform;
  if (sampled < 1 || sampled > kSampledSegmentsMax) {
    return Invalid("verification.top_q", "+ verification.uniform must be in 1.." + std::to_string(kSampledSegmentsMax) +
                                             ", got " + std::to_string(sampled));
  }
  if (v.mode == VerificationMode::kTolerance) {
    CAIRN_RETURN_IF_ERROR(CheckNonNegativeFinite("verification.l2_relative_max", v.l2_relative_max));
    CAIRN_RETURN_IF_ERROR(CheckNonNegativeFinite("verification.linf_max", v.linf_max));
    if (!(v.cosine_distance_max >= 0 && v.cosine_distance_max <= 2)) {
      return Invalid("verification.cosine_distance_max",
                     "must be in [0, 2], got " + FormatNumber(v.cosine_distance_max));
    }
    return Status::Ok();
  }
  if (v.mode != VerificationMode::kExact) {
    return Invalid("verification.mode", "is not a known mode (" + std::to_string(static_cast<int>(v.mode)) + ")");
  }
  if (v.l2_relative_max != defaults.l2_relative_max) {
    return DoesNotApply("verification.l2_relative_max", "verification.mode", "exact");
  }
  if (v.linf_max != defaults.linf_max) return DoesNotApply("verification.linf_max", "verification.mode", "exact");
  if (v.cosine_distance_max != defaults.cosine_distance_max) {
    return DoesNotApply("verification.cosine_distance_max", "verification.mode", "exact");
  }
  return Status::Ok();
}

Status CheckOneOf(std::string_view key, const std::string& value, std::initializer_list<std::string_view> options) {
  std::string expected;
  for (std::string_view option : options) {
    if (value == option) return Status::Ok();
    if (!expected.empty()) expected += ", ";
    expected += Quote(option);
  }
  return Invalid(key, "must be one of " + expected + ", got " + Quote(value));
}

// kernels = "repro": what the reproducible kernels can train (docs/kernels.md).
// Everything else is refused with the reason, never trained with ATen.
Status ValidateReproKernels(const JobSpec& spec) {
  const ExecutionProfile& p = spec.profile;
  const ExecutionProfile defaults;
  const std::string_view kind_key = "profile.kernels";
  if (p.aten_cpu_capability != defaults.aten_cpu_capability) {
    return DoesNotApply("profile.aten_cpu_capability", kind_key, "repro");
  }
  if (p.blas != defaults.blas) return DoesNotApply("profile.blas", kind_key, "repro");
  if (p.openblas_coretype != defaults.openblas_coretype)
    return DoesNotApply("profile.openblas_coretype", kind_key, "repro");
  if (p.onednn != defaults.onednn) return DoesNotApply("profile.onednn", kind_key, "repro");
  if (p.device != Device::kCpu) {
    return Invalid(kind_key,
                   "= \"repro\" runs on the CPU (the kernels' CUDA twin does not train jobs yet); use "
                   "profile.device = \"cpu\", or kernels = \"aten\" for a GPU");
  }
  switch (spec.model.kind) {
    case ModelKind::kMlp:
    case ModelKind::kCnn:
    case ModelKind::kTransformer:
      break;
    case ModelKind::kTorchScript:
      return Invalid(kind_key,
                     "= \"repro\" trains only the built-in models (mlp, cnn, transformer); a TorchScript "
                     "model's operators are ATen's. Use kernels = \"aten\"");
  }
  // Every optimizer kind has a repro kernel (kernels/optim.h); a new kind
  // must be added here once it has one.
  switch (spec.optimizer.kind) {
    case OptimizerKind::kSgd:
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      break;
    default:
      return Invalid(kind_key, "= \"repro\" has no kernel for optimizer " + OptimizerKindName(spec.optimizer.kind));
  }
  return Status::Ok();
}

Status ValidateProfile(const JobSpec& spec) {
  const ExecutionProfile& p = spec.profile;
  if (p.device != Device::kCpu && p.device != Device::kCuda) {
    return Invalid("profile.device", "is not a known device (" + std::to_string(static_cast<int>(p.device)) + ")");
  }
  CAIRN_RETURN_IF_ERROR(CheckRange("profile.threads", p.threads, 1, kThreadsMax));
  if (p.kernels != Kernels::kAten && p.kernels != Kernels::kRepro) {
    return Invalid("profile.kernels",
                   "is not a known kernel set (" + std::to_string(static_cast<int>(p.kernels)) + ")");
  }
  if (p.kernels == Kernels::kRepro) CAIRN_RETURN_IF_ERROR(ValidateReproKernels(spec));
  CAIRN_RETURN_IF_ERROR(
      CheckOneOf("profile.aten_cpu_capability", p.aten_cpu_capability, {"default", "avx2", "avx512"}));
  CAIRN_RETURN_IF_ERROR(CheckOneOf("profile.blas", p.blas, {"openblas", "mkl", "blis", "eigen", "generic"}));
  if (!p.openblas_coretype.empty()) {
    if (p.blas != "openblas") return DoesNotApply("profile.openblas_coretype", "profile.blas", p.blas);
    bool well_formed = p.openblas_coretype.size() <= kProfileStringBytesMax;
    for (char c : p.openblas_coretype) {
      well_formed = well_formed && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    }
    if (!well_formed) {
      return Invalid("profile.openblas_coretype",
                     "must be an OpenBLAS core name like \"HASWELL\" (A-Z, 0-9, _; at most " +
                         std::to_string(kProfileStringBytesMax) + " bytes), got " + Quote(p.openblas_coretype));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateJobSpec(const JobSpec& spec) {
  if (spec.name.empty() || spec.name.size() > kNameBytesMax) {
    return Invalid("name",
                   "must be 1.." + std::to_string(kNameBytesMax) + " bytes, got " + std::to_string(spec.name.size()));
  }
  CAIRN_RETURN_IF_ERROR(CheckRange("batch_size", spec.batch_size, 1, kBatchSizeMax));
  if (spec.steps != 0 && spec.epochs != 0) return Invalid("steps", "and epochs exclude each other: give only one");
  if (spec.steps == 0 && spec.epochs == 0) return Invalid("steps", "or epochs is required (give exactly one)");
  if (spec.steps != 0) CAIRN_RETURN_IF_ERROR(CheckRange("steps", spec.steps, 1, kStepsMax));
  if (spec.epochs != 0) CAIRN_RETURN_IF_ERROR(CheckRange("epochs", spec.epochs, 1, kStepsMax));
  if (spec.checkpoint_interval < 1) return Invalid("checkpoint_interval", "must be at least 1, got 0");
  if (spec.steps != 0 && CheckpointCount(spec, spec.steps) > kCheckpointsPerJobMax) {
    return Invalid("checkpoint_interval", "= " + std::to_string(spec.checkpoint_interval) + " gives " +
                                              std::to_string(CheckpointCount(spec, spec.steps)) + " checkpoints over " +
                                              std::to_string(spec.steps) + " steps; at most " +
                                              std::to_string(kCheckpointsPerJobMax) +
                                              " are allowed (raise checkpoint_interval)");
  }
  CAIRN_RETURN_IF_ERROR(ValidateModel(spec));
  CAIRN_RETURN_IF_ERROR(ValidateDataset(spec.dataset, "dataset"));
  if (spec.evaluation) CAIRN_RETURN_IF_ERROR(ValidateDataset(spec.evaluation->dataset, "evaluation"));
  CAIRN_RETURN_IF_ERROR(ValidateOptimizer(spec.optimizer));
  CAIRN_RETURN_IF_ERROR(ValidateSchedule(spec));
  CAIRN_RETURN_IF_ERROR(ValidateVerification(spec.verification));
  CAIRN_RETURN_IF_ERROR(ValidateProfile(spec));
  return Status::Ok();
}

}  // namespace cairn::job
