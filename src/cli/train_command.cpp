// `cairn train`, `cairn verify`, `cairn job estimate|id`: the local solver and
// verifier, and what a submitter checks before posting a job.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/app.h"
#include "cli/job_loading.h"
#include "cli/progress.h"
#include "crypto/keys.h"
#include "job/spec.h"
#include "proof/certificate.h"
#include "train/engine.h"
#include "train/train.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

std::string Bytes2(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / double(1ull << 30));
  else if (bytes >= (1ull << 20)) std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / double(1ull << 20));
  else std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  return buf;
}

int Estimate(const std::string& path) {
  auto loaded = LoadJob(path);
  if (!loaded.ok()) return ReportInputError(loaded.status());
  // The model is built in the sandboxed worker: loading a TorchScript
  // module may run the submitter's code.
  train::WorkerOptions worker;
  worker.isolated = true;
  auto e = train::EstimateJob(loaded->spec, loaded->dataset, worker);
  if (!e.ok()) return ReportError(e.status());
  std::printf("job %s  (%s)\n", job::JobId(loaded->spec).ToHex().c_str(), loaded->spec.name.c_str());
  std::printf("  dataset          %zu examples, %u classes\n", loaded->dataset.size(), loaded->dataset.num_classes);
  std::printf("  model            %s, %llu parameters\n", job::ModelKindName(loaded->spec.model.kind).c_str(),
              static_cast<unsigned long long>(e->parameters));
  std::printf("  steps            %llu (batch %u)\n", static_cast<unsigned long long>(e->steps), loaded->spec.batch_size);
  std::printf("  FLOPs per step   %.3g (forward + backward + update, approximate)\n", e->flops_per_step);
  std::printf("  FLOPs in total   %.3g\n", e->flops_per_step * static_cast<double>(e->steps));
  std::printf("  checkpoints      %llu every %u steps, %s each\n", static_cast<unsigned long long>(e->checkpoints),
              loaded->spec.checkpoint_interval, Bytes2(e->checkpoint_bytes).c_str());
  std::printf("  storage          %s of checkpoints\n", Bytes2(e->storage_bytes).c_str());
  return kExitOk;
}

int JobId(const std::string& path) {
  auto loaded = LoadJob(path);
  if (!loaded.ok()) return ReportInputError(loaded.status());
  std::printf("%s\n", job::JobId(loaded->spec).ToHex().c_str());
  return kExitOk;
}

struct TrainArgs {
  std::string job;
  std::string data_dir;
  std::string key;
  bool no_resume = false;
};

int Train(const TrainArgs& args) {
  auto key = crypto::ReadKeyFile(args.key);
  if (!key.ok()) return ReportError(key.status());
  auto loaded = LoadJob(args.job);
  if (!loaded.ok()) return ReportInputError(loaded.status());
  train::TrainOptions options;
  options.work_dir = args.data_dir;
  options.solver_key = &*key;
  options.resume = !args.no_resume;
  ProgressReporter progress("train");
  options.on_progress = [&](const train::Progress& p) { progress.Update(p); };
  options.evaluation = loaded->evaluation ? &*loaded->evaluation : nullptr;
  auto result = train::TrainJob(loaded->spec, loaded->dataset, options);
  if (!result.ok()) {
    const StatusCode code = result.status().code();
    std::fprintf(stderr, "\n");
    ReportError(result.status());
    return code == StatusCode::kInvalidArgument || code == StatusCode::kNotFound ? kExitUsage : kExitFailure;
  }
  const proof::Certificate& c = result->certificate;
  std::printf("trained job %s: %llu steps in %.1f s (%.0f steps/s), final loss %.4f%s\n",
              c.job_id.ToHex().c_str(), static_cast<unsigned long long>(c.total_steps), result->seconds,
              result->steps_run / std::max(result->seconds, 1e-9), result->final_loss,
              result->resumed_from_step ? (", resumed at step " + std::to_string(result->resumed_from_step)).c_str() : "");
  std::printf("certificate      %s\n", result->certificate_path.c_str());
  std::printf("certificate hash %s\n", proof::CertificateHash(c).ToHex().c_str());
  std::printf("checkpoint root  %s (%zu checkpoints)\n", c.checkpoint_root.ToHex().c_str(), c.checkpoint_hashes.size());
  std::printf("final model      %s\n", c.final_model_hash.ToHex().c_str());
  if (c.evaluation) {
    std::printf("test accuracy    %.4f (%llu of %llu), test loss %.4f (signed in the certificate)\n", c.evaluation->accuracy,
                static_cast<unsigned long long>(c.evaluation->correct),
                static_cast<unsigned long long>(c.evaluation->examples), c.evaluation->loss);
  }
  std::printf("environment      libtorch %s, %u thread(s), ATen %s, %s %s, oneDNN %s\n",
              c.environment.torch_version.c_str(), c.environment.profile.threads,
              c.environment.profile.aten_cpu_capability.c_str(), c.environment.profile.blas.c_str(),
              c.environment.profile.openblas_coretype.c_str(), c.environment.profile.onednn ? "on" : "off");
  return kExitOk;
}

