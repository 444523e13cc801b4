// Reading a retail CSV export into cleaned transactions (pipeline stage 1 and 2).
//
// ImportCsv takes the raw bytes of a file, detects delimiter and encoding, maps the header to
// the logical columns, parses every record and routes each one to exactly one outcome:
//   loaded   -> sink.Loaded(transaction)        (cancellations/returns are loaded as negative
//   spend) excluded -> counted under a named cleaning rule in ImportReport::excluded_by_rule
//   rejected -> sink.Rejected(row) with line number, reason and raw text
// so that rows_read == loaded + excluded + rejected always holds.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"
#include "core/json.h"
#include "core/transaction.h"

namespace ltv::csv {

enum class DateOrder { kAuto, kMonthFirst, kDayFirst };

// 1900-01-01 00:00:00 in TimestampMicros.
constexpr TimestampMicros kDefaultMinTime = -2208988800LL * 1000000;

// Bounds on the values of a line that is loaded (beyond them the line is rejected with a
// reason): later stages sum amounts in integer micro-units (an amount of 1e13 overflowed a
// bigint there) and index the customer id (a B-tree entry holds at most ~2.7 kB).
constexpr double kMaxAbsAmount = 1e12;         // |amount| and |quantity x unit_price|
constexpr double kMaxAbsQuantity = 1e9;        // |quantity|
constexpr double kMaxUnitPrice = 1e12;         // unit_price
constexpr size_t kMaxKeyBytes = 256;           // customer id, invoice, stock code, country
constexpr size_t kMaxDescriptionBytes = 4096;  // description

// The default list of non-product stock codes (postage, fees, manual adjustments, ...).
// Matching is case-insensitive; a code ending in '*' matches by prefix ("gift_0001*").
const std::vector<std::string>& DefaultNonProductCodes();

struct ImportOptions {
  char delimiter = 0;    // 0: detect among ',', ';', '\t' (see DetectDelimiter); '|' allowed
  std::string encoding;  // "": detect; else "utf-8", "latin-1" (iso-8859-1) or "windows-1252"
  // kAuto: ISO dates need no order; for a/b/yyyy dates the date column is prescanned from
  // the first such date on: the first a > 12 means day-first, the first b > 12 (or neither
  // until the end) means month-first, as spreadsheets in the US export.
  DateOrder date_order = DateOrder::kAuto;
  // Import option "date_format" (see DateFormat in value_parsing.h): when set, every date is
  // read with it and no other form. Empty: the recognised forms (ISO 8601, a/b/yyyy,
  // dd.mm.yyyy, yyyy/mm/dd, yyyymmdd[HHMMSS]).
  std::string date_format;
  // Invoice times outside [min_time, max_time) are rejected: one line dated 9999 would move
  // every analysis's default cutoff there. Options "min_date" / "max_date"; the default lower
  // bound is 1900-01-01, the upper bound is set by the host (ltv.import_csv: the start of the
  // second day after the import, UTC, so that zones ahead of UTC keep today's lines).
  TimestampMicros min_time = kDefaultMinTime;
  TimestampMicros max_time = INT64_MAX;
  bool max_time_given = false;  // "max_date" was in the options: the host keeps max_time
  // The import is an error when one reason rejects more than this share of the rows read
  // (option "max_rejected_share", 0..1): most likely the file was read the wrong way (date
  // form, delimiter, columns), and a dataset of the few lines that happened to parse would
  // mislead. Whatever the share, an import that loads no row at all is an error.
  double max_rejected_share = 0.5;
  // logical column name -> header name in the file, e.g. {"customer_id": "Kunde"}
  std::map<std::string, std::string> column_map;
  // Stock codes excluded as non-products; an empty list turns the rule off.
  std::vector<std::string> non_product_codes = DefaultNonProductCodes();
  int64_t max_rows = 0;          // 0: no limit; more data rows is an error
  int64_t max_bytes = 0;         // 0: no limit; a larger input is an error
  bool keep_duplicates = false;  // true: do not apply the exact-duplicate rule
  // Not an option of the SQL functions: the host's choice to run libcsv on a thread of its own
  // (ThreadedRecordReader) while this one interprets the records. Same results either way.
  bool tokenize_on_thread = false;
};

// Parses the `options jsonb` object given to ltv.import_csv. Unknown keys are an error naming
// the key. Recognised keys (all optional): delimiter, encoding, date_order ("auto", "mdy",
// "dmy"), columns (object), non_product_codes (array of strings), max_rows, max_bytes,
// keep_duplicates. The host handles its own keys (e.g. "replace") before calling this and
// passes the object without them.
ImportOptions ParseImportOptions(const json::Value& options);

struct RejectedRow {
  int64_t line_no = 0;  // 1-based physical line where the record starts (header is line 1)
  std::string reason;   // plain words: what was wrong, which column, what was expected
  std::string raw;      // the record's raw text, converted to UTF-8 where possible
};

class ImportSink {
 public:
  virtual ~ImportSink() = default;
  virtual void Loaded(const Transaction& t) = 0;
  virtual void Rejected(const RejectedRow& r) = 0;
};

struct ImportReport {
  int64_t rows_read = 0;  // data records (header excluded; blank lines are not records)
  int64_t rows_loaded = 0;
  int64_t rows_excluded = 0;
  int64_t rows_rejected = 0;
  int64_t returns_loaded = 0;  // loaded lines that are cancellations/returns (negative spend)
  std::map<std::string, int64_t> excluded_by_rule;  // rule name -> rows it removed
  // Rejection reasons without their values (e.g. "unreadable date in column \"date\"") ->
  // rows rejected for it.
  std::map<std::string, int64_t> rejected_by_reason;
  // Distinct non-empty customer ids (normalised, e.g. "17850.0" -> "17850") among the rows
  // read that have the header's number of fields and no NUL / invalid byte in the id.
  int64_t customers_before_cleaning = 0;
  int64_t customers_loaded = 0;        // distinct customer ids among loaded rows
  TimestampMicros first_purchase = 0;  // min/max invoice_time of loaded rows (0 if none)
  TimestampMicros last_purchase = 0;
  char delimiter = ',';
  std::string encoding;                        // detected or given
  std::string date_order;                      // "mdy", "dmy" or "iso"
  std::map<std::string, std::string> columns;  // logical column -> header name used
  std::vector<std::string> header;             // the header fields as found

  json::Value ToJson() const;  // the cleaning report stored in ltv.datasets
};

// Columns: customer_id, invoice_time and either quantity + unit_price or amount are required.
// With only an amount column, quantity is 1 (-1 for a negative amount) and unit_price is
// |amount / quantity|. Without an invoice column, the invoice is "<customer>@<timestamp>": one
// purchase event per customer and time. A row is a cancellation/return when its invoice starts
// with 'C' or its quantity (or amount) is negative; it is loaded with is_return = true and
// negative quantity and amount, unit_price staying positive.
//
// Throws ltv::Error for whole-file problems: empty input, missing required column (the message
// names it and lists the columns found, kind kUndefinedColumn), a limit exceeded, an unusable
// option, no row loaded, or one reason rejecting more than max_rejected_share of the rows
// (kInvalidInput; the message names the reason and an example line). The sink has then seen
// rows: the host must discard them (the SQL functions roll back). Problems of single records never
// throw: they become rejected rows. Whatever cancel.Check() or the sink throws propagates
// unchanged.
ImportReport ImportCsv(std::string_view bytes, const ImportOptions& options, ImportSink& sink,
                       CancelCheck& cancel = CancelCheck::None());

}  // namespace ltv::csv
