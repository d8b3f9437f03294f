// The in-process engine (internal to train/; includes libtorch through
// session.h). The worker runs it too, on its side of the channel.
#pragma once

#include "train/engine.h"
#include "train/models.h"
#include "train/session.h"

namespace cairn::train {

// Applies the profile (unless `applied` says it already was: the worker
// applies it before it can no longer read /proc), builds the session from
// `files` (no file is opened), and optionally checks that the model's
// randomness is controlled.
Result<std::unique_ptr<Engine>> StartLocalEngine(const job::JobSpec& spec, const data::Dataset& dataset,
                                                 const ModelFiles& files, const EngineOptions& options,
                                                 const EngineEnvironment* applied = nullptr);

}  // namespace cairn::train
