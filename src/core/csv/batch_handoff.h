// Batches handed from one producer thread to one consumer through a small bounded queue, with
// the end of the stream, the producer's failure and the consumer's request to stop: what the
// import's parse thread (BackgroundImport) and its tokenizing thread (ThreadedRecordReader)
// share. Also the one way those threads are started: with every signal blocked, since they may
// run inside a Postgres backend, whose signal handlers must only ever run on its own thread.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace ltv::csv {

template <typename Batch>
class BatchHandoff {
 public:
  explicit BatchHandoff(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Producer: queues `batch`, waiting for room; false once the consumer has stopped.
  bool Push(std::unique_ptr<Batch> batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || queue_.size() < capacity_; });
    if (stopped_) return false;
    queue_.push_back(std::move(batch));
    changed_.notify_all();
    return true;
  }
  // Producer: no more batches; `failure` is what the stream ended with, if anything.
  void Finish(std::exception_ptr failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = std::move(failure);
    finished_ = true;
    changed_.notify_all();
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopped_;
  }

  // Consumer: the next batch, waiting at most `wait` for it; nullptr if none came in that
  // time, or at the end of the stream (then finished()).
  std::unique_ptr<Batch> Pop(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return !queue_.empty() || finished_; });
    return TakeFront();
  }
  // Consumer: the next batch, or nullptr at the end of the stream.
  std::unique_ptr<Batch> Pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
    return TakeFront();
  }
  // Consumer: the producer finished and every batch was taken.
  bool finished() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finished_ && queue_.empty();
  }
  // Consumer, once finished(): the producer's failure (null if it ended normally).
  std::exception_ptr failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
  }
  // Consumer: makes Push() return false from now on (without waiting).
  void Stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

 private:
  std::unique_ptr<Batch> TakeFront() {  // with mutex_ held
    if (queue_.empty()) return nullptr;
    std::unique_ptr<Batch> batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return batch;
  }

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Batch>> queue_;
  bool finished_ = false;
  bool stopped_ = false;
  std::exception_ptr failure_;
};

// Starts `run` on a new thread that inherits a mask blocking every signal.
template <typename Run>
std::thread StartSignalFreeThread(Run&& run) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    std::thread thread(std::forward<Run>(run));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return thread;
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
}

}  // namespace ltv::csv
