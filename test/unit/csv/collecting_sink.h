// An ImportSink that keeps every row, for the import tests.
#pragma once

#include <vector>

#include "core/csv/csv_import.h"

namespace ltv::csv::testing {

struct CollectingSink : ImportSink {
  std::vector<Transaction> loaded;
  std::vector<RejectedRow> rejected;
  void Loaded(const Transaction& t) override { loaded.push_back(t); }
  void Rejected(const RejectedRow& r) override { rejected.push_back(r); }
};

}  // namespace ltv::csv::testing
