// `cairn eval` and `cairn export`: what a trained model scores on held-out
// data, and the model handed back to PyTorch (docs/export.md). Both build
// the job's model, which for a TorchScript job runs the submitter's code:
// they do it in the sandboxed worker (docs/sandbox.md), never in this
// process, which only reads the inputs and writes the results.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "cli/job_loading.h"
#include "data/dataset.h"
#include "job/spec.h"
#include "train/engine.h"
#include "train/evaluate.h"
#include "train/export.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

// Which model file of the job: --model FILE, or the trained model in --data.
struct ModelArgs {
  std::string job;
  std::string model;
  std::string data_dir;
};

void AddModelOptions(CLI::App* cmd, ModelArgs* args) {
  cmd->add_option("job", args->job, "Job file (TOML)")->required();
  CLI::Option* model =
      cmd->add_option("--model", args->model, "A model file of this job (e.g. DATA/jobs/<job id>/model.bin)");
  CLI::Option* data =
      cmd->add_option("--data", args->data_dir, "Work directory of `cairn train`: use the job's trained model.bin");
  model->excludes(data);
  data->excludes(model);
}

struct ModelInput {
  LoadedJob job;
  std::string model_path;
  Bytes model_file;
};

Result<ModelInput> LoadModelInput(const ModelArgs& args) {
  if (args.model.empty() && args.data_dir.empty()) {
    return InvalidArgument("give the model to use: --model FILE, or --data DIR for the one `cairn train` wrote there");
  }
  ModelInput in;
  CAIRN_ASSIGN_OR_RETURN(in.job, LoadJob(args.job));
  in.model_path = !args.model.empty() ? args.model
                                      : args.data_dir + "/jobs/" + job::JobId(in.job.spec).ToHex() + "/model.bin";
  auto bytes = util::ReadFile(in.model_path, job::kModelFileBytesMax);
  if (!bytes.ok()) return bytes.status().WithContext("model file");
  in.model_file = std::move(bytes).value();
  return in;
}

// The job's engine in a sandboxed worker (the defaults of `cairn train`:
// WorkerOptions, isolated, this binary). The worker reads the job's inputs
// itself, checked against the spec's hashes.
Result<std::unique_ptr<train::Engine>> StartWorker(const job::JobSpec& spec, const data::Dataset& dataset,
                                                   const data::Dataset* evaluation) {
  train::EngineOptions options;
  options.worker.isolated = true;
  return train::StartEngine(spec, dataset, evaluation, options);
}

struct EvalArgs : ModelArgs {
  std::string eval_images;
  std::string eval_labels;
};

int Eval(const EvalArgs& args) {
  auto in = LoadModelInput(args);
  if (!in.ok()) return ReportInputError(in.status());
  const data::Dataset* eval_set = nullptr;
  data::Dataset override_set;
  std::string described;
  // What the worker scores on: the job's [evaluation] set, or the spec's
  // evaluation pointed at --eval-images/--eval-labels (with their content
  // hash, which the worker checks). The evaluation set plays no part in
  // training, so the model file fits either way.
  job::JobSpec spec = in->job.spec;
  if (!args.eval_images.empty()) {
    data::DatasetSource source;
    source.format = data::DatasetFormat::kIdx;
    source.features_path = args.eval_images;
    source.labels_path = args.eval_labels;
    auto loaded = data::LoadDataset(source);
    if (!loaded.ok()) return ReportInputError(loaded.status().WithContext("--eval-images/--eval-labels"));
    override_set = std::move(loaded).value();
    Status fits = job::CheckEvaluationFits(in->job.dataset, override_set, "--eval-images/--eval-labels");
    if (!fits.ok()) return ReportInputError(fits);
    spec.evaluation = job::EvaluationSpec{job::DatasetSpec{source, override_set.content_hash}};
    eval_set = &override_set;
    described = args.eval_images + " and " + args.eval_labels;
  } else if (in->job.evaluation) {
    eval_set = &*in->job.evaluation;
    const data::DatasetSource& s = in->job.spec.evaluation->dataset.source;
    described = s.format == data::DatasetFormat::kIdx ? s.features_path + " and " + s.labels_path : s.features_path;
  } else {
    return ReportInputError(InvalidArgument(
        args.job + " has no [evaluation] section, so there is nothing to evaluate on: add one naming a held-out "
                   "dataset (docs/jobs.md), or pass --eval-images FILE --eval-labels FILE"));
  }
  auto engine = StartWorker(spec, in->job.dataset, eval_set);
  if (!engine.ok()) return ReportError(engine.status());
  auto result = (*engine)->Evaluate(in->model_file);
  if (!result.ok()) return ReportError(result.status().WithContext(in->model_path));
  std::printf("model          %s (job %s)\n", in->model_path.c_str(), job::JobId(in->job.spec).ToHex().c_str());
  std::printf("evaluation set %s\n", described.c_str());
  std::printf("examples       %llu\n", static_cast<unsigned long long>(result->examples));
  std::printf("test loss      %.6f\n", result->loss);
  std::printf("test accuracy  %.4f (%llu of %llu correct)\n", result->accuracy,
              static_cast<unsigned long long>(result->correct), static_cast<unsigned long long>(result->examples));
  return kExitOk;
}

