#include "train/engine.h"

#include "train/local_engine.h"
#include "train/torch_error.h"

namespace cairn::train {

Result<std::unique_ptr<Engine>> StartWorkerEngine(const job::JobSpec& spec, const EngineOptions& options);

Result<std::unique_ptr<Engine>> StartEngine(const job::JobSpec& spec, const data::Dataset& dataset,
                                            const data::Dataset* evaluation,
                                            const EngineOptions& options) {
  if (options.worker.isolated) return StartWorkerEngine(spec, options);
  return GuardTorch("starting training", [&]() -> Result<std::unique_ptr<Engine>> {
    CAIRN_ASSIGN_OR_RETURN(ModelFiles files, ReadModelFiles(spec));
    return StartLocalEngine(spec, dataset, evaluation, files, options);
  });
}

}  // namespace cairn::train
