#include "core/csv/threaded_record_reader.h"

namespace ltv::csv {

ThreadedRecordReader::ThreadedRecordReader(std::string_view bytes, char delimiter,
                                           size_t batch_records, size_t max_queued,
                                           size_t batch_bytes)
    : batch_records_(batch_records ? batch_records : 1),
      batch_bytes_(batch_bytes ? batch_bytes : 1),
      handoff_(max_queued) {
  thread_ = StartSignalFreeThread([this, bytes, delimiter] { Run(bytes, delimiter); });
}

ThreadedRecordReader::~ThreadedRecordReader() {
  handoff_.Stop();
  if (thread_.joinable()) thread_.join();
}

void ThreadedRecordReader::Run(std::string_view bytes, char delimiter) {
  std::exception_ptr failure;
  std::unique_ptr<Batch> batch;
  try {
    RecordReader reader(bytes, delimiter);
    RawRecord record;
    bool more = true;
    while (more) {
      batch = std::make_unique<Batch>();
      batch->records.reserve(batch_records_);
      while (batch->records.size() < batch_records_ && batch->bytes.size() < batch_bytes_ &&
             (more = reader.Next(&record))) {
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
      if (!batch->records.empty() && !handoff_.Push(std::move(batch))) return;  // stopped
    }
  } catch (...) {
    failure = std::current_exception();
    // The records read before the failure come first, as a plain RecordReader gives them.
    if (batch && !batch->records.empty() && !handoff_.Push(std::move(batch))) return;
  }
  handoff_.Finish(failure);
}

bool ThreadedRecordReader::Next(RawRecord* record) {
  if (!current_ || current_->next == current_->records.size()) {
    current_ = handoff_.Pop();
    if (!current_) {
      if (std::exception_ptr failure = handoff_.failure()) std::rethrow_exception(failure);
      return false;
    }
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
