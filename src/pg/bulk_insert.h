// Bulk loading of rows built in C++ straight into a heap table, in batches through the table
// access method (table_multi_insert), the way COPY FROM stores rows once it has parsed them.
// It skips what COPY does before that point (formatting rows as text and parsing them back),
// and with it what COPY does per row for constraints, triggers and indexes. So it is only for
// tables that have none of those to honour: the transactions partition of a dataset being
// loaded, which this transaction created and which gets its index when it is attached. The
// constructor checks that the table qualifies and errors otherwise.
#pragma once

#include "pg/guard.h"

#include <string_view>
#include <vector>

#include "core/transaction.h"

extern "C" {
#include "access/tableam.h"
}

namespace ltv::pg {

class BulkInserter {
 public:
  // Opens `relid` (RowExclusiveLock) for inserting into `columns`, in the order the Set*()
  // calls will fill them: they must be all of the table's columns, each of `types`. With
  // `freeze`, rows go in frozen where COPY FREEZE would store them so (see the .cpp).
  BulkInserter(Oid relid, const std::vector<const char*>& columns, const std::vector<Oid>& types,
               bool freeze = false);
  ~BulkInserter();  // releases resources; rows not flushed by Finish() are not inserted
  BulkInserter(const BulkInserter&) = delete;
  BulkInserter& operator=(const BulkInserter&) = delete;

  // Fill column `i` (index into `columns`) of the row being built. Never longjmp.
  void SetInt64(int i, int64_t value) { Row()[i] = Int64GetDatum(value); }
  void SetFloat8(int i, double value) { Row()[i] = Float8GetDatum(value); }
  void SetBool(int i, bool value) { Row()[i] = BoolGetDatum(value); }
  void SetTimestamp(int i, TimestampMicros unix_micros);  // throws when out of Postgres' range
  void SetText(int i, std::string_view utf8);  // valid UTF-8 without NUL bytes (see Transaction)
  // Stores the row built by the Set*() calls; inserts the batch when it is full.
  void EndRow();
  // Inserts what is left; returns the number of rows inserted.
  uint64_t Finish();

 private:
  Datum* Row() { return row_values_.data(); }
  void Flush();

  Relation relation_ = nullptr;
  struct BulkInsertStateData* bulk_state_ = nullptr;
  MemoryContext batch_context_ = nullptr;  // the text values of the batch being built
  std::vector<TupleTableSlot*> slots_;
  std::vector<int> attribute_of_column_;  // Set*() index -> attribute number - 1
  std::vector<Datum> row_values_;         // indexed like `columns`
  int table_options_ = 0;
  bool database_is_utf8_ = true;
  size_t batch_rows_ = 0;
  size_t batch_bytes_ = 0;
  uint64_t rows_inserted_ = 0;
};

}  // namespace ltv::pg
