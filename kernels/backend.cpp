#include "kernels/backend.h"

#if defined(CAIRN_KERNELS_X86)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <string>

namespace cairn::kernels {
namespace {

#if defined(CAIRN_KERNELS_X86)
// XCR0 bits the OS must enable for AVX (XMM|YMM) and AVX-512 (+opmask, ZMM).
constexpr uint64_t kXcr0Avx = 0x6;
constexpr uint64_t kXcr0Avx512 = 0xe6;
#endif

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};

#if defined(CAIRN_KERNELS_X86)
uint64_t ReadXcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures DetectCpu() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = (ecx & bit_OSXSAVE) != 0;
  const bool fma = (ecx & bit_FMA) != 0;
  const bool avx = (ecx & bit_AVX) != 0;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = ReadXcr0();
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  f.avx2_fma = fma && (ebx & bit_AVX2) != 0 && (xcr0 & kXcr0Avx) == kXcr0Avx;
  f.avx512f = f.avx2_fma && (ebx & bit_AVX512F) != 0 && (xcr0 & kXcr0Avx512) == kXcr0Avx512;
  return f;
}
#else
CpuFeatures DetectCpu() { return {}; }  // not x86-64: the scalar backend only
#endif

const CpuFeatures& Features() {
  static const CpuFeatures features = DetectCpu();
  return features;
}

}  // namespace

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kScalar:
      return "scalar";
    case Backend::kAvx2:
      return "avx2";
    case Backend::kAvx512:
      return "avx512";
  }
  return "?";
}

Result<Backend> ParseBackend(std::string_view name) {
  for (Backend b : {Backend::kScalar, Backend::kAvx2, Backend::kAvx512}) {
    if (name == BackendName(b)) return b;
  }
  return InvalidArgument("unknown kernels backend '" + std::string(name) + "' (expected scalar, avx2 or avx512)");
}

bool CpuSupports(Backend backend) {
  switch (backend) {
    case Backend::kScalar:
      return true;
    case Backend::kAvx2:
      return Features().avx2_fma;
    case Backend::kAvx512:
      return Features().avx512f;
  }
  return false;
}

Backend BestCpuBackend() {
  if (CpuSupports(Backend::kAvx512)) return Backend::kAvx512;
  if (CpuSupports(Backend::kAvx2)) return Backend::kAvx2;
  return Backend::kScalar;
}

Result<Backend> SelectBackend() {
  const char* forced = std::getenv(kBackendEnvVar);
  if (forced == nullptr || *forced == '\0') return BestCpuBackend();
  Result<Backend> backend = ParseBackend(forced);
  if (!backend.ok()) return backend.status().WithContext(kBackendEnvVar);
  if (!CpuSupports(*backend)) {
    return FailedPrecondition(std::string(kBackendEnvVar) + "=" + forced + ": this CPU does not support it");
  }
  return backend;
}

Result<Exec> DefaultExec(int threads) {
  if (threads < 1 || threads > kThreadsMax) {
    return InvalidArgument("kernels: threads must be in 1.." + std::to_string(kThreadsMax) + ", got " +
                           std::to_string(threads));
  }
  CAIRN_ASSIGN_OR_RETURN(Backend backend, SelectBackend());
  return Exec{backend, threads};
}

}  // namespace cairn::kernels
