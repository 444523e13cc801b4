// Synthetic retail transactions for demos without a file, for scale tests (a million customers
// and more) and for deterministic tests. Behind `ltv.generate_dataset(name, customers, seed,
// options)`; see docs/generator.md for the model and its parameters.
//
// Pull-based and deterministic per (seed, customer index): customer i's lines depend on nothing
// but the options and i, so the host can produce customers in any chunking (or in parallel)
// and always gets the same dataset.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/civil_time.h"  // DaysFromCivil, CivilFromDays, FormatTimestamp
#include "core/json.h"
#include "core/transaction.h"

namespace ltv::generator {

struct GeneratorOptions {
  int64_t customers = 1000;
  uint64_t seed = 42;
  TimestampMicros start = 0;  // midnight of start_date; ParseGeneratorOptions defaults 2010-12-01
  int months = 13;            // the data covers [start, start + months)
  // Share of invoices whose lines carry no customer id (guest checkouts).
  double missing_customer_rate = 0.05;
  // Mean share of purchase invoices that are later (partly) returned; customers differ.
  double return_rate = 0.06;
  // Share of customers whose first purchase falls inside the period (the rest were customers
  // before it started): these make the first-purchase cohorts.
  double new_customer_share = 0.6;
  // Mean yearly churn hazard: an active customer stops for good at rate churn_rate per year.
  double churn_rate = 0.5;
  double wholesaler_share = 0.03;
  int catalog_size = 4000;
  double domestic_share = 0.9;  // customers in the United Kingdom

  TimestampMicros end() const;  // start + months (calendar months)
};

// Reads options from a JSON object; unknown keys are errors. Keys: customers, seed,
// start_date ("YYYY-MM-DD"), months, missing_customer_rate, return_rate, new_customer_share,
// churn_rate, wholesaler_share, catalog_size, domestic_share.
GeneratorOptions ParseGeneratorOptions(const json::Value& options);

struct Product {
  std::string stock_code;
  std::string description;
  double unit_price;
  int pack_size;  // the usual quantity per line for a retail buyer
};

class SyntheticGenerator {
 public:
  // Builds the product catalog and calendar tables; throws ltv::Error(kInvalidParameter) on
  // out-of-range options.
  explicit SyntheticGenerator(const GeneratorOptions& options);

  // Appends every line of customer `index` (0 <= index < customers), ordered by time.
  // Thread-safe (const, no shared mutable state).
  void GenerateCustomer(int64_t index, std::vector<Transaction>& out) const;
  // Appends customers [first, first + count).
  void GenerateRange(int64_t first, int64_t count, std::vector<Transaction>& out) const;

  const GeneratorOptions& options() const { return options_; }
  const std::vector<Product>& catalog() const { return catalog_; }
  // The customer id of customer `index` (what its identified lines carry).
  static std::string CustomerId(int64_t index);

 private:
  struct AliasTable {
    std::vector<double> probability;
    std::vector<uint32_t> alias;
  };
  GeneratorOptions options_;
  std::vector<Product> catalog_;
  AliasTable product_popularity_;
  // Per day of the period: relative purchase intensity (season x weekday x closures), with
  // mean 1 over the period, and its maximum for thinning.
  std::vector<double> day_weight_;
  std::vector<double> day_weight_cdf_;  // for drawing arrival days
  double max_day_weight_ = 1;
  int64_t period_days_ = 0;
};

// UCI Online Retail CSV: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,
// CustomerID,Country with ISO dates ("2010-12-01 08:26:00").
struct CsvWriteOptions {
  bool header = true;
  // Inject up to this many malformed rows (cycling: wrong field count, bad date, bad number),
  // one after every `malformed_every` good rows, to demo row rejection.
  int64_t malformed_rows = 0;
  int64_t malformed_every = 1000;
};

// Streams rows in chunks: one writer per file so that the header and the malformed-row
// schedule span all chunks.
class CsvWriter {
 public:
  CsvWriter(std::ostream& out, CsvWriteOptions options = {});
  void Write(const std::vector<Transaction>& lines);
  // Appends the malformed rows the schedule has not placed yet (a file shorter than
  // malformed_rows * malformed_every), so that exactly malformed_rows are written.
  void Finish();
  int64_t rows_written() const { return rows_written_; }  // good rows, header excluded
  int64_t malformed_written() const { return malformed_written_; }

 private:
  void WriteMalformed(std::string& buffer);
  std::ostream& out_;
  CsvWriteOptions options_;
  bool header_pending_;
  int64_t rows_written_ = 0;
  int64_t malformed_written_ = 0;
};

void WriteCsv(std::ostream& out, const std::vector<Transaction>& lines,
              const CsvWriteOptions& options = {});

}  // namespace ltv::generator
