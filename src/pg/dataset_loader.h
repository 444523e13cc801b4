// Creates a dataset (row + transactions partition) and bulk-loads its rows. Shared by the CSV
// import and the synthetic generator. Everything happens in the caller's transaction, so a
// failed load leaves nothing behind.
#pragma once

#include "pg/bulk_insert.h"
#include "pg/spi.h"

#include <optional>
#include <string>
#include <vector>

#include "core/dataset_options.h"
#include "core/json.h"
#include "core/transaction.h"

namespace ltv::pg {

// Options handled by the host rather than the core; removed from the object.

class DatasetLoader {
 public:
  DatasetLoader(const std::string& name, const std::string& source, const std::string& options_json,
                const DatasetOptions& host);
  int64_t dataset_id() const { return dataset_id_; }

  // Stores a cleaned line in the dataset's partition (in batches, as it goes).
  void AddTransaction(const Transaction& t);
  // Stores a rejected row (UTF-8 reason and raw text) in ltv.rejected_rows.
  void AddRejected(int64_t line_no, std::string reason, std::string raw);
  // Flushes the rows, then records counts and report; `report` gains customers_loaded,
  // first_purchase, last_purchase.
  void Finish(json::Value report, int64_t customers, TimestampMicros first_purchase,
              TimestampMicros last_purchase);

 private:
  void FlushRejected();

  SpiSession spi_;
  int64_t dataset_id_ = 0;
  std::optional<BulkInserter> transactions_;
  // ltv.rejected_rows has a key and a foreign key to maintain: its rows go through an INSERT.
  std::vector<int64_t> rejected_lines_;
  std::vector<std::string> rejected_reasons_, rejected_raw_;
  size_t rejected_bytes_ = 0;  // of the reasons and raw texts waiting
};

}  // namespace ltv::pg
