#include "kernels/cpu/parallel.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
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

// Set while a thread runs a part, so that a kernel called from inside a part
// runs inline instead of waiting on the pool it is part of.
thread_local bool t_inside_part = false;

// Worker threads kept for the life of the process: a training step calls
// dozens of kernels, and starting threads for each would cost more than
// the small ones take. Run() is serialised (one parallel kernel at a time
// per process); workers sleep on a condition variable between kernels.
//
// A worker joins a job only while it is posted (job_ set), and Run() returns
// only when every part is done AND no worker is still inside RunParts, so a
// late worker can never take a part of the next job with stale state.
class WorkerPool {
 public:
  WorkerPool() = default;
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Calls part_fn(part) for every part in [0, parts), the caller included.
  void Run(int64_t parts, const std::function<void(int64_t)>& part_fn) {
    std::lock_guard<std::mutex> run_lock(run_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (static_cast<int64_t>(workers_.size()) < parts - 1) {
        workers_.emplace_back([this] { WorkerLoop(); });
      }
      job_ = &part_fn;
      parts_ = parts;
      next_part_.store(0, std::memory_order_relaxed);
      remaining_ = parts;
      ++generation_;
    }
    wake_.notify_all();
    RunParts();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return remaining_ == 0 && active_ == 0; });
    job_ = nullptr;
  }

 private:
  void WorkerLoop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || (job_ != nullptr && generation_ != seen); });
        if (stop_) return;
        seen = generation_;
        ++active_;
      }
      RunParts();
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0 && remaining_ == 0) done_.notify_one();
    }
  }

  // Takes parts until none are left. job_ and parts_ are stable here: they
  // were written under mu_ before this thread registered.
  void RunParts() {
    for (;;) {
      const int64_t part = next_part_.fetch_add(1, std::memory_order_relaxed);
      if (part >= parts_) return;
      t_inside_part = true;
      (*job_)(part);
      t_inside_part = false;
      std::lock_guard<std::mutex> lock(mu_);
      if (--remaining_ == 0 && active_ == 0) done_.notify_one();
    }
  }

  std::mutex run_mu_;  // one Run at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;                   // GUARDED_BY(mu_)
  const std::function<void(int64_t)>* job_ = nullptr;  // GUARDED_BY(mu_) to post
  int64_t parts_ = 0;                                  // GUARDED_BY(mu_) to post
  std::atomic<int64_t> next_part_{0};
  int64_t remaining_ = 0;    // GUARDED_BY(mu_)
  int64_t active_ = 0;       // GUARDED_BY(mu_): workers inside RunParts
  uint64_t generation_ = 0;  // GUARDED_BY(mu_)
  bool stop_ = false;        // GUARDED_BY(mu_)
};

WorkerPool& Pool() {
  static WorkerPool pool;
  return pool;
}

}  // namespace

const KernelTable& TableFor(const Exec& exec) {
  CAIRN_ASSERT(exec.threads >= 1 && exec.threads <= kThreadsMax);
  CAIRN_ASSERT(CpuSupports(exec.backend));
#if defined(CAIRN_KERNELS_X86)
  switch (exec.backend) {
    case Backend::kScalar:
      return ScalarTable();
    case Backend::kAvx2:
      return Avx2Table();
    case Backend::kAvx512:
      return Avx512Table();
  }
#endif
  return ScalarTable();
}

void ParallelRanges(int64_t count, int threads, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  CAIRN_ASSERT(count >= 0 && threads >= 1 && threads <= kThreadsMax && grain >= 1);
  if (count == 0) return;
  const int64_t useful = (count + grain - 1) / grain;
  const int64_t parts = useful < threads ? useful : threads;
  auto run = [&](int64_t part) {
    FpEnvGuard guard;
    fn(count * part / parts, count * (part + 1) / parts);
  };
  if (parts == 1 || t_inside_part) {
    for (int64_t part = 0; part < parts; ++part) run(part);
    return;
  }
  Pool().Run(parts, run);
}

}  // namespace cairn::kernels::cpu
