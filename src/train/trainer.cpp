// The solver: trains a job, checkpoints every k steps, and signs the
// certificate. Hashing and writing checkpoints run on a background thread so
// they overlap with training; a journal (rewritten atomically after each
// checkpoint is durable) lets a killed solver resume from its last
// checkpoint and produce a byte-identical certificate.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "job/limits.h"
#include "proof/checkpoint_store.h"
#include "proof/checkpoint_writer.h"
#include "proof/model_state.h"
#include "train/engine.h"
#include "train/session.h"
#include "train/snapshot.h"
#include "train/torch_error.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string JobDir(const std::string& work_dir, const Hash256& job_id) {
  return work_dir + "/jobs/" + job_id.ToHex();
}

Result<TrainResult> TrainJobUnguarded(const job::JobSpec& spec, const data::Dataset& dataset,
                                      const TrainOptions& options) {
  CAIRN_ASSERT(options.plain || options.solver_key != nullptr);
  const Hash256 job_id = job::JobId(spec);
  const uint64_t total = job::ResolvedSteps(spec, dataset.size());
  const uint64_t k = spec.checkpoint_interval;
  if (total == 0) return InvalidArgument("the job has no steps to run");
  if (!options.plain) CAIRN_RETURN_IF_ERROR(job::CheckVerifiable(spec, total));

  TrainResult result;
  const auto started = Clock::now();
  auto last_report = started;
  uint64_t last_report_step = 0;  // Steps done at the last report.
  double last_loss = 0;
  // Called after every step in this process, or at the worker's progress
  // messages (a few per second): rates come from step numbers, not calls.
  auto after_step = [&](uint64_t step, double loss) {
    last_loss = loss;
    if (!options.on_progress) return;
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - last_report).count();
    if (elapsed >= options.progress_interval_seconds || step + 1 == total) {
      const uint64_t done = step + 1;
      const double rate = last_report_step == 0 && done <= 1 ? 0 : (done - std::min(done, last_report_step)) /
                                                                        std::max(elapsed, 1e-9);
      options.on_progress(Progress{done, total, loss, rate});
      last_report = now;
      last_report_step = done;
    }
  };

  if (options.plain) {
    CAIRN_RETURN_IF_ERROR(ApplyProfile(spec.profile).status());
    CAIRN_ASSIGN_OR_RETURN(auto session, TrainingSession::Create(spec, dataset, total));
    CAIRN_RETURN_IF_ERROR(session->RunSteps(0, total, nullptr, options.cheat, after_step));
    result.steps_run = total;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    result.final_loss = last_loss;
    return result;
  }

  // Everything in the work directory goes through one Env (docs/checkpoints.md, "Durability").
  util::Env* const env = options.env != nullptr ? options.env : util::Env::Default();
  const std::string job_dir = JobDir(options.work_dir, job_id);
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(env, job_dir));
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(env, options.work_dir + "/checkpoints"));
  const std::string journal_path = job_dir + "/journal";
  auto lock = env->LockFile(job_dir + "/lock");
  if (!lock.ok() && lock.status().code() != StatusCode::kUnavailable) return lock.status();
  if (!lock.ok()) {
    return Unavailable("another `cairn train` is already running job " + job_id.ToHex().substr(0, 16) + " in " +
                       options.work_dir);
  }

  EngineOptions engine_options;
  engine_options.worker = options.worker;
  engine_options.check_randomness = true;
  engine_options.cheat = options.cheat;
  const auto engine_started = Clock::now();
  if (spec.evaluation.has_value() != (options.evaluation != nullptr)) {
    return InvalidArgument(spec.evaluation ? "the job names an evaluation set, but none was loaded"
                                           : "an evaluation set was given for a job without [evaluation]");
  }
  CAIRN_ASSIGN_OR_RETURN(auto engine, StartEngine(spec, dataset, options.evaluation, engine_options));
  result.startup_seconds = std::chrono::duration<double>(Clock::now() - engine_started).count();
  spdlog::info("job {}: {} steps, checkpoint every {} steps, on {}{}", job_id.ToHex().substr(0, 16), total, k,
               engine->environment().description, options.worker.isolated ? " (sandboxed worker)" : "");

  // Resume from the last durable checkpoint, if any. A checkpoint that was
  // damaged on disk since is skipped: resume from the one before it.
  proof::Journal journal{job_id, {}, {}};
  uint64_t step = 0;
  Bytes restored;
  if (options.resume && env->FileExists(journal_path)) {
    CAIRN_ASSIGN_OR_RETURN(Bytes raw, env->ReadFile(journal_path, proof::kJournalBytesMax));
    CAIRN_ASSIGN_OR_RETURN(journal, proof::DecodeJournal(raw));
    if (journal.job_id != job_id) return Corruption(journal_path + " belongs to another job");
    while (!journal.checkpoints.empty()) {
      auto last = store.Get(journal.checkpoints.back());
      if (last.ok()) {
        CAIRN_ASSIGN_OR_RETURN(step, engine->Restore(*last));
        restored = std::move(*last);
        break;
      }
      spdlog::warn("resuming: {}; falling back to the checkpoint before it", last.status().message());
      journal.checkpoints.pop_back();
      if (!journal.segments.empty()) journal.segments.pop_back();
    }
    result.resumed_from_step = step;
    last_report_step = step;
    if (!journal.checkpoints.empty()) {
      spdlog::info("resuming from checkpoint {} at step {}", journal.checkpoints.size() - 1, step);
    }
  }
  const bool fresh = journal.checkpoints.empty();
  proof::CheckpointWriter writer(&store, journal_path, journal);
  // The engine outlives the writer (declared first), so the writer may hand
  // it back every snapshot it is done with.
  writer.SetRecycler([engine = engine.get()](Bytes bytes) { engine->Recycle(std::move(bytes)); });
  if (fresh) {
    auto initial = engine->InitialCheckpoint();
    if (!initial.ok()) {
      writer.Finish().ok();
      return initial.status();
    }
    writer.Enqueue(std::move(*initial), std::nullopt);
  } else {
    writer.SetPrevious(std::move(restored));
  }

  // One call trains every remaining segment: a sandboxed worker goes on with
  // the next while this thread hands the last checkpoint to the writer.
  uint64_t range_end = total;
  if (options.stop_after_step != 0) range_end = std::min(total, std::max(step, options.stop_after_step));
  bool writer_failed = false;
  Status trained = engine->RunSegments(
      step, range_end, k, after_step, [&](uint64_t begin, uint64_t end, SegmentResult run) -> Status {
        const auto handoff_started = Clock::now();
        result.checkpoint_seconds += run.snapshot_seconds;
        result.steps_run += end - begin;
        // A segment cut short on request (the last of the range) is dropped, as if killed here.
        if (end % k != 0 && end != total) return Status::Ok();
        proof::SegmentMetadata meta;
        meta.start_step = begin;
        meta.end_step = end;
        meta.loss_mean = run.loss_sum / static_cast<double>(run.steps);
        meta.grad_norm_last = run.grad_norm_last;
        last_loss = run.last_loss;
        writer.Enqueue(std::move(run.checkpoint), meta);
        result.checkpoint_seconds += std::chrono::duration<double>(Clock::now() - handoff_started).count();
        step = end;
        if (Status w = writer.CurrentStatus(); !w.ok()) {
          writer_failed = true;
          return w;
        }
        return Status::Ok();
      });
  if (!trained.ok()) {
    writer.Finish().ok();
    return writer_failed ? trained.WithContext("writing checkpoints") : trained;
  }
  if (step < total) {  // Stopped on request.
    CAIRN_RETURN_IF_ERROR(writer.Finish());
    return Unavailable("training stopped at step " + std::to_string(range_end) + " as requested");
  }
  const auto finalize_started = Clock::now();
  CAIRN_RETURN_IF_ERROR(writer.Finish());
  const proof::Journal& done = writer.journal();

  proof::Certificate cert;
  cert.job_id = job_id;
  cert.total_steps = total;
  cert.checkpoint_interval = static_cast<uint32_t>(k);
  cert.environment = engine->environment().applied;
  cert.checkpoint_hashes = done.checkpoints;
  cert.checkpoint_root = proof::CheckpointRoot(done.checkpoints);
  cert.segments = done.segments;
  // The final model is the last checkpoint's model section, byte for byte.
  CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView final_view, proof::DecodeCheckpoint(writer.last_checkpoint()));
  const Bytes weights(final_view.model.encoded.data, final_view.model.encoded.data + final_view.model.encoded.size);
  cert.final_model_hash = proof::ModelHash(weights);
  if (spec.evaluation) {
    CAIRN_ASSIGN_OR_RETURN(EvalResult e, engine->Evaluate(weights));
    if (!std::isfinite(e.loss)) {
      return FailedPrecondition("the trained model's test loss is " + std::to_string(e.loss) +
                                "; no certificate was produced");
    }
    cert.evaluation = proof::EvaluationClaim{e.loss, e.accuracy, e.examples, e.correct};
    result.evaluation = e;
  }
  proof::SignCertificate(&cert, *options.solver_key);
  CAIRN_RETURN_IF_ERROR(proof::CheckCertificate(cert));

  result.certificate_path = job_dir + "/certificate.bin";
  Bytes encoded = proof::EncodeCertificate(cert);
  CAIRN_RETURN_IF_ERROR(util::WriteFilesAtomic(env, {{job_dir + "/model.bin", ByteView(weights)},
                                                     {result.certificate_path, ByteView(encoded)}}));
  result.certificate = std::move(cert);
  const auto finished = Clock::now();
  result.seconds = std::chrono::duration<double>(finished - started).count();
  result.finalize_seconds = std::chrono::duration<double>(finished - finalize_started).count();
  result.final_loss = last_loss;
  return result;
}

}  // namespace

Result<TrainResult> TrainJob(const job::JobSpec& spec, const data::Dataset& dataset, const TrainOptions& options) {
  return GuardTorch("training", [&] { return TrainJobUnguarded(spec, dataset, options); });
}

}  // namespace cairn::train
