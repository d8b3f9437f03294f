// ParseJobToml / LoadJobFile: the TOML layout of docs/jobs.md.
#include <toml++/toml.h>

#include <filesystem>
#include <sstream>

#include "job/spec.h"
#include "job/toml_table.h"
#include "util/file.h"

namespace cairn::job {
namespace {

using internal::KindKeys;
using internal::Presence;
using internal::TomlTable;

constexpr Presence kRequired = Presence::kRequired;
constexpr Presence kOptional = Presence::kOptional;

// Keys that belong to one kind only. Keys every kind accepts are read
// unconditionally below and are not listed.
const std::vector<KindKeys>& ModelKindKeys() {
  static const std::vector<KindKeys> kinds = {
      {"mlp", {"hidden_sizes"}},
      {"cnn", {"channels"}},
      {"transformer", {"d_model", "heads", "layers", "feedforward"}},
      {"torchscript", {"path", "hash"}},
  };
  return kinds;
}

const std::vector<KindKeys>& DatasetFormatKeys() {
  static const std::vector<KindKeys> kinds = {
      {"idx", {"images", "labels"}},
      {"csv", {"csv", "label_column"}},
  };
  return kinds;
}

const std::vector<KindKeys>& OptimizerKindKeys() {
  static const std::vector<KindKeys> kinds = {
      {"sgd", {"momentum", "nesterov"}},
      {"adam", {"beta1", "beta2", "epsilon"}},
      {"adamw", {"beta1", "beta2", "epsilon"}},
  };
  return kinds;
}

const std::vector<KindKeys>& ScheduleKindKeys() {
  static const std::vector<KindKeys> kinds = {
      {"constant", {}},
      {"step", {"step_size", "gamma"}},
      {"cosine", {"min_learning_rate"}},
  };
  return kinds;
}

const std::vector<KindKeys>& VerificationModeKeys() {
  static const std::vector<KindKeys> kinds = {
      {"exact", {}},
      {"tolerance", {"l2_relative_max", "linf_max", "cosine_distance_max"}},
  };
  return kinds;
}

Status ReadModel(TomlTable& t, const std::string& base_dir, ModelSpec* m) {
  CAIRN_RETURN_IF_ERROR(t.Choice("kind", kRequired,
                                 {{"mlp", ModelKind::kMlp},
                                  {"cnn", ModelKind::kCnn},
                                  {"transformer", ModelKind::kTransformer},
                                  {"torchscript", ModelKind::kTorchScript}},
                                 &m->kind));
  switch (m->kind) {
    case ModelKind::kMlp:
      // Required even though [] is allowed: a linear classifier must be asked for.
      CAIRN_RETURN_IF_ERROR(t.UnsignedList("hidden_sizes", kRequired, &m->hidden_sizes));
      break;
    case ModelKind::kCnn:
      CAIRN_RETURN_IF_ERROR(t.UnsignedList("channels", kRequired, &m->channels));
      break;
    case ModelKind::kTransformer:
      CAIRN_RETURN_IF_ERROR(t.Unsigned("d_model", kRequired, &m->d_model));
      CAIRN_RETURN_IF_ERROR(t.Unsigned("heads", kRequired, &m->heads));
      CAIRN_RETURN_IF_ERROR(t.Unsigned("layers", kRequired, &m->layers));
      CAIRN_RETURN_IF_ERROR(t.Unsigned("feedforward", kRequired, &m->feedforward));
      break;
    case ModelKind::kTorchScript:
      CAIRN_RETURN_IF_ERROR(t.Path("path", kRequired, base_dir, &m->torchscript_path));
      CAIRN_RETURN_IF_ERROR(t.Hash("hash", kOptional, &m->torchscript_hash));
      break;
  }
  CAIRN_RETURN_IF_ERROR(
      t.Choice("init", kOptional, {{"seed", WeightInit::kSeed}, {"file", WeightInit::kFile}}, &m->init));
  if (m->init == WeightInit::kFile) {
    CAIRN_RETURN_IF_ERROR(t.Path("weights_path", kOptional, base_dir, &m->weights_path));
    CAIRN_RETURN_IF_ERROR(t.Hash("weights_hash", kOptional, &m->weights_hash));
  } else {
    for (std::string_view key : {"weights_path", "weights_hash"}) {
      if (t.Has(key)) return t.Error(key, "applies only to model.init = \"file\"");
    }
  }
  return t.CheckNoOtherKeys(ModelKindKeys(), "kind", ModelKindName(m->kind));
}

Status ReadDataset(TomlTable& t, const std::string& base_dir, DatasetSpec* d) {
  data::DatasetSource& source = d->source;
  CAIRN_RETURN_IF_ERROR(t.Choice(
      "format", kRequired, {{"idx", data::DatasetFormat::kIdx}, {"csv", data::DatasetFormat::kCsv}}, &source.format));
  const char* format_name = "idx";
  if (source.format == data::DatasetFormat::kIdx) {
    CAIRN_RETURN_IF_ERROR(t.Path("images", kRequired, base_dir, &source.features_path));
    CAIRN_RETURN_IF_ERROR(t.Path("labels", kRequired, base_dir, &source.labels_path));
  } else {
    format_name = "csv";
    CAIRN_RETURN_IF_ERROR(t.Path("csv", kRequired, base_dir, &source.features_path));
    CAIRN_RETURN_IF_ERROR(t.String("label_column", kRequired, &source.label_column));
  }
  CAIRN_RETURN_IF_ERROR(t.Hash("content_hash", kOptional, &d->content_hash));
  return t.CheckNoOtherKeys(DatasetFormatKeys(), "format", format_name);
}

Status ReadOptimizer(TomlTable& t, OptimizerSpec* o) {
  CAIRN_RETURN_IF_ERROR(t.Choice(
      "kind", kRequired,
      {{"sgd", OptimizerKind::kSgd}, {"adam", OptimizerKind::kAdam}, {"adamw", OptimizerKind::kAdamW}}, &o->kind));
  CAIRN_RETURN_IF_ERROR(t.Number("learning_rate", kRequired, &o->learning_rate));
  CAIRN_RETURN_IF_ERROR(t.Number("weight_decay", kOptional, &o->weight_decay));
  if (o->kind == OptimizerKind::kSgd) {
    CAIRN_RETURN_IF_ERROR(t.Number("momentum", kOptional, &o->momentum));
    CAIRN_RETURN_IF_ERROR(t.Bool("nesterov", kOptional, &o->nesterov));
  } else {
    CAIRN_RETURN_IF_ERROR(t.Number("beta1", kOptional, &o->beta1));
    CAIRN_RETURN_IF_ERROR(t.Number("beta2", kOptional, &o->beta2));
    CAIRN_RETURN_IF_ERROR(t.Number("epsilon", kOptional, &o->epsilon));
  }
  return t.CheckNoOtherKeys(OptimizerKindKeys(), "kind", OptimizerKindName(o->kind));
}

Status ReadSchedule(TomlTable& t, ScheduleSpec* s) {
  CAIRN_RETURN_IF_ERROR(t.Choice(
      "kind", kOptional,
      {{"constant", ScheduleKind::kConstant}, {"step", ScheduleKind::kStep}, {"cosine", ScheduleKind::kCosine}},
      &s->kind));
  CAIRN_RETURN_IF_ERROR(t.Unsigned("warmup_steps", kOptional, &s->warmup_steps));
  const char* kind_name = "constant";
  if (s->kind == ScheduleKind::kStep) {
    kind_name = "step";
    CAIRN_RETURN_IF_ERROR(t.Unsigned("step_size", kRequired, &s->step_size));
    CAIRN_RETURN_IF_ERROR(t.Number("gamma", kOptional, &s->gamma));
  } else if (s->kind == ScheduleKind::kCosine) {
    kind_name = "cosine";
    CAIRN_RETURN_IF_ERROR(t.Number("min_learning_rate", kOptional, &s->min_learning_rate));
  }
  return t.CheckNoOtherKeys(ScheduleKindKeys(), "kind", kind_name);
}

Status ReadVerification(TomlTable& t, VerificationSpec* v) {
  CAIRN_RETURN_IF_ERROR(t.Choice(
      "mode", kOptional, {{"exact", VerificationMode::kExact}, {"tolerance", VerificationMode::kTolerance}}, &v->mode));
  CAIRN_RETURN_IF_ERROR(t.Unsigned("top_q", kOptional, &v->top_q));
  CAIRN_RETURN_IF_ERROR(t.Unsigned("uniform", kOptional, &v->uniform));
  const char* mode_name = "exact";
  if (v->mode == VerificationMode::kTolerance) {
    mode_name = "tolerance";
    CAIRN_RETURN_IF_ERROR(t.Number("l2_relative_max", kOptional, &v->l2_relative_max));
    CAIRN_RETURN_IF_ERROR(t.Number("linf_max", kOptional, &v->linf_max));
    CAIRN_RETURN_IF_ERROR(t.Number("cosine_distance_max", kOptional, &v->cosine_distance_max));
  }
  return t.CheckNoOtherKeys(VerificationModeKeys(), "mode", mode_name);
}

// What pins ATen's arithmetic; the repro kernels have none of it.
const std::vector<KindKeys>& ProfileKernelsKeys() {
  static const std::vector<KindKeys> kinds = {
      {"aten", {"aten_cpu_capability", "blas", "openblas_coretype", "onednn"}},
      {"repro", {}},
  };
  return kinds;
}

Status ReadProfile(TomlTable& t, ExecutionProfile* p) {
  CAIRN_RETURN_IF_ERROR(t.Choice("device", kOptional, {{"cpu", Device::kCpu}, {"cuda", Device::kCuda}}, &p->device));
  CAIRN_RETURN_IF_ERROR(t.Unsigned("threads", kOptional, &p->threads));
  CAIRN_RETURN_IF_ERROR(
      t.Choice("kernels", kOptional, {{"aten", Kernels::kAten}, {"repro", Kernels::kRepro}}, &p->kernels));
  if (p->kernels == Kernels::kAten) {
    CAIRN_RETURN_IF_ERROR(t.String("aten_cpu_capability", kOptional, &p->aten_cpu_capability));
    CAIRN_RETURN_IF_ERROR(t.String("blas", kOptional, &p->blas));
    CAIRN_RETURN_IF_ERROR(t.String("openblas_coretype", kOptional, &p->openblas_coretype));
    CAIRN_RETURN_IF_ERROR(t.Bool("onednn", kOptional, &p->onednn));
  }
  return t.CheckNoOtherKeys(ProfileKernelsKeys(), "kernels", KernelsName(p->kernels));
}

// Reads the optional sub-table `key` with `read`, leaving defaults if absent.
template <typename Read>
Status ReadSection(TomlTable& top, std::string_view key, Presence presence, const std::string& source_name, Read read) {
  const toml::table* table = nullptr;
  CAIRN_RETURN_IF_ERROR(top.Table(key, presence, &table));
  if (table == nullptr) return Status::Ok();
  TomlTable t(table, source_name, std::string(key) + ".");
  return read(t);
}

}  // namespace

Result<JobSpec> ParseJobToml(const std::string& text, const std::string& source_name, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream message;
    message << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return InvalidArgument(message.str());
  }

