// bench_train: the training engine's figures, side by side in one run.
//
//  1. Certificate overhead: steps/s of `cairn train` with checkpoints,
//     hashing, fsync and the certificate, in this process and in the
//     sandboxed worker, vs plain training of the same job (Fashion-MNIST MLP
//     and CNN, shorter runs of configs/jobs/mlp.toml and cnn.toml). Each
//     repetition runs plain, in-process, plain and sandboxed back to back, in
//     a rotating order, and the overhead is the median over repetitions of
//     each repetition's ratio: the machines are shared and noisy, and a ratio
//     of neighbouring runs cancels most of the drift in load. The two plain
//     runs of a repetition give the noise floor (identical runs differ by
//     this much), and CPU time (all threads and the worker) is reported
//     beside wall time.
//  2. Verification cost: verifier seconds / solver seconds for a sample that
//     detects a solver faking 10% of its segments with 99% probability.
//  3. Against PyTorch: the same MLP, data, batch and threads in Debian's
//     python3-torch (bench/pytorch_reference.py) vs cairn.
//
// Usage: bench_train [--json FILE] [--repeats N] [--quick] [--overhead-only]
// Prints a table and writes JSON (default bench-results/train.json).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/resource.h>

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
  // A shorter run of the same model keeps a warm-up shorter than itself.
  spec->schedule.warmup_steps = std::min(spec->schedule.warmup_steps, steps / 10);
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

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// CPU seconds used so far by this process and its reaped children (the
// sandboxed workers): user + system.
double CpuSeconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    struct rusage usage {};
    ::getrusage(who, &usage);
    total += usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  }
  return total;
}

// The 1-minute load average (other work on the machine), or -1.
double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

// One repetition of one configuration: a plain run and a certified one,
// back to back.
struct Pair {
  double plain_steps_per_second = 0;
  double certified_steps_per_second = 0;       // Whole run, start-up and end-of-run durability included.
  double certified_loop_steps_per_second = 0;  // Training loop only (what a long job sees).
  double startup_seconds = 0;
  double finalize_seconds = 0;
  double plain_cpu_seconds = 0;      // Of the whole run, all threads and the worker.
  double certified_cpu_seconds = 0;
  double plain_noise_percent = 0;    // One plain run over the other.
  double checkpoint_seconds = 0;     // TrainResult::checkpoint_seconds.
  double loop_seconds = 0;           // The certified run's training loop.
  uint64_t checkpoints = 0;
};

struct Overhead {
  std::string model;
  bool sandboxed = false;
  std::vector<Pair> pairs;
  // Medians over the pairs; the overheads are medians of each pair's ratio.
  double startup_seconds = 0;  // Starting the engine (the worker, for sandboxed runs).
  double plain_steps_per_second = 0;
  double certified_steps_per_second = 0;
  double certified_steady_steps_per_second = 0;
  double finalize_seconds = 0;
  double overhead_percent = 0;
  double steady_overhead_percent = 0;
  std::vector<double> overhead_percent_runs;
  std::vector<double> steady_overhead_percent_runs;
  // CPU time (all threads, the worker's too) of certified over plain: the
  // work certification adds, whatever thread does it. Far less sensitive
  // to other load than wall time.
  double cpu_overhead_percent = 0;
  std::vector<double> cpu_overhead_percent_runs;
  // Plain over plain: the median of its absolute value is the noise floor.
  double noise_percent = 0;
  std::vector<double> noise_percent_runs;
  // What the training loop spent on checkpoints (TrainResult::checkpoint_seconds), per
  // checkpoint and as a share of the loop: measured directly, not by difference.
  double checkpoint_ms = 0;
  double checkpoint_loop_percent = 0;
  uint64_t checkpoints = 0;

