#include "core/csv/background_import.h"

#include <pthread.h>
#include <signal.h>

#include "core/error.h"

namespace ltv::csv {

// Fills batches on the parse thread and queues each full one.
class BackgroundImport::QueueSink : public ImportSink {
 public:
  explicit QueueSink(BackgroundImport& owner)
      : owner_(owner), batch_(std::make_unique<ImportBatch>()) {}
  void Loaded(const Transaction& t) override {
    batch_->loaded.Add(t);
    PushIfFull();
  }
  void Rejected(const RejectedRow& r) override {
    batch_->rejected.push_back(r);
    PushIfFull();
  }
  void PushRest() {
    if (batch_->rows() > 0 && !owner_.Push(std::move(batch_))) throw Interrupted();
  }

 private:
  void PushIfFull() {
    if (batch_->rows() < owner_.batch_rows_) return;
    if (!owner_.Push(std::move(batch_))) throw Interrupted();
    batch_ = std::make_unique<ImportBatch>();
  }
  BackgroundImport& owner_;
  std::unique_ptr<ImportBatch> batch_;
};

BackgroundImport::BackgroundImport(std::string_view bytes, const ImportOptions& options,
                                   size_t batch_rows, size_t max_queued)
    : batch_rows_(batch_rows ? batch_rows : 1), max_queued_(max_queued ? max_queued : 1) {
  // The new thread inherits this signal mask: the host's signal handlers (query cancel,
  // timeouts) must only ever run on the host's own thread.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    thread_ = std::thread(&BackgroundImport::Run, this, bytes, options);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

BackgroundImport::~BackgroundImport() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void BackgroundImport::Run(std::string_view bytes, ImportOptions options) {
  QueueSink sink(*this);
  CancelCheck cancel([this] {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) throw Interrupted();
  });
  ImportReport report;
  std::exception_ptr failure;
  try {
    report = ImportCsv(bytes, options, sink, cancel);
    sink.PushRest();
  } catch (...) {
    failure = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  report_ = std::move(report);
  failure_ = failure;
  finished_ = true;
  changed_.notify_all();
}

bool BackgroundImport::Push(std::unique_ptr<ImportBatch> batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return stop_ || queue_.size() < max_queued_; });
  if (stop_) return false;
  queue_.push_back(std::move(batch));
  changed_.notify_all();
  return true;
}

std::unique_ptr<ImportBatch> BackgroundImport::Next(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return !queue_.empty() || finished_; });
  if (queue_.empty()) return nullptr;
  std::unique_ptr<ImportBatch> batch = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return batch;
}

bool BackgroundImport::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_ && queue_.empty();
}

ImportReport BackgroundImport::TakeReport() {
  if (thread_.joinable()) thread_.join();
  if (failure_) std::rethrow_exception(failure_);
  return std::move(report_);
}

void BackgroundImport::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = true;
  changed_.notify_all();
}

}  // namespace ltv::csv