  JobSpec spec;
  TomlTable top(&root, source_name, "");
  CAIRN_RETURN_IF_ERROR(top.String("name", kRequired, &spec.name));
  CAIRN_RETURN_IF_ERROR(top.Unsigned("batch_size", kRequired, &spec.batch_size));
  CAIRN_RETURN_IF_ERROR(top.Unsigned("steps", kOptional, &spec.steps));
  CAIRN_RETURN_IF_ERROR(top.Unsigned("epochs", kOptional, &spec.epochs));
  // 0 is the struct's "not given"; written out it is a mistake, not a choice.
  for (std::string_view key : {"steps", "epochs"}) {
    uint64_t value = key == "steps" ? spec.steps : spec.epochs;
    if (top.Has(key) && value == 0) return top.Error(key, "must be at least 1, got 0");
  }
  if (!top.Has("steps") && !top.Has("epochs")) {
    return InvalidArgument(source_name + ": missing required key steps or epochs (give exactly one)");
  }
  CAIRN_RETURN_IF_ERROR(top.Unsigned("seed", kRequired, &spec.seed));
  CAIRN_RETURN_IF_ERROR(top.Unsigned("checkpoint_interval", kRequired, &spec.checkpoint_interval));

  CAIRN_RETURN_IF_ERROR(ReadSection(top, "model", kRequired, source_name,
                                    [&](TomlTable& t) { return ReadModel(t, base_dir, &spec.model); }));
  CAIRN_RETURN_IF_ERROR(ReadSection(top, "dataset", kRequired, source_name,
                                    [&](TomlTable& t) { return ReadDataset(t, base_dir, &spec.dataset); }));
  CAIRN_RETURN_IF_ERROR(ReadSection(top, "optimizer", kRequired, source_name,
                                    [&](TomlTable& t) { return ReadOptimizer(t, &spec.optimizer); }));
  CAIRN_RETURN_IF_ERROR(ReadSection(top, "schedule", kOptional, source_name,
                                    [&](TomlTable& t) { return ReadSchedule(t, &spec.schedule); }));
  CAIRN_RETURN_IF_ERROR(ReadSection(top, "verification", kOptional, source_name,
                                    [&](TomlTable& t) { return ReadVerification(t, &spec.verification); }));
  CAIRN_RETURN_IF_ERROR(
      ReadSection(top, "profile", kOptional, source_name, [&](TomlTable& t) { return ReadProfile(t, &spec.profile); }));
  // The same keys as [dataset]; present at all = the job has an evaluation set.
  CAIRN_RETURN_IF_ERROR(ReadSection(top, "evaluation", kOptional, source_name, [&](TomlTable& t) {
    return ReadDataset(t, base_dir, &spec.evaluation.emplace().dataset);
  }));
  CAIRN_RETURN_IF_ERROR(top.CheckNoOtherKeys());

  Status valid = ValidateJobSpec(spec);
  if (!valid.ok()) return InvalidArgument(source_name + ": " + valid.message());
  return spec;
}

Result<JobSpec> LoadJobFile(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, util::ReadFile(path, kJobFileBytesMax));
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseJobToml(std::string(raw.begin(), raw.end()), path, base_dir);
}

}  // namespace cairn::job
