#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace cairn::util {

unsigned HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

void ParallelFor(size_t count, unsigned threads, const std::function<void(size_t)>& fn) {
  // Below this many items a thread costs more than it saves.
  constexpr size_t kItemsPerThreadMin = 16;
  size_t useful = std::max<size_t>(1, count / kItemsPerThreadMin);
  unsigned n = static_cast<unsigned>(std::min<size_t>(std::max(1u, threads), useful));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    // Chunks amortise the atomic increment while keeping the load balanced.
    constexpr size_t kChunk = 8;
    for (;;) {
      size_t begin = next.fetch_add(kChunk, std::memory_order_relaxed);
      if (begin >= count) return;
      size_t end = std::min(count, begin + kChunk);
      for (size_t i = begin; i < end; ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace cairn::util
