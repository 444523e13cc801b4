// Runs ImportCsv on a thread of its own and hands its results over in batches, so that the
// caller can store rows while the rest of the file is still being parsed. The caller's
// thread is the only one that talks to the host (Postgres is single-threaded); the parse
// thread runs core code only, with all signals blocked.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "core/csv/batch_handoff.h"
#include "core/csv/csv_import.h"
#include "core/transaction_buffer.h"

namespace ltv::csv {

// A slice of the parse's output, in file order within each list.
struct ImportBatch {
  TransactionBuffer loaded;
  std::vector<RejectedRow> rejected;
  size_t bytes = 0;  // text held: the loaded rows' fields, the rejected rows' reason and raw text
  size_t rows() const { return loaded.size() + rejected.size(); }
};

class BackgroundImport {
 public:
  // Starts parsing `bytes` (which must outlive this object) at once. At most `max_queued`
  // batches wait for the caller; then the parse waits too. A batch ends at `batch_rows` rows or
  // once it holds `batch_bytes` of text, whichever comes first: rejected rows keep up to 64 kB
  // of raw text each, and 8192 of them would hold half a gigabyte.
  BackgroundImport(std::string_view bytes, const ImportOptions& options, size_t batch_rows = 8192,
                   size_t max_queued = 4, size_t batch_bytes = size_t{1} << 20);
  // Stops the parse if it is still running and waits for its thread.
  ~BackgroundImport();
  BackgroundImport(const BackgroundImport&) = delete;
  BackgroundImport& operator=(const BackgroundImport&) = delete;

  // The next batch, waiting at most `wait` for it; nullptr if none came in that time (check
  // the host's interrupts and call again) or when the parse is over (then done() is true).
  std::unique_ptr<ImportBatch> Next(std::chrono::milliseconds wait);
  bool done() const;
  // Once done(): the parse's report, or the exception it ended with, rethrown.
  ImportReport TakeReport();
  // Makes the parse stop at its next cancellation check; does not wait.
  void Stop();

 private:
  class QueueSink;
  void Run(std::string_view bytes, ImportOptions options);

  const size_t batch_rows_;
  const size_t batch_bytes_;
  BatchHandoff<ImportBatch> handoff_;
  ImportReport report_;  // written by the parse thread before handoff_.Finish()
  std::thread thread_;
};

}  // namespace ltv::csv
