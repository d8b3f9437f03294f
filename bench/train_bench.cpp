// bench_train: the training engine's figures, side by side in one run.
//
//  1. Certificate overhead: steps/s of `cairn train` with checkpoints,
//     hashing, fsync and the certificate vs plain training of the same job
//     (Fashion-MNIST MLP and CNN). Runs alternate, best of N each.
//  2. Verification cost: verifier seconds / solver seconds for a sample that
//     detects a solver faking 10% of its segments with 99% probability.
//  3. Against PyTorch: the same MLP, data, batch and threads in Debian's
//     python3-torch (bench/pytorch_reference.py) vs cairn.
//
// Usage: bench_train [--json FILE] [--repeats N] [--quick]
// Prints a table and writes JSON (default bench-results/train.json).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <spdlog/spdlog.h>

#include "job/spec.h"
#include "proof/certificate.h"
#include "train/train.h"
#include "util/file.h"

namespace {

using namespace cairn;

struct Loaded {
  job::JobSpec spec;
  data::Dataset dataset;
};

Loaded Load(const std::string& path, uint64_t steps, uint32_t interval) {
  auto spec = job::LoadJobFile(path);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::exit(2);
  }
  spec->steps = steps;
  spec->epochs = 0;
  spec->checkpoint_interval = interval;
  spec->evaluation.reset();  // Training is what is measured.
  auto dataset = job::ResolveJobInputs(&*spec);
  if (!dataset.ok()) {
    std::fprintf(stderr, "%s\n", dataset.status().ToString().c_str());
    std::exit(2);
  }
  return {std::move(*spec), std::move(*dataset)};
}

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

double StepsPerSecond(const train::TrainResult& r) { return static_cast<double>(r.steps_run) / r.seconds; }

struct Overhead {
  std::string model;
  bool sandboxed = false;
  double startup_seconds = 0;  // Starting the worker (sandboxed runs).
  double plain_steps_per_second = 0;
  double certified_steps_per_second = 0;       // Whole run, end-of-run durability included.
  double certified_steady_steps_per_second = 0;  // Training loop only (what a long job sees).
  double finalize_seconds = 0;
  double overhead_percent = 0;
  double steady_overhead_percent = 0;
  uint64_t checkpoints = 0;
};

