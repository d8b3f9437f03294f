// A bounded, blocking queue: how blocks, finished work and RPC-side events
// reach the node's event loop (one consumer, many producers).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "cairn/assert.h"

namespace cairn::node {

template <typename T>
class Inbox {
 public:
  explicit Inbox(size_t capacity) : capacity_(capacity) {}

  // Blocks while full; false once closed. `urgent` goes before everything
  // waiting (a dispute move with a deadline before routine transactions).
  bool Push(T item, bool urgent = false) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    if (urgent) {
      items_.push_front(std::move(item));
    } else {
      items_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }
  // Waits up to `timeout`; nullopt on timeout or when closed and drained.
  std::optional<T> Pop(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) return std::nullopt;
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }
  // Waits up to `timeout` for an item, then takes it and up to `count_max`
  // - 1 more that are already waiting, in order; empty on timeout or when
  // closed and drained. REQUIRES: count_max >= 1.
  std::vector<T> PopUpTo(size_t count_max, std::chrono::milliseconds timeout) {
    CAIRN_ASSERT(count_max >= 1);
    std::vector<T> out;
    std::unique_lock<std::mutex> lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) return out;
    while (!items_.empty() && out.size() < count_max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    if (!out.empty()) not_full_.notify_all();
    return out;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace cairn::node
