#include "core/forest/parallel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace ltv::forest {

void ParallelFor(size_t n_tasks, int threads, CancelCheck& cancel,
                 const std::function<void(size_t, int, const std::atomic<bool>&)>& task) {
  cancel.Check();
  if (n_tasks == 0) return;
  const int n_workers = static_cast<int>(std::min<size_t>(std::max(threads, 1), n_tasks));
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable changed;
  int running = n_workers;
  std::exception_ptr failure;

  auto work = [&](int worker) {
    try {
      for (;;) {
        if (stop.load(std::memory_order_relaxed)) break;
        const size_t index = next.fetch_add(1);
        if (index >= n_tasks) break;
        task(index, worker, stop);
      }
    } catch (const Interrupted&) {
      // Thrown because `stop` was set: the cause is reported by whoever set it.
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure) failure = std::current_exception();
      stop.store(true);
    }
    std::lock_guard<std::mutex> lock(mutex);
    --running;
    changed.notify_all();
  };

  std::vector<std::thread> workers;
  workers.reserve(n_workers);
  try {
    for (int w = 0; w < n_workers; ++w) workers.emplace_back(work, w);
  } catch (...) {
    stop.store(true);
    for (auto& t : workers) t.join();
    throw;
  }

  std::exception_ptr cancelled;
  {
    std::unique_lock<std::mutex> lock(mutex);
    while (running > 0) {
      changed.wait_for(lock, std::chrono::milliseconds(20));
      if (running == 0 || cancelled) continue;
      lock.unlock();
      try {
        cancel.Check();
      } catch (...) {
        cancelled = std::current_exception();
        stop.store(true);
      }
      lock.lock();
    }
  }
  for (auto& t : workers) t.join();
  if (cancelled) std::rethrow_exception(cancelled);
  if (failure) std::rethrow_exception(failure);
}

void ParallelForShortTasks(
    size_t n_tasks, int threads, CancelCheck& cancel,
    const std::function<void(size_t index, int worker, const std::atomic<bool>& stop)>& task) {
  if (threads > 1 && n_tasks > 1) return ParallelFor(n_tasks, threads, cancel, task);
  cancel.Check();
  const std::atomic<bool> never{false};
  auto last_poll = std::chrono::steady_clock::now();
  for (size_t index = 0; index < n_tasks; ++index) {
    task(index, 0, never);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll >= std::chrono::milliseconds(20)) {
      cancel.Check();
      last_poll = now;
    }
  }
}

}  // namespace ltv::forest