  void Summarize() {
    std::vector<double> plain, certified, loop, startup, finalize;
    overhead_percent_runs.clear();
    steady_overhead_percent_runs.clear();
    cpu_overhead_percent_runs.clear();
    noise_percent_runs.clear();
    std::vector<double> noise_magnitudes, checkpoint_ms_runs, checkpoint_share_runs;
    for (const Pair& p : pairs) {
      checkpoint_ms_runs.push_back(1000.0 * p.checkpoint_seconds / std::max<uint64_t>(1, p.checkpoints - 1));
      checkpoint_share_runs.push_back(100.0 * p.checkpoint_seconds / p.loop_seconds);
      noise_percent_runs.push_back(p.plain_noise_percent);
      noise_magnitudes.push_back(std::fabs(p.plain_noise_percent));
      cpu_overhead_percent_runs.push_back(100.0 * (p.certified_cpu_seconds / p.plain_cpu_seconds - 1.0));
      plain.push_back(p.plain_steps_per_second);
      certified.push_back(p.certified_steps_per_second);
      loop.push_back(p.certified_loop_steps_per_second);
      startup.push_back(p.startup_seconds);
      finalize.push_back(p.finalize_seconds);
      overhead_percent_runs.push_back(100.0 * (p.plain_steps_per_second / p.certified_steps_per_second - 1.0));
      steady_overhead_percent_runs.push_back(100.0 *
                                             (p.plain_steps_per_second / p.certified_loop_steps_per_second - 1.0));
      checkpoints = p.checkpoints;
    }
    plain_steps_per_second = Median(plain);
    certified_steps_per_second = Median(certified);
    certified_steady_steps_per_second = Median(loop);
    startup_seconds = Median(startup);
    finalize_seconds = Median(finalize);
    overhead_percent = Median(overhead_percent_runs);
    steady_overhead_percent = Median(steady_overhead_percent_runs);
    cpu_overhead_percent = Median(cpu_overhead_percent_runs);
    noise_percent = Median(noise_magnitudes);
    checkpoint_ms = Median(checkpoint_ms_runs);
    checkpoint_loop_percent = Median(checkpoint_share_runs);
  }
};

