// DecodeJobSpec: the inverse of EncodeJobSpec (spec_encoding.cpp), for specs
// that arrive as bytes (from a peer, or from the node to its training
// worker). Strict: every field must be what EncodeJobSpec writes for some
// valid spec, and re-encoding gives back exactly the input bytes.
#include "job/spec.h"
#include "util/codec.h"

namespace cairn::job {
namespace {

constexpr uint8_t kEncodingVersion = 2;    // As in spec_encoding.cpp.
constexpr uint8_t kSectionEvaluation = 1;  // As in spec_encoding.cpp.

std::vector<uint32_t> ReadWidths(util::Reader& r) {
  std::vector<uint32_t> out;
  uint32_t n = r.ListLength(kHiddenLayersMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.U32());
  return out;
}

template <typename Enum>
Enum ReadEnum(util::Reader& r, uint8_t max, const char* what) {
  uint8_t v = r.U8();
  if (r.ok() && (v < 1 || v > max)) r.Fail(std::string("unknown ") + what + " " + std::to_string(v));
  return static_cast<Enum>(v);
}

void ReadModel(util::Reader& r, ModelSpec* m) {
  m->kind = ReadEnum<ModelKind>(r, 4, "model kind");
  if (!r.ok()) return;
  switch (m->kind) {
    case ModelKind::kMlp: m->hidden_sizes = ReadWidths(r); break;
    case ModelKind::kCnn: m->channels = ReadWidths(r); break;
    case ModelKind::kTransformer:
      m->d_model = r.U32();
      m->heads = r.U32();
      m->layers = r.U32();
      m->feedforward = r.U32();
      break;
    case ModelKind::kTorchScript: m->torchscript_hash = r.Hash(); break;
  }
  m->init = ReadEnum<WeightInit>(r, 2, "weight init");
  if (r.ok() && m->init == WeightInit::kFile) m->weights_hash = r.Hash();
}

void ReadOptimizer(util::Reader& r, OptimizerSpec* o) {
  o->kind = ReadEnum<OptimizerKind>(r, 3, "optimizer kind");
  o->learning_rate = r.F64();
  o->weight_decay = r.F64();
  if (o->kind == OptimizerKind::kSgd) {
    o->momentum = r.F64();
    o->nesterov = r.Bool();
  } else {
    o->beta1 = r.F64();
    o->beta2 = r.F64();
    o->epsilon = r.F64();
  }
}

void ReadSchedule(util::Reader& r, ScheduleSpec* s) {
  s->kind = ReadEnum<ScheduleKind>(r, 3, "schedule kind");
  s->warmup_steps = r.U64();
  if (s->kind == ScheduleKind::kStep) {
    s->step_size = r.U64();
    s->gamma = r.F64();
  } else if (s->kind == ScheduleKind::kCosine) {
    s->min_learning_rate = r.F64();
  }
}

void ReadVerification(util::Reader& r, VerificationSpec* v) {
  v->mode = ReadEnum<VerificationMode>(r, 2, "verification mode");
  v->top_q = r.U32();
  v->uniform = r.U32();
  if (v->mode == VerificationMode::kTolerance) {
    v->l2_relative_max = r.F64();
    v->linf_max = r.F64();
    v->cosine_distance_max = r.F64();
  }
}

}  // namespace

Result<JobSpec> DecodeJobSpec(ByteView bytes) {
  if (bytes.size > kJobFileBytesMax) return InvalidArgument("job spec is larger than " + std::to_string(kJobFileBytesMax) + " bytes");
  util::Reader r(bytes);
  JobSpec spec;
  uint8_t version = r.U8();
  if (r.ok() && version != kEncodingVersion) r.Fail("unsupported job spec encoding version " + std::to_string(version));
  spec.name = r.String(kNameBytesMax);
  ReadModel(r, &spec.model);
  spec.dataset.source.format = ReadEnum<data::DatasetFormat>(r, 2, "dataset format");
  spec.dataset.source.label_column = r.String(kLabelColumnBytesMax);
  spec.dataset.content_hash = r.Hash();
  ReadOptimizer(r, &spec.optimizer);
  ReadSchedule(r, &spec.schedule);
  spec.batch_size = r.U32();
  spec.steps = r.U64();
  spec.epochs = r.U64();
  spec.seed = r.U64();
  spec.checkpoint_interval = r.U32();
  ReadVerification(r, &spec.verification);
  spec.profile = ReadExecutionProfile(r);
  if (r.ok() && r.remaining() > 0) {
    // Optional sections follow, each with its tag (spec_encoding.cpp).
    uint8_t tag = r.U8();
    if (r.ok() && tag != kSectionEvaluation) r.Fail("unknown job spec section " + std::to_string(tag));
    EvaluationSpec e;
    e.dataset.source.format = ReadEnum<data::DatasetFormat>(r, 2, "dataset format");
    e.dataset.source.label_column = r.String(kLabelColumnBytesMax);
    e.dataset.content_hash = r.Hash();
    spec.evaluation = e;
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("job spec"));
  // Paths are the receiving node's business, not the spec's: validate
  // everything else, with stand-ins where a path is required.
  JobSpec with_paths = spec;
  with_paths.dataset.source.features_path = "-";
  if (spec.dataset.source.format == data::DatasetFormat::kIdx) with_paths.dataset.source.labels_path = "-";
  if (spec.model.kind == ModelKind::kTorchScript) with_paths.model.torchscript_path = "-";
  if (spec.model.init == WeightInit::kFile) with_paths.model.weights_path = "-";
  if (with_paths.evaluation) {
    with_paths.evaluation->dataset.source.features_path = "-";
    if (spec.evaluation->dataset.source.format == data::DatasetFormat::kIdx) {
      with_paths.evaluation->dataset.source.labels_path = "-";
    }
  }
  CAIRN_RETURN_IF_ERROR(ValidateJobSpec(with_paths).WithContext("job spec"));
  // Canonical: one encoding per spec (e.g. -0.0 is written as 0.0).
  if (EncodeJobSpec(spec) != Bytes(bytes.data, bytes.data + bytes.size)) {
    return InvalidArgument("job spec: not in canonical form");
  }
  return spec;
}

}  // namespace cairn::job
