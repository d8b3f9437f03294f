// The verifier: checks a certificate against its job and against every
// committed checkpoint, then replays sampled segments and compares what it
// gets, state and metadata, with what the solver signed (exact: bit for bit;
// tolerance: within the job's thresholds).
//
// Everything wrong with what the solver committed is a rejection (a report
// with accepted = false, naming the segment and the defect). A Status error
// means only that this verifier could not do its job: bad input, a profile
// it cannot apply, running out of memory.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>

#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "train/engine.h"
#include "train/session.h"
#include "train/snapshot.h"
#include "train/torch_error.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string SegmentName(const proof::SegmentMetadata& seg, uint32_t i) {
  return "segment " + std::to_string(i) + " (steps " + std::to_string(seg.start_step) + ".." +
         std::to_string(seg.end_step) + ")";
}

// Rejections are reports, not errors: the verifier did its job.
VerifyReport Reject(VerifyReport report, std::string reason) {
  report.accepted = false;
  report.reason = std::move(reason);
  return report;
}

// Signed metadata must be numbers a real run can produce.
std::string CheckMetadataIsFinite(const proof::Certificate& cert) {
  for (uint32_t i = 0; i < cert.segments.size(); ++i) {
    const proof::SegmentMetadata& s = cert.segments[i];
    const std::pair<const char*, double> fields[] = {
        {"loss_mean", s.loss_mean}, {"grad_norm_last", s.grad_norm_last}, {"update_norm", s.update_norm}};
    for (const auto& [name, value] : fields) {
      if (!std::isfinite(value) || value < 0) {
        return SegmentName(s, i) + ": the certificate's " + name + " is " + Number(value) +
               ", which no finished training run produces";
      }
    }
  }
  return "";
}

// Whether an engine error replaying committed state is the solver's doing
// (a rejection) rather than this verifier's inability (limits, crashes).
bool IsCommittedStatesFault(const Status& s) {
  return s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kInvalidArgument;
}

// A committed checkpoint, fetched, decoded and checked against the job's
// model (its layout is that of checkpoint 0, which the verifier computed).
struct Committed {
  Bytes bytes;
  proof::CheckpointView view;  // Points into `bytes`.
};

// Fetches checkpoint `i`; returns "" or the defect in words.
std::string LoadCommitted(const proof::CheckpointStore& store, const proof::Certificate& cert, uint32_t i,
                          const proof::CheckpointView& initial, uint64_t expected_step, Committed* out) {
  const std::string name = "checkpoint " + std::to_string(i) + " (" + Short(cert.checkpoint_hashes[i]) + ")";
  auto bytes = store.Get(cert.checkpoint_hashes[i]);
  if (!bytes.ok()) return name + ", which the certificate names, is missing or damaged: " + bytes.status().message();
  out->bytes = std::move(*bytes);
  auto view = proof::DecodeCheckpoint(out->bytes);
  if (!view.ok()) return name + " does not decode: " + view.status().message();
  out->view = std::move(*view);
  if (out->view.step != expected_step) {
    return name + " is for step " + std::to_string(out->view.step) + ", the certificate places it at step " +
           std::to_string(expected_step);
  }
  if (Status s = proof::CheckSameLayout(out->view.model, initial.model); !s.ok()) {
    return name + " does not hold this job's model: " + s.message();
  }
  if (out->view.optimizer_kind != initial.optimizer_kind ||
      out->view.state_per_parameter != initial.state_per_parameter) {
    return name + " holds the state of another optimizer";
  }
  std::string bad;
  if (!proof::AllFinite(out->view.model, &bad)) return name + " holds non-finite values in tensor " + bad;
  return "";
}

// In tolerance mode, scalars must agree to within the job's relative L2
// threshold (ProfileTolerance measures their drift alongside the weights').
bool CloseEnough(double replayed, double claimed, double relative_max) {
  return std::fabs(replayed - claimed) <= relative_max * std::max(std::fabs(replayed), 1e-12);
}

