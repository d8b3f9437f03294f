// Which implementation of the kernels runs, and on how many threads.
//
// Every backend computes every output element with the same sequence of
// IEEE operations (docs/kernels.md), so the backend and the thread count
// change speed, never bits. Exec is a small value: copy it freely.
#pragma once

#include <cstdint>
#include <string_view>

#include "cairn/status.h"

namespace cairn::kernels {

enum class Backend : uint8_t {
  kScalar,  // portable C++, one lane: runs on any CPU
  kAvx2,    // AVX2 + FMA, 8 lanes
  kAvx512,  // AVX-512F, 16 lanes
};

// The environment variable that forces a backend: scalar, avx2 or avx512.
inline constexpr const char* kBackendEnvVar = "CAIRN_KERNELS_BACKEND";
// A bound on worker threads; a job asking for more is malformed.
inline constexpr int kThreadsMax = 256;

const char* BackendName(Backend backend);
Result<Backend> ParseBackend(std::string_view name);

// Whether this CPU (and OS: AVX state saving) can run the backend.
bool CpuSupports(Backend backend);
// The fastest backend this CPU supports.
Backend BestCpuBackend();
// The backend named by CAIRN_KERNELS_BACKEND (an error if it is unknown or
// this CPU cannot run it), else BestCpuBackend().
Result<Backend> SelectBackend();

struct Exec {
  Backend backend = Backend::kScalar;
  int threads = 1;  // 1..kThreadsMax; outputs are split over this many threads
};

// SelectBackend() with `threads` threads.
Result<Exec> DefaultExec(int threads);

}  // namespace cairn::kernels
