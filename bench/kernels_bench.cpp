// Repro GEMM (kernels/) against OpenBLAS sgemm at the same thread count, on
// the shapes of the example jobs (configs/jobs/*.toml) and on squares.
//
// Usage: kernels_bench [--threads N]... [--json FILE] [--quick] [--filter TEXT]
// (--filter: only the shapes whose name contains TEXT)
// Prints one table per thread count (GFLOP/s of both and repro/OpenBLAS) and
// writes JSON (default bench-results/kernels.json). Ratios from one run on
// one machine are the figure to quote; absolute GFLOP/s depend on the host.
//
// OpenBLAS is linked directly (libopenblas.so.0 from libopenblas0-openmp, the
// package libtorch already uses); the three CBLAS entry points are declared
// here because Debian's default cblas.h is netlib's.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

extern "C" {
// CBLAS: CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int threads);
char* openblas_get_corename(void);
}

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
constexpr double kSecondsPerMeasurement = 0.25;
constexpr int kTrials = 5;

struct Shape {
  std::string name;
  int64_t m, n, k;
  bool transpose_a, transpose_b;
  int64_t batch = 1;
  // A B that is a view (the convolution's columns of several images side
  // by side): row stride and per-item offset; 0 means contiguous items.
  int64_t ldb = 0, b_batch_stride = 0;
};

std::string Dims(int64_t m, int64_t k, int64_t n) {
  return std::to_string(m) + "x" + std::to_string(k) + " * " + std::to_string(k) + "x" + std::to_string(n);
}

// The GEMMs kernels/conv.cpp runs for one layer: per group of
// ConvImagesPerGroup images, the forward pass is one GEMM over the group's
// columns side by side (small planes) or a batched GEMM over its images
// (B = their columns, C = their NCHW planes); dweight and dcol are single
// GEMMs whose k or n spans the group. Also the per-image GEMMs of the
// earlier code, labelled, as a comparison.
void AddConvShapes(std::vector<Shape>& s, const std::string& layer, const cairn::kernels::Conv2dShape& conv,
                   bool with_dcol) {
  const int64_t g = cairn::kernels::ConvImagesPerGroup(conv);
  const int64_t out = conv.out_channels, rows = conv.ColRows(), cols = conv.ColCols(), width = g * cols;
  const std::string group = std::to_string(g) + " images";
  if (cairn::kernels::ConvForwardIsOneGemmPerGroup(conv)) {
    s.push_back({layer + " fwd, " + group + " (" + Dims(out, rows, width) + ")", out, width, rows, false, false});
  } else {
    s.push_back({layer + " fwd, " + group + " (" + std::to_string(g) + " x " + Dims(out, rows, cols) + ")", out, cols,
                 rows, false, false, g, width, cols});
  }
  s.push_back({layer + " dW, " + group + " (" + Dims(out, width, rows) + "^T)", out, rows, width, false, true});
  if (with_dcol) {
    s.push_back({layer + " dcol, " + group + " (" + Dims(rows, out, width) + ")", rows, width, out, true, false});
  }
  s.push_back({layer + " fwd, per image (" + Dims(out, rows, cols) + ")", out, cols, rows, false, false});
  s.push_back({layer + " dW, per image (" + Dims(out, cols, rows) + "^T)", out, rows, cols, false, true});
}

