// RecordReader on a thread of its own: libcsv tokenizes the next records while the caller
// interprets the previous ones. On a million customers' 21 million lines the import's parse
// thread was its bottleneck (30 s of CPU against 16 s for storing the rows), and libcsv's
// share of it, about a third, now runs beside the rest.
//
// Records come out exactly as RecordReader gives them (same fields, raw text, line numbers,
// unterminated-quote flag), in batches handed over through a small bounded queue. The thread
// blocks every signal (it may run inside a Postgres backend, whose signal handlers must run on
// the main thread) and never calls anything but the C++ library and libcsv.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/csv/batch_handoff.h"
#include "core/csv/record_reader.h"

namespace ltv::csv {

class ThreadedRecordReader {
 public:
  // Starts tokenizing `bytes` (which must outlive this object) at once. At most `max_queued`
  // batches wait for the caller. A batch ends at `batch_records` records or once their fields
  // hold `batch_bytes`, whichever comes first (a batch copies its fields: 2048 long records
  // would otherwise hold as much as the file).
  ThreadedRecordReader(std::string_view bytes, char delimiter, size_t batch_records = 2048,
                       size_t max_queued = 4, size_t batch_bytes = size_t{1} << 20);
  // Stops the thread if it is still running and waits for it.
  ~ThreadedRecordReader();
  ThreadedRecordReader(const ThreadedRecordReader&) = delete;
  ThreadedRecordReader& operator=(const ThreadedRecordReader&) = delete;

  // As RecordReader::Next: the next record (valid until the next call), false at the end.
  // Rethrows what the tokenizing thread failed with.
  bool Next(RawRecord* record);

 private:
  struct Batch {
    struct Record {
      int64_t line_no;
      std::string_view raw;
      bool unterminated_quote;
      uint32_t first_field, field_count;
    };
    std::string bytes;               // the records' field contents, one after another
    std::vector<size_t> field_ends;  // end offset of each field in bytes
    std::vector<Record> records;
    size_t next = 0;  // the next record to hand out
  };

  void Run(std::string_view bytes, char delimiter);

  const size_t batch_records_;
  const size_t batch_bytes_;
  BatchHandoff<Batch> handoff_;
  std::unique_ptr<Batch> current_;
  std::thread thread_;
};

}  // namespace ltv::csv
