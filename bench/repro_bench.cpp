// bench_repro: training speed with profile.kernels = "repro" against ATen,
// side by side in one run, for the example jobs (configs/jobs/mlp.toml,
// cnn.toml, transformer.toml: their models, batches and optimizers, shorter
// runs). Plain training in this process (no checkpoints), so only the
// kernels differ. Each repetition runs aten then repro (or repro then aten,
// alternating), and the figure is the median over repetitions of each
// repetition's ratio: the machine is shared and noisy, and neighbouring runs
// see about the same load.
//
// The repro backend is the best this CPU has, or CAIRN_KERNELS_BACKEND's;
// ATen uses the job profile's ATen capability and the BLAS libtorch loaded
// (OPENBLAS_CORETYPE decides OpenBLAS's kernels). Both are printed and
// recorded. Ratios by wall time and by CPU time (all threads of this
// process) are printed side by side: with other jobs on the machine the CPU
// time is the steadier figure. The GEMM against OpenBLAS alone is
// bench/kernels_bench.cpp.
//
// Usage: bench_repro [--threads N] [--repeats N] [--quick] [--json FILE]
// Prints a table and writes JSON (default bench-results/repro.json).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "job/spec.h"
#include "kernels/backend.h"
#include "train/train.h"

namespace {

using namespace cairn;

struct Loaded {
  std::string name;
  job::JobSpec spec;
  data::Dataset dataset;
};

Loaded Load(const std::string& name, uint64_t steps, uint32_t threads) {
  const std::string path = std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/" + name + ".toml";
  auto spec = job::LoadJobFile(path);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::exit(2);
  }
  spec->steps = steps;
  spec->epochs = 0;
  spec->checkpoint_interval = static_cast<uint32_t>(steps);
  spec->schedule.warmup_steps = std::min(spec->schedule.warmup_steps, steps / 10);
  spec->profile.threads = threads;
  spec->evaluation.reset();  // Training is what is measured.
  auto dataset = job::ResolveJobInputs(&*spec);
  if (!dataset.ok()) {
    std::fprintf(stderr, "%s\n", dataset.status().ToString().c_str());
    std::exit(2);
  }
  return {name, std::move(*spec), std::move(*dataset)};
}

// The same job with the other kernels (the ATen fields at their defaults
// for repro, as validation requires; the examples use the defaults anyway).
job::JobSpec WithKernels(job::JobSpec spec, job::Kernels kernels) {
  spec.profile.kernels = kernels;
  if (kernels == job::Kernels::kRepro) {
    const job::ExecutionProfile defaults;
    spec.profile.aten_cpu_capability = defaults.aten_cpu_capability;
    spec.profile.blas = defaults.blas;
    spec.profile.openblas_coretype = defaults.openblas_coretype;
    spec.profile.onednn = defaults.onednn;
  }
  return spec;
}

// CPU seconds this process has used (all its threads): user + system.
double CpuSeconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

struct Rate {
  double steps_per_second = 0;      // Wall time.
  double steps_per_cpu_second = 0;  // CPU time: what other load on the machine changes least.
};