struct VerifyArgs {
  std::string job;
  std::string certificate;
  std::string checkpoints;
  std::string key;
  std::string solver;
  bool all = false;
  bool profile_tolerance = false;
  uint32_t threads = 0;
};

int Verify(const VerifyArgs& args) {
  auto key = crypto::ReadKeyFile(args.key);
  if (!key.ok()) return ReportError(key.status());
  auto loaded = LoadJob(args.job);
  if (!loaded.ok()) return ReportInputError(loaded.status());
  auto raw = util::ReadFile(args.certificate, proof::kCertificateBytesMax);
  if (!raw.ok()) return ReportInputError(raw.status());
  auto cert = proof::DecodeCertificate(*raw);
  if (!cert.ok()) return ReportInputError(InvalidArgument(args.certificate + ": " + cert.status().message()));

  if (args.profile_tolerance) {
    std::vector<uint32_t> segments;
    for (uint32_t i = 0; i < cert->segments.size() && segments.size() < 3; ++i) segments.push_back(i);
    auto profile = train::ProfileTolerance(loaded->spec, loaded->dataset, *cert, args.checkpoints, segments);
    if (!profile.ok()) return ReportInputError(profile.status());
    for (const auto& o : profile->observations) {
      std::printf("segment %u: relative L2 %.3g, max abs %.3g, cosine distance %.3g\n", o.segment, o.l2_relative,
                  o.linf, o.cosine_distance);
    }
    std::printf("\n# Thresholds for tolerance mode (10x the largest difference seen across thread counts):\n");
    std::printf("[verification]\nmode = \"tolerance\"\nl2_relative_max = %.3g\nlinf_max = %.3g\ncosine_distance_max = %.3g\n",
                profile->l2_relative_max, profile->linf_max, profile->cosine_distance_max);
    return kExitOk;
  }

  train::VerifyOptions options;
  options.checkpoint_dir = args.checkpoints;
  options.verifier_key = &*key;
  options.all_segments = args.all;
  options.threads = args.threads;
  if (!args.solver.empty()) {
    auto solver = crypto::PublicKey::FromHex(args.solver);
    if (!solver.ok()) return ReportError(InvalidArgument("--solver: " + solver.status().message()));
    options.expected_solver = *solver;
  }
  options.evaluation = loaded->evaluation ? &*loaded->evaluation : nullptr;
  auto report = train::VerifyJob(loaded->spec, loaded->dataset, *cert, options);
  // No verdict (missing files, a profile this machine cannot apply): exit 2, never 1.
  if (!report.ok()) return ReportInputError(report.status());
  for (const auto& c : report->checks) {
    std::printf("segment %4u  steps %6llu..%-6llu  %s", c.segment, static_cast<unsigned long long>(c.start_step),
                static_cast<unsigned long long>(c.end_step), c.passed ? "ok      " : "MISMATCH");
    if (loaded->spec.verification.mode == job::VerificationMode::kTolerance || !c.passed) {
      std::printf("  rel-L2 %.3g  max-abs %.3g  cos-dist %.3g", c.l2_relative, c.linf, c.cosine_distance);
    }
    std::printf("\n");
  }
  std::printf("replayed %llu of %llu steps (%zu of %zu segments) in %.1f s\n",
              static_cast<unsigned long long>(report->steps_replayed),
              static_cast<unsigned long long>(cert->total_steps), report->checks.size(), cert->segments.size(),
              report->seconds);
  if (report->accepted) {
    std::printf("ACCEPT: certificate %s\n", proof::CertificateHash(*cert).ToHex().c_str());
    return kExitOk;
  }
  std::printf("REJECT: %s\n", report->reason.c_str());
  return kExitFailure;
}

}  // namespace

