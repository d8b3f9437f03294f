// The in-process engine (internal to train/; includes libtorch through
// session.h). The worker runs it too, on its side of the channel.
#pragma once

#include "train/engine.h"
#include "train/evaluate.h"
#include "train/models.h"
#include "train/session.h"

namespace cairn::train {

// EvaluateModelFile with the model files already read (the worker cannot
// open them), and without applying the profile again.
Result<EvalResult> EvaluateModelFileWith(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                         const data::Dataset& train_shape_source, const data::Dataset& eval_set);

// ExportModelFile with the model files already read (the worker cannot open
// them).
Result<ExportedModel> ExportModelFileWith(const job::JobSpec& spec, const ModelFiles& files, ByteView model_file,
                                          const data::Dataset& train_shape_source);

// EstimateJob in this process with the model files already read (the
// worker cannot open them).
Result<Estimate> EstimateJobWith(const job::JobSpec& spec, const data::Dataset& dataset, const ModelFiles& files);

// Applies the profile (unless `applied` says it already was: the worker
// applies it before it can no longer read /proc), builds the session from
// `files` (no file is opened), and optionally checks that the model's
// randomness is controlled.
// `evaluation`: the job's evaluation set, when it has one (Engine::Evaluate).
Result<std::unique_ptr<Engine>> StartLocalEngine(const job::JobSpec& spec, const data::Dataset& dataset,
                                                 const data::Dataset* evaluation,
                                                 const ModelFiles& files, const EngineOptions& options,
                                                 const EngineEnvironment* applied = nullptr);

// Recomputes operators in this process (the profile already applied): what
// a recompute-only worker runs, and StartOpRecomputer when not isolated.
std::unique_ptr<OpRecomputer> StartLocalRecomputer();

}  // namespace cairn::train
