// EncodeJobSpec and JobId: the canonical encoding of docs/jobs.md ("Canonical
// encoding"). Any change here changes every job id: bump the version byte and
// the domain tag together.
#include "crypto/hash.h"
#include "job/spec.h"
#include "util/codec.h"

namespace cairn::job {
namespace {

// Version 2 added profile.kernels (docs/jobs.md).
constexpr uint8_t kEncodingVersion = 2;
constexpr std::string_view kJobIdTag = "cairn/job/v2";
// Tags of the optional sections after the profile, written in this order.
constexpr uint8_t kSectionEvaluation = 1;

// -0.0 and 0.0 are the same setting; give them one encoding.
void Number(util::Writer& w, double value) { w.F64(value == 0 ? 0.0 : value); }

void Widths(util::Writer& w, const std::vector<uint32_t>& widths) {
  CAIRN_ASSERT(widths.size() <= kHiddenLayersMax);
  w.U32(static_cast<uint32_t>(widths.size()));
  for (uint32_t width : widths) w.U32(width);
}

void EncodeModel(util::Writer& w, const ModelSpec& m) {
  w.U8(static_cast<uint8_t>(m.kind));
  switch (m.kind) {
    case ModelKind::kMlp:
      Widths(w, m.hidden_sizes);
      break;
    case ModelKind::kCnn:
      Widths(w, m.channels);
      break;
    case ModelKind::kTransformer:
      w.U32(m.d_model);
      w.U32(m.heads);
      w.U32(m.layers);
      w.U32(m.feedforward);
      break;
    case ModelKind::kTorchScript:
      w.Hash(m.torchscript_hash);
      break;
    default:
      CAIRN_ASSERT(false && "model.kind not validated");
  }
  w.U8(static_cast<uint8_t>(m.init));
  if (m.init == WeightInit::kFile) w.Hash(m.weights_hash);
}

// Format, label column and content hash; never the paths.
void EncodeDataset(util::Writer& w, const DatasetSpec& d) {
  w.U8(static_cast<uint8_t>(d.source.format));
  w.String(d.source.label_column);
  w.Hash(d.content_hash);
}

void EncodeOptimizer(util::Writer& w, const OptimizerSpec& o) {
  w.U8(static_cast<uint8_t>(o.kind));
  Number(w, o.learning_rate);
  Number(w, o.weight_decay);
  if (o.kind == OptimizerKind::kSgd) {
    Number(w, o.momentum);
    w.Bool(o.nesterov);
  } else {
    Number(w, o.beta1);
    Number(w, o.beta2);
    Number(w, o.epsilon);
  }
}

void EncodeSchedule(util::Writer& w, const ScheduleSpec& s) {
  w.U8(static_cast<uint8_t>(s.kind));
  w.U64(s.warmup_steps);
  if (s.kind == ScheduleKind::kStep) {
    w.U64(s.step_size);
    Number(w, s.gamma);
  } else if (s.kind == ScheduleKind::kCosine) {
    Number(w, s.min_learning_rate);
  }
}

void EncodeVerification(util::Writer& w, const VerificationSpec& v) {
  w.U8(static_cast<uint8_t>(v.mode));
  w.U32(v.top_q);
  w.U32(v.uniform);
  if (v.mode == VerificationMode::kTolerance) {
    Number(w, v.l2_relative_max);
    Number(w, v.linf_max);
    Number(w, v.cosine_distance_max);
  }
}

}  // namespace

void WriteExecutionProfile(util::Writer& w, const ExecutionProfile& p) {
  w.U8(static_cast<uint8_t>(p.device));
  w.U32(p.threads);
  w.String(p.aten_cpu_capability);
  w.String(p.blas);
  w.String(p.openblas_coretype);
  w.Bool(p.onednn);
  w.U8(static_cast<uint8_t>(p.kernels));
}

ExecutionProfile ReadExecutionProfile(util::Reader& r) {
  ExecutionProfile p;
  uint8_t device = r.U8();
  if (r.ok() && device != static_cast<uint8_t>(Device::kCpu) && device != static_cast<uint8_t>(Device::kCuda)) {
    r.Fail("unknown device " + std::to_string(device));
  }
  p.device = static_cast<Device>(device);
  p.threads = r.U32();
  p.aten_cpu_capability = r.String(kProfileStringBytesMax);
  p.blas = r.String(kProfileStringBytesMax);
  p.openblas_coretype = r.String(kProfileStringBytesMax);
  p.onednn = r.Bool();
  const uint8_t kernels = r.U8();
  if (r.ok() && kernels != static_cast<uint8_t>(Kernels::kAten) && kernels != static_cast<uint8_t>(Kernels::kRepro)) {
    r.Fail("unknown kernels " + std::to_string(kernels));
  }
  p.kernels = static_cast<Kernels>(kernels);
  return p;
}

Bytes EncodeJobSpec(const JobSpec& spec) {
  util::Writer w;
  w.U8(kEncodingVersion);
  w.String(spec.name);
  EncodeModel(w, spec.model);
  EncodeDataset(w, spec.dataset);
  EncodeOptimizer(w, spec.optimizer);
  EncodeSchedule(w, spec.schedule);
  w.U32(spec.batch_size);
  w.U64(spec.steps);
  w.U64(spec.epochs);
  w.U64(spec.seed);
  w.U32(spec.checkpoint_interval);
  EncodeVerification(w, spec.verification);
  WriteExecutionProfile(w, spec.profile);
  // Optional sections follow, each introduced by its tag. A job without any
  // ends at the profile, exactly as before they existed, so its id is kept.
  if (spec.evaluation) {
    w.U8(kSectionEvaluation);
    EncodeDataset(w, spec.evaluation->dataset);
  }
  return w.Take();
}

Hash256 JobId(const JobSpec& spec) { return crypto::TaggedHash(kJobIdTag, EncodeJobSpec(spec)); }

bool InputsResolved(const JobSpec& spec) {
  if (spec.dataset.content_hash.IsZero()) return false;
  if (spec.model.kind == ModelKind::kTorchScript && spec.model.torchscript_hash.IsZero()) return false;
  if (spec.model.init == WeightInit::kFile && spec.model.weights_hash.IsZero()) return false;
  if (spec.evaluation && spec.evaluation->dataset.content_hash.IsZero()) return false;
  return true;
}

std::string ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kMlp:
      return "mlp";
    case ModelKind::kCnn:
      return "cnn";
    case ModelKind::kTransformer:
      return "transformer";
    case ModelKind::kTorchScript:
      return "torchscript";
  }
  return "unknown model kind " + std::to_string(static_cast<int>(kind));
}

std::string OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
  }
  return "unknown optimizer kind " + std::to_string(static_cast<int>(kind));
}

std::string KernelsName(Kernels kernels) {
  switch (kernels) {
    case Kernels::kAten:
      return "aten";
    case Kernels::kRepro:
      return "repro";
  }
  return "unknown kernels " + std::to_string(static_cast<int>(kernels));
}

}  // namespace cairn::job