// Compares the replay's metadata with the certificate's; "" or the mismatch.
std::string CompareMetadata(const proof::SegmentMetadata& claimed, const SegmentAccumulator& acc,
                            const job::VerificationSpec& verification) {
  const double loss_mean = acc.loss_sum / static_cast<double>(acc.steps);
  const std::pair<const char*, std::pair<double, double>> fields[] = {
      {"loss_mean", {loss_mean, claimed.loss_mean}}, {"grad_norm_last", {acc.grad_norm_last, claimed.grad_norm_last}}};
  for (const auto& [name, values] : fields) {
    const auto [replayed, signed_value] = values;
    const bool ok = verification.mode == job::VerificationMode::kExact
                        ? replayed == signed_value
                        : CloseEnough(replayed, signed_value, verification.l2_relative_max);
    if (!ok) {
      return std::string("the certificate's ") + name + " is " + Number(signed_value) + ", the replay gives " +
             Number(replayed);
    }
  }
  return "";
}

// Compares the signed test loss and accuracy with the recomputed ones: bit
// for bit in exact mode; in tolerance mode the loss within l2_relative_max
// relative and the accuracy within the same fraction of the examples.
std::string CompareEvaluation(const proof::EvaluationClaim& claimed, const EvalResult& e,
                              const job::VerificationSpec& verification) {
  if (claimed.examples != e.examples) {
    return "the certificate's evaluation covers " + std::to_string(claimed.examples) + " examples, the evaluation set has " +
           std::to_string(e.examples);
  }
  const bool exact = verification.mode == job::VerificationMode::kExact;
  const bool loss_ok = exact ? claimed.loss == e.loss : CloseEnough(e.loss, claimed.loss, verification.l2_relative_max);
  if (!loss_ok) {
    return "the certificate's test_loss is " + Number(claimed.loss) + ", the final model gives " + Number(e.loss);
  }
  const double correct_slack = exact ? 0.0 : verification.l2_relative_max * static_cast<double>(e.examples);
  const bool accuracy_ok = claimed.accuracy == static_cast<double>(claimed.correct) / static_cast<double>(claimed.examples) &&
                           std::fabs(static_cast<double>(claimed.correct) - static_cast<double>(e.correct)) <= correct_slack;
  if (!accuracy_ok) {
    return "the certificate's test_accuracy is " + Number(claimed.accuracy) + ", the final model gives " +
           Number(e.accuracy) + " (" + std::to_string(e.correct) + " of " + std::to_string(e.examples) + ")";
  }
  return "";
}

