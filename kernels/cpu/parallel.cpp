#include "kernels/cpu/parallel.h"

#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "cairn/assert.h"

namespace cairn::kernels::cpu {
namespace {

#if defined(__x86_64__)
// Round to nearest, all exceptions masked, FTZ and DAZ off.
constexpr unsigned kCanonicalMxcsr = 0x1F80;

// Sets the canonical MXCSR for its lifetime.
class FpEnvGuard {
 public:
  FpEnvGuard() : saved_(_mm_getcsr()) { _mm_setcsr(kCanonicalMxcsr); }
  ~FpEnvGuard() { _mm_setcsr(saved_); }
  FpEnvGuard(const FpEnvGuard&) = delete;
  FpEnvGuard& operator=(const FpEnvGuard&) = delete;

 private:
  unsigned saved_;
};
#else
struct FpEnvGuard {};
#endif

}  // namespace

const KernelTable& TableFor(const Exec& exec) {
  CAIRN_ASSERT(exec.threads >= 1 && exec.threads <= kThreadsMax);
  CAIRN_ASSERT(CpuSupports(exec.backend));
  switch (exec.backend) {
    case Backend::kScalar: return ScalarTable();
    case Backend::kAvx2: return Avx2Table();
    case Backend::kAvx512: return Avx512Table();
  }
  return ScalarTable();
}

void ParallelRanges(int64_t count, int threads, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  CAIRN_ASSERT(count >= 0 && threads >= 1 && grain >= 1);
  if (count == 0) return;
  const int64_t useful = (count + grain - 1) / grain;
  const int64_t parts = useful < threads ? useful : threads;
  auto run = [&](int64_t part) {
    FpEnvGuard guard;
    fn(count * part / parts, count * (part + 1) / parts);
  };
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(parts - 1));
  for (int64_t part = 1; part < parts; ++part) workers.emplace_back(run, part);
  run(0);
  for (auto& w : workers) w.join();
}

}  // namespace cairn::kernels::cpu
