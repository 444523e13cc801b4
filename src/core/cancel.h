// Cooperative cancellation for long loops in the core.
//
// The host (Postgres) installs a poll function that returns normally when work may go on and
// throws (ltv::Interrupted or a host exception) when it must stop. Core loops call
// `cancel.Check()` every few thousand iterations; it is cheap when nothing is pending.
// Only the thread that started the computation may call Check(): worker threads watch
// `Stopping()` instead, which the calling thread sets once Check() has thrown.
#pragma once

#include <atomic>
#include <functional>

namespace ltv {

class CancelCheck {
 public:
  CancelCheck() = default;
  explicit CancelCheck(std::function<void()> poll) : poll_(std::move(poll)) {}

  void Check() {
    if (!poll_) return;
    try {
      poll_();
    } catch (...) {
      stopping_.store(true, std::memory_order_relaxed);
      throw;
    }
  }
  bool Stopping() const { return stopping_.load(std::memory_order_relaxed); }
  void RequestStop() { stopping_.store(true, std::memory_order_relaxed); }

  // A check that never stops: for tests, tools and benchmarks.
  static CancelCheck& None() {
    static thread_local CancelCheck none;
    return none;
  }

 private:
  std::function<void()> poll_;
  std::atomic<bool> stopping_{false};
};

}  // namespace ltv
