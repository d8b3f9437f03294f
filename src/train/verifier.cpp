// The verifier: checks a certificate against its job, then replays sampled
// segments from the committed checkpoints and compares what it gets with
// what the solver committed (exact: hash equality; tolerance: distances).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "proof/checkpoint_store.h"
#include "train/session.h"
#include "train/snapshot.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

struct Distances {
  double l2_relative = 0;
  double linf = 0;
  double cosine_distance = 0;
};

Distances Compare(const std::vector<float>& replayed, const std::vector<float>& committed) {
  Distances d;
  if (replayed.size() != committed.size()) {
    d.l2_relative = d.linf = d.cosine_distance = INFINITY;
    return d;
  }
  double diff_sq = 0, ref_sq = 0, rep_sq = 0, dot = 0;
  for (size_t i = 0; i < replayed.size(); ++i) {
    const double a = replayed[i], b = committed[i];
    diff_sq += (a - b) * (a - b);
    ref_sq += b * b;
    rep_sq += a * a;
    dot += a * b;
    d.linf = std::max(d.linf, std::fabs(a - b));
  }
  d.l2_relative = std::sqrt(diff_sq) / std::max(std::sqrt(ref_sq), 1e-30);
  d.cosine_distance = 1.0 - dot / std::max(std::sqrt(ref_sq) * std::sqrt(rep_sq), 1e-30);
  return d;
}

// Rejections are reports, not errors: the verifier did its job.
VerifyReport Reject(VerifyReport report, std::string reason) {
  report.accepted = false;
  report.reason = std::move(reason);
  return report;
}

