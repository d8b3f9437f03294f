#include "train/engine.h"

#include <algorithm>

#include "train/local_engine.h"
#include "train/torch_error.h"

namespace cairn::train {

Status Engine::RunSegments(uint64_t begin, uint64_t end, uint64_t interval, const StepCallback& on_step,
                           const SegmentCallback& on_segment) {
  CAIRN_ASSERT(interval > 0);
  for (uint64_t at = begin; at < end;) {
    const uint64_t segment_end = std::min(end, at + interval);
    CAIRN_ASSIGN_OR_RETURN(SegmentResult result, RunSegment(at, segment_end, on_step));
    CAIRN_RETURN_IF_ERROR(on_segment(at, segment_end, std::move(result)));
    at = segment_end;
  }
  return Status::Ok();
}

Result<std::vector<Hash256>> Engine::StepHashes(uint64_t begin, uint64_t end) {
  return FailedPrecondition("this engine does not answer per-step hashes");
}

Result<proof::StepTrace> Engine::TraceStep(uint64_t step) {
  return FailedPrecondition("this engine does not trace steps");
}

Result<Bytes> Engine::OpInputs(uint64_t step, uint64_t op_index) {
  return FailedPrecondition("this engine does not trace steps");
}

Result<Hash256> Engine::RecomputeOp(const proof::OpRecord& record, ByteView inputs) {
  return FailedPrecondition("this engine does not recompute operators");
}

Result<std::unique_ptr<Engine>> StartWorkerEngine(const job::JobSpec& spec, const EngineOptions& options);

Result<std::unique_ptr<OpRecomputer>> StartWorkerRecomputer(const job::ExecutionProfile& profile,
                                                             const WorkerOptions& worker);

Result<std::unique_ptr<OpRecomputer>> StartOpRecomputer(const job::ExecutionProfile& profile,
                                                        const WorkerOptions& worker) {
  if (worker.isolated) return StartWorkerRecomputer(profile, worker);
  return GuardTorch("starting a recomputer", [&]() -> Result<std::unique_ptr<OpRecomputer>> {
    CAIRN_RETURN_IF_ERROR(ApplyProfile(profile).status());
    return StartLocalRecomputer();
  });
}

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