Rate PlainRate(const job::JobSpec& spec, const data::Dataset& dataset) {
  train::TrainOptions plain;
  plain.plain = true;
  const double cpu_before = CpuSeconds();
  auto r = train::TrainJob(spec, dataset, plain);
  const double cpu = CpuSeconds() - cpu_before;
  if (!r.ok()) {
    std::fprintf(stderr, "training failed: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  const double steps = static_cast<double>(r->steps_run);
  return {steps / r->seconds, steps / cpu};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

struct Row {
  std::string model;
  uint64_t steps = 0;
  double aten_steps_per_second = 0;  // Medians over repetitions.
  double repro_steps_per_second = 0;
  double ratio = 0;  // Median of each repetition's repro / aten.
  std::vector<double> ratios;
  double cpu_ratio = 0;  // The same by steps per CPU second.
  std::vector<double> cpu_ratios;
};

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::string json_path = "bench-results/repro.json";
  int repeats = 5;
  uint32_t threads = 1;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<uint32_t>(std::max(1, std::atoi(argv[++i])));
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: bench_repro [--threads N] [--repeats N] [--quick] [--json FILE]\n");
      return 2;
    }
  }
  if (quick) repeats = std::min(repeats, 2);
  auto backend = kernels::SelectBackend();
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.status().ToString().c_str());
    return 2;
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  const double load_before = LoadAverage();

  // Steps per run: a few seconds each on one core.
  const std::vector<std::pair<std::string, uint64_t>> jobs = {
      {"mlp", quick ? 300 : 1500}, {"cnn", quick ? 40 : 200}, {"transformer", quick ? 100 : 400}};
  std::vector<Row> rows;
  std::string device;
  for (const auto& [name, steps] : jobs) {
    const Loaded job = Load(name, steps, threads);
    const job::JobSpec aten = WithKernels(job.spec, job::Kernels::kAten);
    const job::JobSpec repro = WithKernels(job.spec, job::Kernels::kRepro);
    Row row;
    row.model = name;
    row.steps = steps;
    std::vector<double> aten_rates, repro_rates;
    // One warm-up of each (first-touch allocation, the kernels' thread pool).
    PlainRate(aten, job.dataset);
    PlainRate(repro, job.dataset);
    if (device.empty()) device = train::DescribeDevice();
    for (int r = 0; r < repeats; ++r) {
      Rate a, b;
      if (r % 2 == 0) {
        a = PlainRate(aten, job.dataset);
        b = PlainRate(repro, job.dataset);
      } else {
        b = PlainRate(repro, job.dataset);
        a = PlainRate(aten, job.dataset);
      }
      aten_rates.push_back(a.steps_per_second);
      repro_rates.push_back(b.steps_per_second);
      row.ratios.push_back(b.steps_per_second / a.steps_per_second);
      row.cpu_ratios.push_back(b.steps_per_cpu_second / a.steps_per_cpu_second);
    }
    row.aten_steps_per_second = Median(aten_rates);
    row.repro_steps_per_second = Median(repro_rates);
    row.ratio = Median(row.ratios);
    row.cpu_ratio = Median(row.cpu_ratios);
    rows.push_back(row);
    std::fprintf(stderr, "  %s done\n", name.c_str());
  }
  const double load_after = LoadAverage();

  std::printf(
      "repro kernels (%s backend) vs ATen (%s), %u thread(s), OPENBLAS_CORETYPE=%s, %d repetitions, "
      "load average %.2f -> %.2f\n\n",
      kernels::BackendName(*backend), device.c_str(), threads, coretype ? coretype : "(unset)", repeats, load_before,
      load_after);
  std::printf("%-12s %6s %13s %14s %11s %15s   %s\n", "example", "steps", "aten steps/s", "repro steps/s", "repro/aten",
              "by CPU time", "per repetition (wall)");
  for (const Row& row : rows) {
    std::string each;
    for (double v : row.ratios) each += (each.empty() ? "" : " ") + std::to_string(v).substr(0, 4);
    std::printf("%-12s %6llu %13.1f %14.1f %11.2f %15.2f   %s\n", row.model.c_str(),
                static_cast<unsigned long long>(row.steps), row.aten_steps_per_second, row.repro_steps_per_second,
                row.ratio, row.cpu_ratio, each.c_str());
  }

  const std::filesystem::path out_path(json_path);
  if (out_path.has_parent_path()) std::filesystem::create_directories(out_path.parent_path());
  std::ofstream out(json_path);
  out << "{\n  \"backend\": \"" << kernels::BackendName(*backend) << "\",\n  \"aten_device\": \"" << device
      << "\",\n  \"threads\": " << threads << ",\n  \"openblas_coretype\": \"" << (coretype ? coretype : "")
      << "\",\n  \"repeats\": " << repeats << ",\n  \"load_average_before\": " << load_before
      << ",\n  \"load_average_after\": " << load_after << ",\n  \"examples\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    out << "    {\"model\": \"" << row.model << "\", \"steps\": " << row.steps
        << ", \"aten_steps_per_second\": " << row.aten_steps_per_second
        << ", \"repro_steps_per_second\": " << row.repro_steps_per_second << ", \"repro_over_aten\": " << row.ratio
        << ", \"repro_over_aten_cpu\": " << row.cpu_ratio << ", \"repro_over_aten_runs\": [";
    for (size_t j = 0; j < row.ratios.size(); ++j) out << (j ? ", " : "") << row.ratios[j];
    out << "], \"repro_over_aten_cpu_runs\": [";
    for (size_t j = 0; j < row.cpu_ratios.size(); ++j) out << (j ? ", " : "") << row.cpu_ratios[j];
    out << "]}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  std::printf("\nwrote %s\n", json_path.c_str());
  return 0;
}