// Replays one segment and fills `check`. Returns a Status only when the
// verifier itself cannot proceed.
Status ReplaySegment(TrainingSession* session, const proof::Certificate& cert, const proof::CheckpointStore& store,
                     const job::VerificationSpec& verification, uint32_t i, SegmentCheck* check,
                     uint64_t* steps_replayed) {
  const proof::SegmentMetadata& seg = cert.segments[i];
  check->segment = i;
  check->start_step = seg.start_step;
  check->end_step = seg.end_step;
  auto start = store.Get(cert.checkpoint_hashes[i]);
  if (!start.ok()) {
    check->detail = "checkpoint " + std::to_string(i) + " is unavailable or damaged: " + start.status().message();
    return Status::Ok();
  }
  auto restored = session->Restore(*start);
  if (!restored.ok() || *restored != seg.start_step) {
    check->detail = "checkpoint " + std::to_string(i) + " does not hold the model at step " +
                    std::to_string(seg.start_step) +
                    (restored.ok() ? "" : std::string(": ") + restored.status().message());
    return Status::Ok();
  }
  SegmentAccumulator acc;
  CAIRN_RETURN_IF_ERROR(session->RunSteps(seg.start_step, seg.end_step, &acc, CheatHooks{}, nullptr));
  *steps_replayed += seg.end_step - seg.start_step;
  Bytes replayed = session->Snapshot(seg.end_step);
  const Hash256 replayed_hash = proof::CheckpointHash(replayed);
  const Hash256& committed_hash = cert.checkpoint_hashes[i + 1];

  // Exact mode only needs the committed checkpoint to explain a mismatch.
  if (verification.mode == job::VerificationMode::kExact && replayed_hash == committed_hash) {
    check->passed = true;
    return Status::Ok();
  }
  auto committed = store.Get(committed_hash);
  if (committed.ok()) {
    auto a = SnapshotWeights(replayed);
    auto b = SnapshotWeights(*committed);
    if (a.ok() && b.ok()) {
      Distances d = Compare(*a, *b);
      check->l2_relative = d.l2_relative;
      check->linf = d.linf;
      check->cosine_distance = d.cosine_distance;
    }
  }
  if (verification.mode == job::VerificationMode::kExact) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "replaying steps %llu..%llu gives checkpoint %s, the solver committed %s "
                  "(weights differ: relative L2 %.3g, max abs %.3g)",
                  static_cast<unsigned long long>(seg.start_step), static_cast<unsigned long long>(seg.end_step),
                  Short(replayed_hash).c_str(), Short(committed_hash).c_str(), check->l2_relative, check->linf);
    check->detail = buf;
    return Status::Ok();
  }
  if (!committed.ok()) {
    check->detail = "checkpoint " + std::to_string(i + 1) + " is unavailable or damaged: " + committed.status().message();
    return Status::Ok();
  }
  check->passed = check->l2_relative <= verification.l2_relative_max && check->linf <= verification.linf_max &&
                  check->cosine_distance <= verification.cosine_distance_max;
  if (!check->passed) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "replayed weights are too far from the committed ones: relative L2 %.3g (max %.3g), "
                  "max abs %.3g (max %.3g), cosine distance %.3g (max %.3g)",
                  check->l2_relative, verification.l2_relative_max, check->linf, verification.linf_max,
                  check->cosine_distance, verification.cosine_distance_max);
    check->detail = buf;
  }
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> VerifyJob(const job::JobSpec& spec, const data::Dataset& dataset,
                               const proof::Certificate& cert, const VerifyOptions& options) {
  CAIRN_ASSERT(options.verifier_key != nullptr);
  const auto started = Clock::now();
  VerifyReport report;
  const Hash256 job_id = job::JobId(spec);
  if (cert.job_id != job_id) {
    return Reject(report, "the certificate is for job " + Short(cert.job_id) + ", not this job (" + Short(job_id) + ")");
  }
  if (Status s = proof::CheckCertificate(cert); !s.ok()) return Reject(report, s.message());
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
  if (used.device != wanted.device || used.threads != wanted.threads ||
      used.aten_cpu_capability != wanted.aten_cpu_capability || used.blas != wanted.blas ||
      used.onednn != wanted.onednn ||
      (!wanted.openblas_coretype.empty() && used.openblas_coretype != wanted.openblas_coretype)) {
    return Reject(report, "the certificate's execution profile is not the one the job requires");
  }

  // Run under the certificate's environment, or say why we cannot.
  job::ExecutionProfile apply = wanted;
  apply.openblas_coretype = used.openblas_coretype;
  CAIRN_ASSIGN_OR_RETURN(proof::Environment local, ApplyProfile(apply));
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

  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(options.checkpoint_dir));
  CAIRN_ASSIGN_OR_RETURN(auto session, TrainingSession::Create(spec, dataset, total));

  const Hash256 cert_hash = proof::CertificateHash(cert);
  if (options.all_segments) {
    for (uint32_t i = 0; i < cert.segments.size(); ++i) report.sampled.push_back(i);
  } else {
    crypto::Signature sig = proof::SamplingSignature(*options.verifier_key, cert_hash);
    report.sampled = proof::SampleSegments(cert, sig, spec.verification.top_q, spec.verification.uniform);
  }

  // The initial checkpoint must be the job's initial state (computed here,
  // no download needed), and the final model must be the last checkpoint's
  // weights: checked on every run, sampled or not.
  if (proof::CheckpointHash(session->Snapshot(0)) != cert.checkpoint_hashes.front()) {
    return Reject(report, "checkpoint 0 is not the job's initial state (weights from the job seed or the weights file)");
  }
  auto last = store.Get(cert.checkpoint_hashes.back());
  if (!last.ok()) return Reject(report, "the final checkpoint is unavailable or damaged: " + last.status().message());
  CAIRN_RETURN_IF_ERROR(session->Restore(*last).status());
  if (ModelHash(session->Weights()) != cert.final_model_hash) {
    return Reject(report, "the final model hash is not the hash of the last checkpoint's weights");
  }

  report.accepted = true;
  for (uint32_t i : report.sampled) {
    SegmentCheck check;
    CAIRN_RETURN_IF_ERROR(ReplaySegment(session.get(), cert, store, spec.verification, i, &check, &report.steps_replayed));
    spdlog::debug("segment {}: {}", i, check.passed ? "ok" : check.detail);
    if (!check.passed && report.accepted) {
      report.accepted = false;
      report.reason = "segment " + std::to_string(i) + " (steps " + std::to_string(check.start_step) + ".." +
                      std::to_string(check.end_step) + "): " + check.detail;
    }
    report.checks.push_back(std::move(check));
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

Result<ToleranceProfile> ProfileTolerance(const job::JobSpec& spec, const data::Dataset& dataset,
                                          const proof::Certificate& cert, const std::string& checkpoint_dir,
                                          const std::vector<uint32_t>& segments) {
  // Floors keep a bitwise-reproducible platform (distance 0) from producing
  // thresholds that reject the tiniest legitimate difference elsewhere.
  constexpr double kSafetyFactor = 10.0;
  constexpr double kL2RelativeFloor = 1e-6;
  constexpr double kLinfFloor = 1e-6;
  constexpr double kCosineFloor = 1e-9;
  ToleranceProfile out;
  CAIRN_RETURN_IF_ERROR(ApplyProfile(spec.profile).status());
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(checkpoint_dir));
  const uint64_t total = job::ResolvedSteps(spec, dataset.size());
  CAIRN_ASSIGN_OR_RETURN(auto session, TrainingSession::Create(spec, dataset, total));
  job::VerificationSpec measure = spec.verification;
  measure.mode = job::VerificationMode::kTolerance;
  measure.l2_relative_max = measure.linf_max = measure.cosine_distance_max = INFINITY;
  const int base_threads = static_cast<int>(spec.profile.threads);
  for (int threads : {1, 2, 3, 4}) {
    if (threads == base_threads) continue;
    at::set_num_threads(threads);  // The perturbation: a different reduction split.
    for (uint32_t i : segments) {
      if (i >= cert.segments.size()) continue;
      SegmentCheck check;
      uint64_t replayed = 0;
      CAIRN_RETURN_IF_ERROR(ReplaySegment(session.get(), cert, store, measure, i, &check, &replayed));
      if (!check.detail.empty()) return FailedPrecondition("cannot profile segment " + std::to_string(i) + ": " + check.detail);
      out.l2_relative_max = std::max(out.l2_relative_max, check.l2_relative);
      out.linf_max = std::max(out.linf_max, check.linf);
      out.cosine_distance_max = std::max(out.cosine_distance_max, check.cosine_distance);
      out.observations.push_back(check);
    }
  }
  at::set_num_threads(base_threads);
  out.l2_relative_max = std::max(out.l2_relative_max * kSafetyFactor, kL2RelativeFloor);
  out.linf_max = std::max(out.linf_max * kSafetyFactor, kLinfFloor);
  out.cosine_distance_max = std::max(out.cosine_distance_max * kSafetyFactor, kCosineFloor);
  return out;
}

}  // namespace cairn::train