struct ExportArgs : ModelArgs {
  std::string out_dir;
};

int Export(const ExportArgs& args) {
  auto in = LoadModelInput(args);
  if (!in.ok()) return ReportInputError(in.status());
  auto engine = StartWorker(in->job.spec, in->job.dataset, in->job.evaluation ? &*in->job.evaluation : nullptr);
  if (!engine.ok()) return ReportError(engine.status());
  auto exported = (*engine)->Export(in->model_file);
  if (!exported.ok()) return ReportError(exported.status().WithContext(in->model_path));
  Status made = util::MakeDirs(args.out_dir);
  if (!made.ok()) return ReportError(made);
  const std::string script_path = args.out_dir + "/" + train::kExportTorchScriptFile;
  const std::string state_path = args.out_dir + "/" + train::kExportStateDictFile;
  for (const auto& [path, bytes] : {std::pair{script_path, &exported->torchscript},
                                    std::pair{state_path, &exported->state_dict}}) {
    Status written = util::WriteFileAtomic(path, *bytes);
    if (!written.ok()) return ReportError(written);
  }
  std::printf("exported %s (%zu tensors) of job %s\n", in->model_path.c_str(), exported->tensors,
              job::JobId(in->job.spec).ToHex().c_str());
  std::printf("  %-40s TorchScript, eval mode: torch.jit.load(path)\n", script_path.c_str());
  std::printf("  %-40s state dict: torch.load(path, weights_only=True)\n", state_path.c_str());
  return kExitOk;
}

}  // namespace

void RegisterExportCommands(CLI::App* app, Command* command) {
  auto eval_args = std::make_shared<EvalArgs>();
  CLI::App* eval = app->add_subcommand("eval", "Print the test loss and accuracy of a model file of a job");
  AddModelOptions(eval, eval_args.get());
  CLI::Option* images = eval->add_option("--eval-images", eval_args->eval_images,
                                         "IDX images to evaluate on instead of the job's [evaluation] set");
  CLI::Option* labels = eval->add_option("--eval-labels", eval_args->eval_labels, "IDX labels for --eval-images");
  images->needs(labels);
  labels->needs(images);
  eval->callback([command, eval_args] { command->action = [eval_args] { return Eval(*eval_args); }; });

  auto export_args = std::make_shared<ExportArgs>();
  CLI::App* exp = app->add_subcommand(
      "export", "Write a model file of a job as a TorchScript module and a PyTorch state dict (docs/export.md)");
  AddModelOptions(exp, export_args.get());
  exp->add_option("--out", export_args->out_dir, "Directory for model.pt and state_dict.pt (created)")->required();
  exp->callback([command, export_args] { command->action = [export_args] { return Export(*export_args); }; });
}

}  // namespace cairn::cli
