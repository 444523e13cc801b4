#include "core/csv/background_import.h"

#include "core/error.h"

namespace ltv::csv {

// Fills batches on the parse thread and queues each full one.
class BackgroundImport::QueueSink : public ImportSink {
 public:
  explicit QueueSink(BackgroundImport& owner)
      : owner_(owner), batch_(std::make_unique<ImportBatch>()) {}
  void Loaded(const Transaction& t) override {
    batch_->loaded.Add(t);
    batch_->bytes += t.invoice.size() + t.stock_code.size() + t.description.size() +
                     t.customer_id.size() + t.country.size();
    PushIfFull();
  }
  void Rejected(const RejectedRow& r) override {
    batch_->rejected.push_back(r);
    batch_->bytes += r.reason.size() + r.raw.size();
    PushIfFull();
  }
  void PushRest() {
    if (batch_->rows() > 0 && !owner_.handoff_.Push(std::move(batch_))) throw Interrupted();
  }

 private:
  void PushIfFull() {
    if (batch_->rows() < owner_.batch_rows_ && batch_->bytes < owner_.batch_bytes_) return;
    if (!owner_.handoff_.Push(std::move(batch_))) throw Interrupted();
    batch_ = std::make_unique<ImportBatch>();
  }
  BackgroundImport& owner_;
  std::unique_ptr<ImportBatch> batch_;
};

BackgroundImport::BackgroundImport(std::string_view bytes, const ImportOptions& options,
                                   size_t batch_rows, size_t max_queued, size_t batch_bytes)
    : batch_rows_(batch_rows ? batch_rows : 1),
      batch_bytes_(batch_bytes ? batch_bytes : 1),
      handoff_(max_queued) {
  thread_ = StartSignalFreeThread([this, bytes, options] { Run(bytes, options); });
}

BackgroundImport::~BackgroundImport() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void BackgroundImport::Run(std::string_view bytes, ImportOptions options) {
  QueueSink sink(*this);
  CancelCheck cancel([this] {
    if (handoff_.stopped()) throw Interrupted();
  });
  std::exception_ptr failure;
  try {
    report_ = ImportCsv(bytes, options, sink, cancel);
    sink.PushRest();
  } catch (...) {
    failure = std::current_exception();
  }
  handoff_.Finish(failure);
}

std::unique_ptr<ImportBatch> BackgroundImport::Next(std::chrono::milliseconds wait) {
  return handoff_.Pop(wait);
}

bool BackgroundImport::done() const { return handoff_.finished(); }

ImportReport BackgroundImport::TakeReport() {
  if (thread_.joinable()) thread_.join();
  if (std::exception_ptr failure = handoff_.failure()) std::rethrow_exception(failure);
  return std::move(report_);
}

void BackgroundImport::Stop() { handoff_.Stop(); }

}  // namespace ltv::csv