// Replays one segment and fills `check`. Returns a Status only when the
// verifier itself cannot proceed.
Status ReplaySegment(Engine* engine, const proof::Certificate& cert, const proof::CheckpointStore& store,
                     const job::VerificationSpec& verification, uint32_t i, SegmentCheck* check,
                     uint64_t* steps_replayed) {
  const proof::SegmentMetadata& seg = cert.segments[i];
  check->segment = i;
  check->start_step = seg.start_step;
  check->end_step = seg.end_step;
  auto start = store.Get(cert.checkpoint_hashes[i]);
  if (!start.ok()) {
    check->detail = "checkpoint " + std::to_string(i) + " is missing or damaged: " + start.status().message();
    return Status::Ok();
  }
  auto restored = engine->Restore(*start);
  if (!restored.ok() && !IsCommittedStatesFault(restored.status())) return restored.status();
  if (!restored.ok() || *restored != seg.start_step) {
    check->detail = "checkpoint " + std::to_string(i) + " does not hold the model at step " +
                    std::to_string(seg.start_step) +
                    (restored.ok() ? "" : std::string(": ") + restored.status().message());
    return Status::Ok();
  }
  auto run = engine->RunSegment(seg.start_step, seg.end_step, nullptr);
  if (!run.ok()) {
    // A limit or a crash is this verifier's problem (never held against the
    // solver); a non-finite loss or the model failing on this state is what
    // the solver committed.
    if (!IsCommittedStatesFault(run.status())) return run.status().WithContext("replaying segment " + std::to_string(i));
    check->detail = "replaying from checkpoint " + std::to_string(i) + " fails: " + run.status().message();
    return Status::Ok();
  }
  *steps_replayed += run->steps;
  SegmentAccumulator acc;
  acc.loss_sum = run->loss_sum;
  acc.steps = run->steps;
  acc.grad_norm_last = run->grad_norm_last;
  const Bytes& replayed = run->checkpoint;
  const Hash256 replayed_hash = proof::CheckpointHash(replayed);
  const Hash256& committed_hash = cert.checkpoint_hashes[i + 1];
  auto replayed_view = proof::DecodeCheckpoint(replayed);
  CAIRN_RETURN_IF_ERROR(replayed_view.status().WithContext("the verifier's own replay"));
  std::string bad;
  if (!proof::AllFinite(replayed_view->model, &bad)) {
    check->detail = "replaying from checkpoint " + std::to_string(i) + " makes tensor " + bad + " non-finite";
    return Status::Ok();
  }

  auto committed = store.Get(committed_hash);
  if (committed.ok()) {
    auto committed_view = proof::DecodeCheckpoint(*committed);
    if (committed_view.ok()) {
      auto d = proof::CompareStates(replayed_view->model, committed_view->model);
      if (d.ok()) {
        check->l2_relative = d->l2_relative;
        check->linf = d->linf;
        check->cosine_distance = d->cosine_distance;
      }
    }
  }
  if (verification.mode == job::VerificationMode::kExact) {
    if (replayed_hash != committed_hash) {
      char buf[256];
      std::snprintf(buf, sizeof(buf),
                    "replaying steps %llu..%llu gives checkpoint %s, the solver committed %s "
                    "(state differs: relative L2 %.3g, max abs %.3g)",
                    static_cast<unsigned long long>(seg.start_step), static_cast<unsigned long long>(seg.end_step),
                    Short(replayed_hash).c_str(), Short(committed_hash).c_str(), check->l2_relative, check->linf);
      check->detail = buf;
      return Status::Ok();
    }
  } else {
    if (!committed.ok()) {
      check->detail = "checkpoint " + std::to_string(i + 1) + " is missing or damaged: " + committed.status().message();
      return Status::Ok();
    }
    const bool close = check->l2_relative <= verification.l2_relative_max && check->linf <= verification.linf_max &&
                       check->cosine_distance <= verification.cosine_distance_max;
    if (!close) {
      char buf[256];
      std::snprintf(buf, sizeof(buf),
                    "replayed state is too far from the committed one: relative L2 %.3g (max %.3g), "
                    "max abs %.3g (max %.3g), cosine distance %.3g (max %.3g)",
                    check->l2_relative, verification.l2_relative_max, check->linf, verification.linf_max,
                    check->cosine_distance, verification.cosine_distance_max);
      check->detail = buf;
      return Status::Ok();
    }
  }
  const double loss_mean = acc.loss_sum / static_cast<double>(acc.steps);
  auto relative = [](double a, double b) { return std::fabs(a - b) / std::max(std::fabs(a), 1e-12); };
  check->metadata_relative =
      std::max(relative(loss_mean, seg.loss_mean), relative(acc.grad_norm_last, seg.grad_norm_last));
  check->detail = CompareMetadata(seg, acc, verification);
  check->passed = check->detail.empty();
  return Status::Ok();
}

