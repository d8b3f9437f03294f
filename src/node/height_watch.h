// HeightWatch: lets threads wait for the ledger to reach a height (the
// block stream's server side waits here for the next block).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace cairn::node {

class HeightWatch {
 public:
  void Publish(uint64_t height) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (height > height_) height_ = height;
    }
    cv_.notify_all();
  }
  // Waits until the height is at least `height`, the timeout passes or
  // Shutdown(); returns the height then.
  uint64_t WaitFor(uint64_t height, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return height_ >= height || shutdown_; });
    return height_;
  }
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
  }
  bool shut_down() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shutdown_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t height_ = 0;
  bool shutdown_ = false;
};

}  // namespace cairn::node