// Plain training (this process, no checkpoints) against certified training
// in this process or in the sandboxed worker, alternating, best of `repeats`.
Overhead MeasureOverhead(const std::string& name, const Loaded& job, const std::string& scratch, int repeats,
                         bool sandboxed) {
  crypto::KeyPair solver = Key(1);
  Overhead o;
  o.model = name;
  o.sandboxed = sandboxed;
  for (int i = 0; i < repeats; ++i) {
    train::TrainOptions plain;
    plain.plain = true;
    auto p = train::TrainJob(job.spec, job.dataset, plain);
    std::filesystem::remove_all(scratch);
    train::TrainOptions certified;
    certified.work_dir = scratch;
    certified.solver_key = &solver;
    certified.resume = false;
    certified.worker.isolated = sandboxed;
    certified.worker.binary = CAIRN_BINARY;
    auto c = train::TrainJob(job.spec, job.dataset, certified);
    if (!p.ok() || !c.ok()) {
      std::fprintf(stderr, "training failed: %s %s\n", p.status().ToString().c_str(), c.status().ToString().c_str());
      std::exit(1);
    }
    o.plain_steps_per_second = std::max(o.plain_steps_per_second, StepsPerSecond(*p));
    if (StepsPerSecond(*c) > o.certified_steps_per_second) {
      o.certified_steps_per_second = StepsPerSecond(*c);
      o.finalize_seconds = c->finalize_seconds;
    }
    const double loop_seconds = c->seconds - c->finalize_seconds - c->startup_seconds;
    if (c->steps_run / loop_seconds > o.certified_steady_steps_per_second) {
      o.certified_steady_steps_per_second = c->steps_run / loop_seconds;
      o.startup_seconds = c->startup_seconds;
    }
    o.checkpoints = c->certificate.checkpoint_hashes.size();
  }
  o.overhead_percent = 100.0 * (o.plain_steps_per_second / o.certified_steps_per_second - 1.0);
  o.steady_overhead_percent = 100.0 * (o.plain_steps_per_second / o.certified_steady_steps_per_second - 1.0);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // Keep the table readable.
  std::string json_path = "bench-results/train.json";
  int repeats = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--repeats" && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (a == "--quick") quick = true;
    else {
      std::fprintf(stderr, "usage: bench_train [--json FILE] [--repeats N] [--quick]\n");
      return 2;
    }
  }
  const std::string jobs = std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/";
  const std::string scratch = (std::filesystem::temp_directory_path() / "cairn-bench-train").string();
  const uint64_t mlp_steps = quick ? 300 : 6000;
  const uint64_t cnn_steps = quick ? 60 : 600;

  // 1. Certificate overhead.
  // About 120 and 60 checkpoints; --quick keeps the segment count (a sample
  // of at most half the segments, job/limits.h) with shorter segments.
  Loaded mlp = Load(jobs + "mlp.toml", mlp_steps, quick ? 10 : 50);
  Loaded cnn = Load(jobs + "cnn.toml", cnn_steps, quick ? 2 : 10);
  std::printf("== certificate overhead (best of %d, alternating)\n", repeats);
  std::vector<Overhead> overheads = {
      MeasureOverhead("mlp", mlp, scratch, repeats, /*sandboxed=*/false),
      MeasureOverhead("cnn", cnn, scratch, repeats, /*sandboxed=*/false),
      MeasureOverhead("mlp", mlp, scratch, repeats, /*sandboxed=*/true),
      MeasureOverhead("cnn", cnn, scratch, repeats, /*sandboxed=*/true)};
  for (const auto& o : overheads) {
    std::printf("  %-4s %-10s plain %7.1f steps/s | certified: training loop %7.1f steps/s (%+5.1f%%), whole run "
                "%7.1f steps/s (%+5.1f%%, of which %.2f s worker start-up, %.2f s end-of-run durability) | %llu "
                "checkpoints\n",
                o.model.c_str(), o.sandboxed ? "sandboxed" : "in-process", o.plain_steps_per_second,
                o.certified_steady_steps_per_second, o.steady_overhead_percent, o.certified_steps_per_second,
                o.overhead_percent, o.startup_seconds, o.finalize_seconds,
                static_cast<unsigned long long>(o.checkpoints));
  }

  // 2. Verification cost at 99% detection of 10% faked segments.
  const double faked = 0.10, detection = 0.99;
  const uint32_t sampled = static_cast<uint32_t>(std::ceil(std::log(1 - detection) / std::log(1 - faked)));
  const uint32_t interval = 10;
  const uint64_t verify_steps = quick ? 2000 : 10000;  // 1000 segments: the sample is a small share.
  Loaded vjob = Load(jobs + "mlp.toml", verify_steps, interval);
  vjob.spec.verification.top_q = 0;
  vjob.spec.verification.uniform = sampled;
  std::filesystem::remove_all(scratch);
  crypto::KeyPair solver = Key(1), verifier = Key(2);
  train::TrainOptions topts;
  topts.work_dir = scratch;
  topts.solver_key = &solver;
  topts.resume = false;
  topts.worker.binary = CAIRN_BINARY;
  auto solved = train::TrainJob(vjob.spec, vjob.dataset, topts);
  if (!solved.ok()) return std::fprintf(stderr, "%s\n", solved.status().ToString().c_str()), 1;
  train::VerifyOptions vopts;
  vopts.checkpoint_dir = scratch + "/checkpoints";
  vopts.verifier_key = &verifier;
  vopts.worker.binary = CAIRN_BINARY;
  auto verified = train::VerifyJob(vjob.spec, vjob.dataset, solved->certificate, vopts);
  if (!verified.ok() || !verified->accepted) {
    return std::fprintf(stderr, "verification failed: %s\n",
                        verified.ok() ? verified->reason.c_str() : verified.status().ToString().c_str()), 1;
  }
  const double verify_ratio = verified->seconds / solved->seconds;
  std::printf("== verification cost (detect 10%% faked segments with 99%%: %u of %zu segments)\n", sampled,
              solved->certificate.segments.size());
  std::printf("  solver %.2f s, verifier %.2f s (%llu steps replayed): verifier/solver = %.1f%%\n", solved->seconds,
              verified->seconds, static_cast<unsigned long long>(verified->steps_replayed), 100 * verify_ratio);
  std::filesystem::remove_all(scratch);

  // 3. Against PyTorch, same MLP, batch, threads.
  std::string cmd = "/usr/bin/python3 " + std::string(CAIRN_SOURCE_DIR) + "/bench/pytorch_reference.py --hidden 128 --batch " +
                    std::to_string(mlp.spec.batch_size) + " --steps " + std::to_string(mlp_steps) + " --threads " +
                    std::to_string(mlp.spec.profile.threads) + " --lr " + std::to_string(mlp.spec.optimizer.learning_rate);
  double python_steps_per_second = 0;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    char line[512] = {0};
    if (std::fgets(line, sizeof(line), pipe)) {
      const char* at = std::strstr(line, "\"steps_per_second\": ");
      if (at) python_steps_per_second = std::atof(at + 20);
    }
    ::pclose(pipe);
  }
  const double cairn_plain = overheads[0].plain_steps_per_second;
  const double cairn_certified = overheads[0].certified_steps_per_second;
  std::printf("== against PyTorch (MLP 784-128-10, batch %u, %u thread)\n", mlp.spec.batch_size, mlp.spec.profile.threads);
  if (python_steps_per_second > 0) {
    std::printf("  python3-torch %8.1f steps/s   cairn plain %8.1f (%.2fx)   cairn certified %8.1f (%.2fx)\n",
                python_steps_per_second, cairn_plain, cairn_plain / python_steps_per_second, cairn_certified,
                cairn_certified / python_steps_per_second);
  } else {
    std::printf("  python3-torch not available (install python3-torch); skipped\n");
  }

  std::filesystem::create_directories(std::filesystem::path(json_path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(json_path).parent_path());
  std::ofstream out(json_path);
  out << "{\n  \"certificate_overhead\": [";
  for (size_t i = 0; i < overheads.size(); ++i) {
    const auto& o = overheads[i];
    out << (i ? ", " : "") << "{\"model\": \"" << o.model << "\", \"sandboxed\": " << (o.sandboxed ? "true" : "false")
        << ", \"worker_startup_seconds\": " << o.startup_seconds
        << ", \"plain_steps_per_second\": " << o.plain_steps_per_second
        << ", \"certified_steps_per_second\": " << o.certified_steps_per_second
        << ", \"certified_training_loop_steps_per_second\": " << o.certified_steady_steps_per_second
        << ", \"overhead_percent\": " << o.overhead_percent << ", \"training_loop_overhead_percent\": "
        << o.steady_overhead_percent << ", \"finalize_seconds\": " << o.finalize_seconds
        << ", \"checkpoints\": " << o.checkpoints << "}";
  }
  out << "],\n  \"verification\": {\"faked_fraction\": " << faked << ", \"detection\": " << detection
      << ", \"sampled_segments\": " << sampled << ", \"segments\": " << solved->certificate.segments.size()
      << ", \"solver_seconds\": " << solved->seconds << ", \"verifier_seconds\": " << verified->seconds
      << ", \"verifier_over_solver\": " << verify_ratio << "},\n";
  out << "  \"against_pytorch\": {\"python_steps_per_second\": " << python_steps_per_second
      << ", \"cairn_plain_steps_per_second\": " << cairn_plain
      << ", \"cairn_certified_steps_per_second\": " << cairn_certified << ", \"speedup_plain\": "
      << (python_steps_per_second > 0 ? cairn_plain / python_steps_per_second : 0) << "}\n}\n";
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}