// Where each shape comes from (batch sizes and widths of configs/jobs/):
// mlp.toml (batch 128, 784-256-128-10), cnn.toml (batch 64, 3x3 convs
// 1->32 on 28x28 and 32->64 on 14x14, pad 1, each pooled, head 3136->10),
// transformer.toml (batch 32, 28 tokens, d_model 32, ff 64, 2 heads).
std::vector<Shape> Shapes(bool quick) {
  std::vector<Shape> s = {
      {"mlp fc0 fwd  (128x784 * 784x256^T)", 128, 256, 784, false, true},
      {"mlp fc0 dW   (256x128 * 128x784)", 256, 784, 128, true, false},
      {"mlp fc1 fwd  (128x256 * 256x128^T)", 128, 128, 256, false, true},
      {"mlp fc1 dx   (128x128 * 128x256)", 128, 256, 128, false, false},
      {"mlp head fwd (128x128 * 128x10^T)", 128, 10, 128, false, true},
      {"mlp head dW  (10x128 * 128x128)", 10, 128, 128, true, false},
      {"mlp head dx  (128x10 * 10x128)", 128, 128, 10, false, false},
  };
  const cairn::kernels::Conv2dShape conv1{.batch = 64,
                                          .in_channels = 1,
                                          .height = 28,
                                          .width = 28,
                                          .out_channels = 32,
                                          .kernel_h = 3,
                                          .kernel_w = 3,
                                          .pad = 1};
  const cairn::kernels::Conv2dShape conv2{.batch = 64,
                                          .in_channels = 32,
                                          .height = 14,
                                          .width = 14,
                                          .out_channels = 64,
                                          .kernel_h = 3,
                                          .kernel_w = 3,
                                          .pad = 1};
  AddConvShapes(s, "cnn conv1", conv1, /*with_dcol=*/false);  // the first layer needs no dx
  AddConvShapes(s, "cnn conv2", conv2, /*with_dcol=*/true);
  const std::vector<Shape> rest = {
      {"cnn head fwd (64x3136 * 3136x10^T)", 64, 10, 3136, false, true},
      {"cnn head dW  (10x64 * 64x3136)", 10, 3136, 64, true, false},
      {"cnn head dx  (64x10 * 10x3136)", 64, 3136, 10, false, false},
      {"tfm qkv fwd  (896x32 * 32x96^T)", 896, 96, 32, false, true},
      {"tfm ff1 fwd  (896x32 * 32x64^T)", 896, 64, 32, false, true},
      {"tfm ff2 dW   (32x896 * 896x64)", 32, 64, 896, true, false},
      {"tfm q k^T    (64 x 28x16 * 16x28)", 28, 28, 16, false, true, 64},
      {"tfm p v      (64 x 28x28 * 28x16)", 28, 16, 28, false, false, 64},
  };
  s.insert(s.end(), rest.begin(), rest.end());
  for (int64_t n : {256, 512, 1024, 2048}) {
    if (quick && n > 512) continue;
    s.push_back({"square " + std::to_string(n), n, n, n, false, false});
  }
  return s;
}

// Seconds per call of one measurement: calls repeated for kSecondsPerMeasurement.
template <class Fn>
double SecondsPerCall(Fn& fn) {
  int64_t calls = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    fn();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < kSecondsPerMeasurement / kTrials);
  return elapsed / static_cast<double>(calls);
}

// Best seconds per call of a and of b, measured alternately (a, b, a, b, ...)
// so that both see the same load on a shared machine.
template <class A, class B>
std::pair<double, double> BestOfAlternating(A a, B b) {
  a();  // warm caches, page in buffers, start thread pools
  b();
  double best_a = 1e30, best_b = 1e30;
  for (int t = 0; t < kTrials; ++t) {
    best_a = std::min(best_a, SecondsPerCall(a));
    best_b = std::min(best_b, SecondsPerCall(b));
  }
  return {best_a, best_b};
}