Result<VerifyReport> VerifyJobUnguarded(const job::JobSpec& spec, const data::Dataset& dataset,
                                        const proof::Certificate& cert, const VerifyOptions& options) {
  CAIRN_ASSERT(options.verifier_key != nullptr);
  const auto started = Clock::now();
  VerifyReport report;
  const Hash256 job_id = job::JobId(spec);
  if (cert.job_id != job_id) {
    return Reject(report, "the certificate is for job " + Short(cert.job_id) + ", not this job (" + Short(job_id) + ")");
  }
  if (Status s = proof::CheckCertificate(cert); !s.ok()) return Reject(report, s.message());
  if (std::string bad = CheckMetadataIsFinite(cert); !bad.empty()) return Reject(report, bad);
  if (options.expected_solver && cert.solver != *options.expected_solver) {
    return Reject(report, "the certificate is signed by " + cert.solver.ToHex().substr(0, 16) +
                              ", not by the solver that claimed the job (" +
                              options.expected_solver->ToHex().substr(0, 16) + ")");
  }
  const uint64_t total = job::ResolvedSteps(spec, dataset.size());
  if (cert.total_steps != total || cert.checkpoint_interval != spec.checkpoint_interval) {
    return Reject(report, "the certificate covers " + std::to_string(cert.total_steps) + " steps with checkpoints every " +
                              std::to_string(cert.checkpoint_interval) + "; the job has " + std::to_string(total) +
                              " steps every " + std::to_string(spec.checkpoint_interval));
  }
  const job::ExecutionProfile& wanted = spec.profile;
  const job::ExecutionProfile& used = cert.environment.profile;
  // A repro job's bits do not depend on threads, ISA or BLAS
  // (docs/kernels.md), so neither the solver's nor this verifier's need to
  // match anything: those fields are not compared, and the replay runs with
  // this verifier's threads and kernels backend. Everything else is checked
  // as for any job (docs/certificates.md).
  const bool repro = wanted.kernels == job::Kernels::kRepro;
  const bool pinned_fields_match =
      used.threads == wanted.threads && used.aten_cpu_capability == wanted.aten_cpu_capability &&
      used.blas == wanted.blas &&
      (wanted.openblas_coretype.empty() || used.openblas_coretype == wanted.openblas_coretype);
  if (used.device != wanted.device || used.kernels != wanted.kernels || used.onednn != wanted.onednn ||
      (!repro && !pinned_fields_match)) {
    return Reject(report, "the certificate's execution profile is not the one the job requires");
  }
  if (!repro && options.threads != 0 && options.threads != wanted.threads) {
    return InvalidArgument("only a job with profile.kernels = \"repro\" can be replayed with another thread count");
  }
  if (options.threads > job::kThreadsMax) {
    return InvalidArgument("cannot replay with " + std::to_string(options.threads) + " threads (at most " +
                           std::to_string(job::kThreadsMax) + ")");
  }

  // Run under the certificate's environment, or say why we cannot.
  job::JobSpec replay_spec = spec;
  if (repro) {
    if (options.threads != 0) replay_spec.profile.threads = options.threads;
  } else {
    // OpenBLAS names cores in mixed case ("SkylakeX"); job specs spell them
    // in capitals, and ApplyProfile compares without case.
    replay_spec.profile.openblas_coretype = used.openblas_coretype;
    for (char& c : replay_spec.profile.openblas_coretype) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(options.checkpoint_dir));
  EngineOptions engine_options;
  engine_options.worker = options.worker;
  if (spec.evaluation.has_value() != (options.evaluation != nullptr)) {
    return InvalidArgument(spec.evaluation ? "the job names an evaluation set, but none was loaded"
                                           : "an evaluation set was given for a job without [evaluation]");
  }
  if (spec.evaluation.has_value() != cert.evaluation.has_value()) {
    return Reject(report, spec.evaluation ? "the job names an evaluation set, but the certificate reports no test "
                                            "loss and accuracy"
                                          : "the certificate reports a test accuracy for a job without [evaluation]");
  }
  CAIRN_ASSIGN_OR_RETURN(auto engine, StartEngine(replay_spec, dataset, options.evaluation, engine_options));
  const proof::Environment& local = engine->environment().applied;
  if (spec.verification.mode == job::VerificationMode::kExact &&
      (local.torch_version != cert.environment.torch_version)) {
    return FailedPrecondition("exact verification needs libtorch " + cert.environment.torch_version +
                              " as the solver used; this verifier has " + local.torch_version +
                              " (use tolerance mode or a matching build)");
  }
  if (spec.verification.mode == job::VerificationMode::kTolerance &&
      (spec.verification.l2_relative_max <= 0 || spec.verification.linf_max <= 0 ||
       spec.verification.cosine_distance_max <= 0)) {
    return FailedPrecondition("tolerance mode needs thresholds; profile them with `cairn verify --profile-tolerance`");
  }

  // Checkpoint 0 must be the job's initial state, computed here.
  CAIRN_ASSIGN_OR_RETURN(const Bytes initial, engine->InitialCheckpoint());
  if (proof::CheckpointHash(initial) != cert.checkpoint_hashes.front()) {
    return Reject(report, "checkpoint 0 is not the job's initial state (weights from the job seed or the weights file)");
  }
  auto initial_view = proof::DecodeCheckpoint(initial);
  CAIRN_RETURN_IF_ERROR(initial_view.status().WithContext("the verifier's own initial state"));

  // Every committed checkpoint must decode into this job's model, and every
  // signed update norm must be the distance between consecutive committed
  // checkpoints. This pass needs no training, and it is what makes top-Q
  // sampling safe: a solver cannot hide a segment from it by understating
  // its update norm (docs/certificates.md).
  {
    Committed previous, current;
    previous.view = *initial_view;
    for (uint32_t i = 1; i < cert.checkpoint_hashes.size(); ++i) {
      const proof::SegmentMetadata& seg = cert.segments[i - 1];
      std::string defect = LoadCommitted(store, cert, i, *initial_view, seg.end_step, &current);
      if (!defect.empty()) return Reject(report, defect);
      CAIRN_ASSIGN_OR_RETURN(double norm, proof::UpdateNorm(previous.view, current.view));
      if (norm != seg.update_norm) {
        // Named as a failed check of the segment, so that a node can dispute
        // it (the referee's segment ruling repeats this check).
        SegmentCheck check;
        check.segment = i - 1;
        check.start_step = seg.start_step;
        check.end_step = seg.end_step;
        check.detail = "the certificate's update_norm is " + Number(seg.update_norm) +
                       ", the committed checkpoints are " + Number(norm) + " apart";
        report.checks.push_back(check);
        return Reject(report, SegmentName(seg, i - 1) + ": " + check.detail);
      }
      if (i + 1 == cert.checkpoint_hashes.size()) {
        if (proof::ModelHash(current.view.model.encoded) != cert.final_model_hash) {
          return Reject(report, "the final model hash is not the hash of the last checkpoint's model state");
        }
        if (cert.evaluation) {
          // One forward pass over the evaluation set recomputes the claim.
          auto e = engine->Evaluate(current.view.model.encoded);
          if (!e.ok() && !IsCommittedStatesFault(e.status())) return e.status().WithContext("evaluating the final model");
          if (!e.ok()) return Reject(report, "the final model cannot be evaluated: " + e.status().message());
          if (std::string bad = CompareEvaluation(*cert.evaluation, *e, spec.verification); !bad.empty()) {
            return Reject(report, bad);
          }
        }
      }
      std::swap(previous, current);
    }
  }

  const Hash256 cert_hash = proof::CertificateHash(cert);
  if (options.all_segments) {
    for (uint32_t i = 0; i < cert.segments.size(); ++i) report.sampled.push_back(i);
  } else if (!options.segments.empty()) {
    for (uint32_t i : options.segments) {
      if (i >= cert.segments.size()) {
        return InvalidArgument("segment " + std::to_string(i) + " does not exist: the certificate has " +
                               std::to_string(cert.segments.size()));
      }
    }
    report.sampled = options.segments;
    std::sort(report.sampled.begin(), report.sampled.end());
    report.sampled.erase(std::unique(report.sampled.begin(), report.sampled.end()), report.sampled.end());
  } else {
    crypto::Signature sig = proof::SamplingSignature(*options.verifier_key, cert_hash);
    report.sampled = proof::SampleSegments(cert, sig, spec.verification.top_q, spec.verification.uniform);
    for (uint32_t i : options.required_segments) {
      if (i < cert.segments.size()) report.sampled.push_back(i);
    }
    std::erase_if(report.sampled, [&](uint32_t i) {
      return std::find(options.skipped_segments.begin(), options.skipped_segments.end(), i) !=
             options.skipped_segments.end();
    });
    std::sort(report.sampled.begin(), report.sampled.end());
    report.sampled.erase(std::unique(report.sampled.begin(), report.sampled.end()), report.sampled.end());
  }

  report.accepted = true;
  for (uint32_t i : report.sampled) {
    SegmentCheck check;
    CAIRN_RETURN_IF_ERROR(ReplaySegment(engine.get(), cert, store, spec.verification, i, &check, &report.steps_replayed));
    spdlog::debug("segment {}: {}", i, check.passed ? "ok" : check.detail);
    if (!check.passed && report.accepted) {
      report.accepted = false;
      report.reason = SegmentName(cert.segments[i], i) + ": " + check.detail;
    }
    report.checks.push_back(std::move(check));
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

Result<ToleranceProfile> ProfileToleranceUnguarded(const job::JobSpec& spec, const data::Dataset& dataset,
                                                   const proof::Certificate& cert, const std::string& checkpoint_dir,
                                                   const std::vector<uint32_t>& segments, const WorkerOptions& worker) {
  // Floors keep a bitwise-reproducible platform (distance 0) from producing
  // thresholds that reject the tiniest legitimate difference elsewhere.
  constexpr double kSafetyFactor = 10.0;
  constexpr double kL2RelativeFloor = 1e-6;
  constexpr double kLinfFloor = 1e-6;
  constexpr double kCosineFloor = 1e-9;
  ToleranceProfile out;
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(checkpoint_dir));
  job::VerificationSpec measure = spec.verification;
  measure.mode = job::VerificationMode::kTolerance;
  measure.l2_relative_max = measure.linf_max = measure.cosine_distance_max = INFINITY;
  for (uint32_t threads : {1u, 2u, 3u, 4u}) {
    if (threads == spec.profile.threads) continue;
    // The perturbation: another thread count splits reductions differently.
    job::JobSpec perturbed = spec;
    perturbed.profile.threads = threads;
    EngineOptions engine_options;
    engine_options.worker = worker;
    CAIRN_ASSIGN_OR_RETURN(auto engine, StartEngine(perturbed, dataset, nullptr, engine_options));
    for (uint32_t i : segments) {
      if (i >= cert.segments.size()) continue;
      SegmentCheck check;
      uint64_t replayed = 0;
      CAIRN_RETURN_IF_ERROR(ReplaySegment(engine.get(), cert, store, measure, i, &check, &replayed));
      if (!check.passed) return FailedPrecondition("cannot profile segment " + std::to_string(i) + ": " + check.detail);
      out.l2_relative_max = std::max({out.l2_relative_max, check.l2_relative, check.metadata_relative});
      out.linf_max = std::max(out.linf_max, check.linf);
      out.cosine_distance_max = std::max(out.cosine_distance_max, check.cosine_distance);
      out.observations.push_back(check);
    }
  }
  out.l2_relative_max = std::max(out.l2_relative_max * kSafetyFactor, kL2RelativeFloor);
  out.linf_max = std::max(out.linf_max * kSafetyFactor, kLinfFloor);
  out.cosine_distance_max = std::max(out.cosine_distance_max * kSafetyFactor, kCosineFloor);
  return out;
}

}  // namespace

Result<VerifyReport> VerifyJob(const job::JobSpec& spec, const data::Dataset& dataset, const proof::Certificate& cert,
                               const VerifyOptions& options) {
  return GuardTorch("verification", [&] { return VerifyJobUnguarded(spec, dataset, cert, options); });
}

Result<ToleranceProfile> ProfileTolerance(const job::JobSpec& spec, const data::Dataset& dataset,
                                          const proof::Certificate& cert, const std::string& checkpoint_dir,
                                          const std::vector<uint32_t>& segments, const WorkerOptions& worker) {
  return GuardTorch("tolerance profiling",
                    [&] { return ProfileToleranceUnguarded(spec, dataset, cert, checkpoint_dir, segments, worker); });
}

}  // namespace cairn::train
