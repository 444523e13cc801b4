#include "core/csv/threaded_record_reader.h"

#include <pthread.h>
#include <signal.h>

namespace ltv::csv {

ThreadedRecordReader::ThreadedRecordReader(std::string_view bytes, char delimiter,
                                           size_t batch_records, size_t max_queued)
    : batch_records_(batch_records ? batch_records : 1), max_queued_(max_queued ? max_queued : 1) {
  // The new thread inherits this mask: it must never take a signal meant for the process.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    thread_ = std::thread(&ThreadedRecordReader::Run, this, bytes, delimiter);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

ThreadedRecordReader::~ThreadedRecordReader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThreadedRecordReader::Run(std::string_view bytes, char delimiter) {
  std::exception_ptr failure;
  try {
    RecordReader reader(bytes, delimiter);
    RawRecord record;
    bool more = true;
    while (more) {
      auto batch = std::make_unique<Batch>();
      batch->records.reserve(batch_records_);
      while (batch->records.size() < batch_records_ && (more = reader.Next(&record))) {
        Batch::Record r;
        r.line_no = record.line_no;
        r.raw = record.raw;  // a view into `bytes`: stays valid
        r.unterminated_quote = record.unterminated_quote;
        r.first_field = static_cast<uint32_t>(batch->field_ends.size());
        r.field_count = static_cast<uint32_t>(record.fields.size());
        for (std::string_view f : record.fields) {
          batch->bytes.append(f.data(), f.size());
          batch->field_ends.push_back(batch->bytes.size());
        }
        batch->records.push_back(r);
      }
      if (!batch->records.empty() && !Push(std::move(batch))) return;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  failure_ = failure;
  finished_ = true;
  changed_.notify_all();
}

bool ThreadedRecordReader::Push(std::unique_ptr<Batch> batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return stop_ || queue_.size() < max_queued_; });
  if (stop_) return false;
  queue_.push_back(std::move(batch));
  changed_.notify_all();
  return true;
}

bool ThreadedRecordReader::Next(RawRecord* record) {
  if (!current_ || current_->next == current_->records.size()) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      current_.reset();
      if (failure_) std::rethrow_exception(failure_);
      return false;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
  }
  const Batch& batch = *current_;
  const Batch::Record& r = batch.records[current_->next++];
  record->line_no = r.line_no;
  record->raw = r.raw;
  record->unterminated_quote = r.unterminated_quote;
  record->fields.clear();
  size_t begin = r.first_field == 0 ? 0 : batch.field_ends[r.first_field - 1];
  for (uint32_t i = 0; i < r.field_count; ++i) {
    size_t end = batch.field_ends[r.first_field + i];
    record->fields.emplace_back(batch.bytes.data() + begin, end - begin);
    begin = end;
  }
  return true;
}

}  // namespace ltv::csv