struct Row {
  Shape shape;
  int threads;
  double repro_gflops, openblas_gflops;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace cairn::kernels;
  std::vector<int> thread_counts;
  std::string json_path = "bench-results/kernels.json";
  bool quick = false;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      thread_counts.push_back(std::atoi(argv[++i]));
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      std::fprintf(stderr, "usage: kernels_bench [--threads N]... [--json FILE] [--quick] [--filter TEXT]\n");
      return 2;
    }
  }
  if (thread_counts.empty()) thread_counts = {1, 2};

  cairn::Result<Exec> exec = DefaultExec(1);
  if (!exec.ok()) {
    std::fprintf(stderr, "kernels_bench: %s\n", exec.status().ToString().c_str());
    return 1;
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  std::printf("load average %.2f at start (a shared machine makes absolute figures noisy; compare ratios)\n", load);
  std::printf("repro backend %s (%s to force); OpenBLAS core %s (OPENBLAS_CORETYPE=%s)\n", BackendName(exec->backend),
              kBackendEnvVar, openblas_get_corename(), coretype ? coretype : "unset");

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<Row> rows;
  for (int threads : thread_counts) {
    exec->threads = threads;
    openblas_set_num_threads(threads);
    std::printf("\n== %d thread%s\n%-58s %10s %10s %8s\n", threads, threads == 1 ? "" : "s", "shape (m x k * k x n)",
                "repro", "openblas", "ratio");
    for (const Shape& s : Shapes(quick)) {
      if (s.name.find(filter) == std::string::npos) continue;
      std::vector<float> a(static_cast<size_t>(s.batch * s.m * s.k)), b(static_cast<size_t>(s.batch * s.k * s.n));
      std::vector<float> c(static_cast<size_t>(s.batch * s.m * s.n));
      for (auto& x : a) x = dist(rng);
      for (auto& x : b) x = dist(rng);
      GemmArgs g = MatMul(s.m, s.n, s.k, a.data(), s.transpose_a, b.data(), s.transpose_b, c.data());
      g.batch = s.batch;
      g.a_batch_stride = s.m * s.k;
      g.b_batch_stride = s.b_batch_stride > 0 ? s.b_batch_stride : s.k * s.n;
      g.c_batch_stride = s.m * s.n;
      if (s.ldb > 0) g.b_row_stride = s.ldb;  // B not transposed: its rows are ldb apart
      const int lda = static_cast<int>(s.transpose_a ? s.m : s.k);
      const int ldb = static_cast<int>(s.ldb > 0 ? s.ldb : (s.transpose_b ? s.k : s.n));
      auto repro_call = [&] { Gemm(*exec, g); };
      auto blas_call = [&] {
        for (int64_t t = 0; t < s.batch; ++t) {
          cblas_sgemm(kRowMajor, s.transpose_a ? kTrans : kNoTrans, s.transpose_b ? kTrans : kNoTrans,
                      static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f,
                      a.data() + t * s.m * s.k, lda, b.data() + t * g.b_batch_stride, ldb, 0.0f,
                      c.data() + t * s.m * s.n, static_cast<int>(s.n));
        }
      };
      const auto [repro, blas] = BestOfAlternating(repro_call, blas_call);
      const double flops = 2.0 * static_cast<double>(s.batch * s.m * s.n * s.k);
      Row row{s, threads, flops / repro * 1e-9, flops / blas * 1e-9};
      std::printf("%-58s %10.1f %10.1f %7.2fx\n", s.name.c_str(), row.repro_gflops, row.openblas_gflops,
                  row.repro_gflops / row.openblas_gflops);
      std::fflush(stdout);
      rows.push_back(row);
    }
  }

  const std::filesystem::path out_path(json_path);
  if (!out_path.parent_path().empty()) std::filesystem::create_directories(out_path.parent_path());
  std::ofstream out(json_path);
  out << "{\n  \"backend\": \"" << BackendName(exec->backend) << "\", \"openblas_core\": \"" << openblas_get_corename()
      << "\", \"openblas_coretype_env\": \"" << (coretype ? coretype : "") << "\", \"load_average_at_start\": " << load
      << ",\n  \"gemm\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "    {\"shape\": \"" << r.shape.name << "\", \"m\": " << r.shape.m << ", \"n\": " << r.shape.n
        << ", \"k\": " << r.shape.k << ", \"batch\": " << r.shape.batch << ", \"threads\": " << r.threads
        << ", \"repro_gflops\": " << r.repro_gflops << ", \"openblas_gflops\": " << r.openblas_gflops
        << ", \"ratio\": " << r.repro_gflops / r.openblas_gflops << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  std::printf("\nwrote %s\n", json_path.c_str());
  return 0;
}
