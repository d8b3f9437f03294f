// Execution profiles: pinning what changes floating-point results.
#include <dlfcn.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <mutex>

#include "kernels/backend.h"
#include "train/torch_error.h"
#include "train/train.h"

namespace cairn::train {
namespace {

// The BLAS shared object this process loaded (libtorch links libblas.so.3,
// which Debian's alternatives point at OpenBLAS or the reference BLAS).
std::string LoadedBlasLibrary() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::string found;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("openblas") != std::string::npos || path.find("libblas") != std::string::npos ||
        path.find("libmkl") != std::string::npos) {
      found = path;
      if (path.find("openblas") != std::string::npos) break;
    }
  }
  return found;
}

std::string OpenBlasCoreName() {
  using CoreNameFn = char* (*)();
  auto fn = reinterpret_cast<CoreNameFn>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return "";
  const char* name = fn();
  return name ? name : "";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

namespace {

Result<proof::Environment> ApplyProfileUnguarded(const job::ExecutionProfile& profile) {
  proof::Environment env;
  env.profile = profile;
  env.torch_version = TORCH_VERSION;

  // ATen reads ATEN_CPU_CAPABILITY once, at its first vectorized kernel, so
  // this must run before any tensor work in the process (the CLI guarantees
  // it; a second, different profile in one process is refused).
  static std::mutex mu;
  static std::string applied_capability;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!applied_capability.empty() && applied_capability != profile.aten_cpu_capability) {
      return FailedPrecondition("this process already runs ATen with CPU capability " + applied_capability +
                                "; a job asking for " + profile.aten_cpu_capability + " needs a new process");
    }
    const char* current = std::getenv("ATEN_CPU_CAPABILITY");
    if (applied_capability.empty() && (current == nullptr || profile.aten_cpu_capability != current)) {
      ::setenv("ATEN_CPU_CAPABILITY", profile.aten_cpu_capability.c_str(), /*overwrite=*/1);
    }
    applied_capability = profile.aten_cpu_capability;
  }

  if (profile.device == job::Device::kCuda && !torch::cuda::is_available()) {
    return FailedPrecondition(
        "the job's profile needs CUDA, but this libtorch has no CUDA or no GPU is visible; "
        "build cairn against the CUDA libtorch (README) or run it on a GPU machine");
  }
  at::set_num_threads(static_cast<int>(profile.threads));
  if (at::get_num_threads() != static_cast<int>(profile.threads)) {
    return FailedPrecondition("cannot run libtorch with " + std::to_string(profile.threads) + " threads");
  }
  at::globalContext().setUserEnabledMkldnn(profile.onednn);
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  // TorchScript runs its graph exactly as loaded: the graph executor's
  // optimizations (profiling, specialization, fusion) would otherwise kick
  // in after a number of runs, so a solver 1,000 steps into a process and a
  // verifier replaying from a fresh one could execute different graphs.
  torch::jit::setGraphExecutorOptimize(false);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);

  env.blas_library = LoadedBlasLibrary();
  if (profile.kernels == job::Kernels::kRepro) {
    // Every arithmetic operation of the step is cairn's (docs/kernels.md):
    // the BLAS and its core type do not matter, so they are neither required
    // nor recorded. The backend must be one this CPU runs (the best, or the
    // one CAIRN_KERNELS_BACKEND forces).
    Result<kernels::Backend> backend = kernels::SelectBackend();
    if (!backend.ok()) return FailedPrecondition("the repro kernels cannot run: " + backend.status().message());
    return env;
  }
  std::string core = OpenBlasCoreName();
  if (Lower(profile.blas) == "openblas") {
    if (env.blas_library.find("openblas") == std::string::npos) {
      return FailedPrecondition("the job's profile needs OpenBLAS, but libtorch loaded '" +
                                (env.blas_library.empty() ? std::string("no BLAS") : env.blas_library) +
                                "'; install libopenblas0-openmp (scripts/install-deps does)");
    }
    // The core type is fixed when OpenBLAS loads; it cannot be changed here.
    if (!profile.openblas_coretype.empty() && Lower(profile.openblas_coretype) != Lower(core)) {
      return FailedPrecondition("the job's profile needs OpenBLAS core type " + profile.openblas_coretype +
                                ", this machine's OpenBLAS runs " + (core.empty() ? "an unknown core" : core) +
                                "; results would differ. If this CPU supports it, start cairn with OPENBLAS_CORETYPE=" +
                                profile.openblas_coretype);
    }
    env.profile.openblas_coretype = core;
  }
  return env;
}

}  // namespace

Result<proof::Environment> ApplyProfile(const job::ExecutionProfile& profile) {
  return GuardTorch("applying the execution profile", [&] { return ApplyProfileUnguarded(profile); });
}

std::string DescribeDevice() {
  if (torch::cuda::is_available()) {
    return "cuda (" + std::to_string(torch::cuda::device_count()) + " device(s), libtorch " + TORCH_VERSION + ")";
  }
  std::string core = OpenBlasCoreName();
  return std::string("cpu (libtorch ") + TORCH_VERSION + ", " + std::to_string(at::get_num_threads()) +
         " thread(s), " + (core.empty() ? std::string("BLAS ") + LoadedBlasLibrary() : "OpenBLAS " + core) + ")";
}

}  // namespace cairn::train
