// Creates a dataset (row + transactions partition) and bulk-loads its rows. Shared by the CSV
// import and the synthetic generator. Everything happens in the caller's transaction, so a
// failed load leaves nothing behind.
#pragma once

#include "pg/copy_loader.h"
#include "pg/spi.h"

#include <string>

#include "core/json.h"
#include "core/transaction.h"

namespace ltv::pg {

// Options handled by the host rather than the core; removed from the object.
struct DatasetOptions {
  bool replace = false;  // replace an existing dataset of the same name
};
DatasetOptions TakeHostOptions(json::Value& options);

class DatasetLoader {
 public:
  DatasetLoader(const std::string& name, const std::string& source, const std::string& options_json,
                bool replace);
  int64_t dataset_id() const { return dataset_id_; }

  uint64_t LoadTransactions(std::string_view copy_text);
  uint64_t LoadTransactions(const CopyChunkProducer& producer);
  uint64_t LoadRejected(std::string_view copy_text);
  // Records counts and report; `report` gains customers_loaded, first_purchase, last_purchase.
  void Finish(json::Value report, int64_t customers, TimestampMicros first_purchase,
              TimestampMicros last_purchase);

 private:
  SpiSession spi_;
  int64_t dataset_id_ = 0;
  Oid partition_ = InvalidOid;
  Oid rejected_table_ = InvalidOid;
};

}  // namespace ltv::pg