void RegisterTrainCommands(CLI::App* app, Command* command) {
  CLI::App* job_cmd = app->add_subcommand("job", "Inspect training job files");
  job_cmd->require_subcommand(1);
  auto estimate_path = std::make_shared<std::string>();
  CLI::App* estimate = job_cmd->add_subcommand("estimate", "Print steps, FLOPs per step and checkpoint storage of a job");
  estimate->add_option("file", *estimate_path, "Job file (TOML)")->required();
  estimate->callback([command, estimate_path] { command->action = [estimate_path] { return Estimate(*estimate_path); }; });
  auto id_path = std::make_shared<std::string>();
  CLI::App* id = job_cmd->add_subcommand("id", "Print a job's id (the hash of its canonical spec)");
  id->add_option("file", *id_path, "Job file (TOML)")->required();
  id->callback([command, id_path] { command->action = [id_path] { return JobId(*id_path); }; });

  auto train_args = std::make_shared<TrainArgs>();
  CLI::App* train_cmd = app->add_subcommand("train", "Train a job locally and write its signed certificate (the solver)");
  train_cmd->add_option("job", train_args->job, "Job file (TOML)")->required();
  train_cmd->add_option("--data", train_args->data_dir, "Work directory for checkpoints and certificates")->required();
  train_cmd->add_option("--key", train_args->key, "Solver key file (cairn keys new)")->required();
  train_cmd->add_flag("--no-resume", train_args->no_resume, "Start over even if an earlier run left checkpoints");
  train_cmd->callback([command, train_args] { command->action = [train_args] { return Train(*train_args); }; });

  // The sandboxed training worker the node starts for every job
  // (docs/sandbox.md); hidden from --help, useless by hand.
  CLI::App* worker = app->add_subcommand("worker", "Run as a sandboxed training worker (started by cairn itself)");
  worker->group("");
  worker->callback([command] { command->action = [] { return train::RunWorker(); }; });

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = app->add_subcommand(
      "verify", "Check a certificate by replaying sampled segments (exit 0 accept, 1 reject, 2 input error)");
  verify->add_option("job", verify_args->job, "Job file (TOML)")->required();
  verify->add_option("--certificate", verify_args->certificate, "Certificate file")->required();
  verify->add_option("--checkpoints", verify_args->checkpoints, "Directory of the solver's checkpoints")->required();
  verify->add_option("--key", verify_args->key, "Verifier key file (its signature seeds the sample)")->required();
  verify->add_option("--solver", verify_args->solver, "Public key the certificate must be signed by");
  verify->add_flag("--all", verify_args->all, "Replay every segment instead of a sample");
  verify->add_option("--threads", verify_args->threads,
                     "Replay threads for a kernels = \"repro\" job (its bits do not depend on them); default: the job's")
      ->check(CLI::Range(1, 1024));
  verify->add_flag("--profile-tolerance", verify_args->profile_tolerance,
                   "Measure tolerance-mode thresholds by replaying segments under other thread counts");
  verify->callback([command, verify_args] { command->action = [verify_args] { return Verify(*verify_args); }; });
}

}  // namespace cairn::cli