train::TrainResult MustTrain(const Loaded& job, const train::TrainOptions& options) {
  auto r = train::TrainJob(job.spec, job.dataset, options);
  if (!r.ok()) {
    std::fprintf(stderr, "training failed: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// One repetition for one model: two plain runs (this process, no
// checkpoints), one certified in this process and one certified in the
// sandboxed worker, alternating plain and certified, starting at `rotation`
// of that order so that no kind always runs first. The baseline of both
// certified runs is the geometric mean of the two plain ones, and the ratio
// of the two plain runs is the noise floor: what "overhead" identical runs
// show on this machine at this moment.
void MeasureRepetition(const Loaded& job, const std::string& scratch, int rotation, Overhead* in_process,
                       Overhead* sandboxed) {
  static const crypto::KeyPair solver = Key(1);
  double plain_steps_per_second[2] = {0, 0}, plain_cpu_seconds[2] = {0, 0};
  Pair in_process_pair, sandboxed_pair;
  // 0 and 2: plain; 1: certified in this process; 3: certified, sandboxed.
  for (int i = 0; i < 4; ++i) {
    const int kind = (rotation + i) % 4;
    const double cpu_before = CpuSeconds();
    if (kind == 0 || kind == 2) {
      train::TrainOptions plain;
      plain.plain = true;
      plain_steps_per_second[kind / 2] = StepsPerSecond(MustTrain(job, plain));
      plain_cpu_seconds[kind / 2] = CpuSeconds() - cpu_before;
      continue;
    }
    std::filesystem::remove_all(scratch);
    train::TrainOptions certified;
    certified.work_dir = scratch;
    certified.solver_key = &solver;
    certified.resume = false;
    certified.worker.isolated = kind == 3;
    certified.worker.binary = CAIRN_BINARY;
    const train::TrainResult c = MustTrain(job, certified);
    Pair& pair = kind == 3 ? sandboxed_pair : in_process_pair;
    pair.certified_steps_per_second = StepsPerSecond(c);
    pair.loop_seconds = c.seconds - c.finalize_seconds - c.startup_seconds;
    pair.certified_loop_steps_per_second = c.steps_run / pair.loop_seconds;
    pair.checkpoint_seconds = c.checkpoint_seconds;
    pair.startup_seconds = c.startup_seconds;
    pair.finalize_seconds = c.finalize_seconds;
    pair.checkpoints = c.certificate.checkpoint_hashes.size();
    pair.certified_cpu_seconds = CpuSeconds() - cpu_before;  // The worker was reaped when TrainJob returned.
  }
  std::filesystem::remove_all(scratch);
  for (Pair* pair : {&in_process_pair, &sandboxed_pair}) {
    pair->plain_steps_per_second = std::sqrt(plain_steps_per_second[0] * plain_steps_per_second[1]);
    pair->plain_cpu_seconds = std::sqrt(plain_cpu_seconds[0] * plain_cpu_seconds[1]);
    pair->plain_noise_percent = 100.0 * (plain_steps_per_second[0] / plain_steps_per_second[1] - 1.0);
  }
  in_process->pairs.push_back(in_process_pair);
  sandboxed->pairs.push_back(sandboxed_pair);
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // Keep the table readable.
  std::string json_path = "bench-results/train.json";
  int repeats = 5;
  bool quick = false;
  bool overhead_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (a == "--quick") quick = true;
    else if (a == "--overhead-only") overhead_only = true;
    else {
      std::fprintf(stderr, "usage: bench_train [--json FILE] [--repeats N] [--quick] [--overhead-only]\n");
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
  const double load_before = LoadAverage();
  std::printf("== certificate overhead (median of %d interleaved repetitions; load average %.2f at the start)\n",
              repeats, load_before);
  Overhead mlp_local, mlp_sandboxed, cnn_local, cnn_sandboxed;
  mlp_local.model = mlp_sandboxed.model = "mlp";
  cnn_local.model = cnn_sandboxed.model = "cnn";
  mlp_sandboxed.sandboxed = cnn_sandboxed.sandboxed = true;
  for (int r = 0; r < repeats; ++r) {
    MeasureRepetition(mlp, scratch, r, &mlp_local, &mlp_sandboxed);
    MeasureRepetition(cnn, scratch, r, &cnn_local, &cnn_sandboxed);
    for (Overhead* o : {&mlp_local, &cnn_local, &mlp_sandboxed, &cnn_sandboxed}) o->Summarize();
    std::printf("  repetition %d: whole run mlp %+5.1f%% / %+5.1f%% sandboxed, cnn %+5.1f%% / %+5.1f%% sandboxed; "
                "training loop mlp %+5.1f%% / %+5.1f%%, cnn %+5.1f%% / %+5.1f%%; cpu mlp %+5.1f%% / %+5.1f%%, "
                "cnn %+5.1f%% / %+5.1f%%; plain vs plain mlp %+5.1f%%, cnn %+5.1f%% (load %.2f)\n",
                r + 1, mlp_local.overhead_percent_runs.back(), mlp_sandboxed.overhead_percent_runs.back(),
                cnn_local.overhead_percent_runs.back(), cnn_sandboxed.overhead_percent_runs.back(),
                mlp_local.steady_overhead_percent_runs.back(), mlp_sandboxed.steady_overhead_percent_runs.back(),
                cnn_local.steady_overhead_percent_runs.back(), cnn_sandboxed.steady_overhead_percent_runs.back(),
                mlp_local.cpu_overhead_percent_runs.back(), mlp_sandboxed.cpu_overhead_percent_runs.back(),
                cnn_local.cpu_overhead_percent_runs.back(), cnn_sandboxed.cpu_overhead_percent_runs.back(),
                mlp_local.noise_percent_runs.back(), cnn_local.noise_percent_runs.back(), LoadAverage());
    std::fflush(stdout);
  }
  const double load_after = LoadAverage();
  const std::vector<Overhead> overheads = {mlp_local, cnn_local, mlp_sandboxed, cnn_sandboxed};
  for (const auto& o : overheads) {
    std::printf("  %-4s %-10s plain %7.1f steps/s | certified: training loop %7.1f steps/s (%+5.1f%%), whole run "
                "%7.1f steps/s (%+5.1f%%, of which %.2f s start-up, %.2f s end-of-run durability) | cpu %+5.1f%% | "
                "%llu checkpoints\n",
                o.model.c_str(), o.sandboxed ? "sandboxed" : "in-process", o.plain_steps_per_second,
                o.certified_steady_steps_per_second, o.steady_overhead_percent, o.certified_steps_per_second,
                o.overhead_percent, o.startup_seconds, o.finalize_seconds, o.cpu_overhead_percent,
                static_cast<unsigned long long>(o.checkpoints));
  }
  std::printf("  noise floor (median |plain/plain - 1|): mlp %.1f%%, cnn %.1f%%; load average %.2f at the end\n",
              mlp_local.noise_percent, cnn_local.noise_percent, load_after);
  std::printf("  the training loop on checkpoints (snapshot and hand-off, measured): in-process mlp %.2f ms each "
              "(%.2f%% of the loop), cnn %.2f ms (%.2f%%); sandboxed, the parent's hand-off only: mlp %.2f ms, cnn "
              "%.2f ms\n",
              mlp_local.checkpoint_ms, mlp_local.checkpoint_loop_percent, cnn_local.checkpoint_ms,
              cnn_local.checkpoint_loop_percent, mlp_sandboxed.checkpoint_ms, cnn_sandboxed.checkpoint_ms);

  auto write_json = [&](const std::string& rest) {
    std::filesystem::create_directories(std::filesystem::path(json_path).parent_path().empty()
                                            ? std::filesystem::path(".")
                                            : std::filesystem::path(json_path).parent_path());
    std::ofstream out(json_path);
    auto list = [](const std::vector<double>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    };
    out << "{\n  \"certificate_overhead_method\": {\"repeats\": " << repeats
        << ", \"statistic\": \"median over interleaved repetitions of plain/certified steps per second - 1; plain is the geometric mean of two plain runs, whose ratio is the noise floor\""
        << ", \"load_average_before\": " << load_before << ", \"load_average_after\": " << load_after << "},\n";
    out << "  \"certificate_overhead\": [";
    for (size_t i = 0; i < overheads.size(); ++i) {
      const auto& o = overheads[i];
      out << (i ? ", " : "") << "{\"model\": \"" << o.model << "\", \"sandboxed\": " << (o.sandboxed ? "true" : "false")
          << ", \"startup_seconds\": " << o.startup_seconds
          << ", \"plain_steps_per_second\": " << o.plain_steps_per_second
          << ", \"certified_steps_per_second\": " << o.certified_steps_per_second
          << ", \"certified_training_loop_steps_per_second\": " << o.certified_steady_steps_per_second
          << ", \"overhead_percent\": " << o.overhead_percent << ", \"training_loop_overhead_percent\": "
          << o.steady_overhead_percent << ", \"overhead_percent_runs\": " << list(o.overhead_percent_runs)
          << ", \"training_loop_overhead_percent_runs\": " << list(o.steady_overhead_percent_runs)
          << ", \"cpu_overhead_percent\": " << o.cpu_overhead_percent
          << ", \"cpu_overhead_percent_runs\": " << list(o.cpu_overhead_percent_runs)
          << ", \"plain_vs_plain_percent_runs\": " << list(o.noise_percent_runs)
          << ", \"noise_floor_percent\": " << o.noise_percent
          << ", \"checkpoint_milliseconds\": " << o.checkpoint_ms
          << ", \"checkpoint_training_loop_percent\": " << o.checkpoint_loop_percent
          << ", \"finalize_seconds\": " << o.finalize_seconds << ", \"checkpoints\": " << o.checkpoints << "}";
    }
    out << "]" << rest << "\n}\n";
    std::printf("wrote %s\n", json_path.c_str());
  };
  if (overhead_only) {
    write_json("");
    return 0;
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

  std::ostringstream rest;
  rest << ",\n  \"verification\": {\"faked_fraction\": " << faked << ", \"detection\": " << detection
       << ", \"sampled_segments\": " << sampled << ", \"segments\": " << solved->certificate.segments.size()
       << ", \"solver_seconds\": " << solved->seconds << ", \"verifier_seconds\": " << verified->seconds
       << ", \"verifier_over_solver\": " << verify_ratio << "},\n";
  rest << "  \"against_pytorch\": {\"python_steps_per_second\": " << python_steps_per_second
       << ", \"cairn_plain_steps_per_second\": " << cairn_plain
       << ", \"cairn_certified_steps_per_second\": " << cairn_certified << ", \"speedup_plain\": "
       << (python_steps_per_second > 0 ? cairn_plain / python_steps_per_second : 0) << "}";
  write_json(rest.str());
  return 0;
}
