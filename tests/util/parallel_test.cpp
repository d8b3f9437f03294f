// ParallelFor: every index exactly once, whatever the count and thread budget.

#include "util/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace cairn::util {
namespace {

TEST(ParallelFor, VisitsEveryIndexExactlyOnce) {
  for (size_t count : {0u, 1u, 7u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 1000u, 10007u}) {
    for (unsigned threads : {0u, 1u, 2u, 3u, 8u, 64u}) {
      std::vector<std::atomic<int>> visits(count);
      ParallelFor(count, threads, [&](size_t i) {
        ASSERT_LT(i, count);
        visits[i].fetch_add(1, std::memory_order_relaxed);
      });
      for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(visits[i].load(), 1)
            << "index " << i << " of " << count << ", " << threads << " threads";
      }
    }
  }
}

TEST(ParallelFor, ReturnsOnlyAfterEveryCallHasReturned) {
  std::atomic<size_t> finished{0};
  ParallelFor(1000, 4, [&](size_t i) {
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    finished.fetch_add(1);
  });
  EXPECT_EQ(finished.load(), 1000u);
}

TEST(ParallelFor, SingleThreadRunsOnTheCaller) {
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> all_on_caller{true};
  ParallelFor(500, 1, [&](size_t) {
    if (std::this_thread::get_id() != caller) all_on_caller = false;
  });
  EXPECT_TRUE(all_on_caller);
}

TEST(ParallelFor, UsesNoMoreThreadsThanAllowed) {
  for (unsigned threads : {1u, 2u, 3u}) {
    std::mutex mu;
    std::set<std::thread::id> seen;
    ParallelFor(4096, threads, [&](size_t) {
      std::lock_guard<std::mutex> lock(mu);
      seen.insert(std::this_thread::get_id());
    });
    EXPECT_LE(seen.size(), threads);
    EXPECT_GE(seen.size(), 1u);
  }
}

TEST(HardwareThreads, IsAtLeastOne) { EXPECT_GE(HardwareThreads(), 1u); }

}  // namespace
}  // namespace cairn::util
