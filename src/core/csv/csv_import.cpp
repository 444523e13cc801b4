// ImportCsv: the driver that ties reading, value parsing and cleaning together.
#include "core/csv/csv_import.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/csv/cleaning_rules.h"
#include "core/csv/column_mapping.h"
#include "core/csv/delimiter.h"
#include "core/csv/encoding.h"
#include "core/csv/excerpt.h"
#include "core/csv/options_internal.h"
#include "core/csv/record_reader.h"
#include "core/csv/threaded_record_reader.h"
#include "core/csv/value_parsing.h"
#include "core/error.h"

namespace ltv::csv {

namespace {

constexpr int64_t kCancelCheckInterval = 4096;
constexpr size_t kMaxRawBytes = 64 * 1024;  // raw text kept for a rejected row
constexpr size_t kMaxValueInMessage = 60;   // bytes of a bad value quoted in a reason

// Distinct strings with a one-entry cache: exports are sorted by invoice, so consecutive rows
// mostly share the customer and the common case costs a compare, not a hash lookup. The set
// is an open-addressing table over one byte arena: a million customers' node-based set cost
// two cache misses and an allocation per new entry, on the import's busiest thread.
class DistinctCounter {
 public:
  void Add(std::string_view s) {
    if (has_last_ && s == last_) return;
    if (s.size() >= kEmpty)
      throw Error(ErrorKind::kLimitExceeded, "a customer id of 4 GB or more cannot be counted");
    last_.assign(s);
    has_last_ = true;
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t hash = Hash(s);
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.length == kEmpty) {
        slot = {arena_.size(), static_cast<uint32_t>(s.size()), static_cast<uint32_t>(hash >> 32)};
        arena_.append(s);
        ++size_;
        return;
      }
      if (slot.hash_high == static_cast<uint32_t>(hash >> 32) && slot.length == s.size() &&
          std::memcmp(arena_.data() + slot.offset, s.data(), s.size()) == 0)
        return;
    }
  }
  int64_t size() const { return static_cast<int64_t>(size_); }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;  // no field is 4 GB long
  struct Slot {
    uint64_t offset;     // of the string in arena_
    uint32_t length;     // kEmpty: free slot
    uint32_t hash_high;  // the hash's upper half: most mismatches end here
  };
  static uint64_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  void Grow() {
    std::vector<Slot> old(std::max<size_t>(64, slots_.size() * 2), Slot{0, kEmpty, 0});
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& entry : old) {
      if (entry.length == kEmpty) continue;
      const uint64_t hash = Hash(std::string_view(arena_.data() + entry.offset, entry.length));
      size_t i = static_cast<size_t>(hash) & mask;
      while (slots_[i].length != kEmpty) i = (i + 1) & mask;
      slots_[i] = entry;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
  std::string last_;
  bool has_last_ = false;
};

Encoding ResolveEncoding(const std::string& canonical, bool valid_utf8) {
  if (canonical == "utf-8") return Encoding::kUtf8;
  if (canonical == "latin-1") return Encoding::kLatin1;
  if (canonical == "windows-1252") return Encoding::kWindows1252;
  // Detection: text that is valid UTF-8 is almost never meant as Windows-1252 (a
  // Windows-1252 high byte would have to form valid multi-byte sequences throughout).
  return valid_utf8 ? Encoding::kUtf8 : Encoding::kWindows1252;
}

bool IsBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

std::string QuoteValue(std::string_view v, Encoding enc) {
  std::string converted, out = "\"";
  bool truncated = v.size() > kMaxValueInMessage;
  AppendAsUtf8(truncated ? v.substr(0, kMaxValueInMessage) : v, enc, converted);
  AppendSanitizedUtf8(converted, out);
  out += truncated ? "...\"" : "\"";
  return out;
}

// A header whose fields read as numbers or dates is a data row: the file has no header.
bool LooksLikeData(const std::vector<std::string>& header) {
  int data_like = 0;
  for (const auto& h : header) {
    double d;
    TimestampMicros t;
    if (ParseDecimal(h, false, &d) ||
        ParseTimestamp(h, SlashOrder::kMonthFirst, &t) == DateParse::kOk)
      ++data_like;
  }
  return data_like >= 2 || (header.size() == 1 && data_like == 1);
}

class Importer {
 public:
  Importer(std::string_view body, const ImportOptions& options, ImportSink& sink,
           CancelCheck& cancel)
      : body_(body),
        options_(options),
        sink_(sink),
        cancel_(cancel),
        non_products_(options.non_product_codes) {}

  ImportReport Run();

 private:
  void ReadHeader(const RawRecord& rec);
  void ProcessRecord(const RawRecord& rec);
  // Loads the record kept back by ProcessRecord, unless it repeats an earlier one.
  void FinishPending();
  // `kind` is the reason without the record's values (it names the column), by which
  // rejections are counted; `reason` is what ltv.rejected_rows shows.
  void Reject(const RawRecord& rec, std::string kind, std::string reason);
  void RejectPending(const RawRecord& rec) {
    Reject(rec, std::move(reject_kind_), std::move(reject_reason_));
  }
  bool CheckLength(const RawRecord& rec, Column c, size_t max_bytes);
  bool CheckBound(const RawRecord& rec, const char* what, const std::string& columns, double v,
                  double lo, double hi);
  void CheckOutcome() const;
  void Exclude(CleaningRule rule);
  std::string_view Field(const RawRecord& rec, Column c) const {
    int i = mapping_[c];
    return i == ColumnMapping::kAbsent ? std::string_view() : Trim(rec.fields[i]);
  }
  // The field as UTF-8 text, converted into `scratch` only when it has non-ASCII bytes.
  std::string_view Text(std::string_view field, std::string& scratch) const {
    if (encoding_ == Encoding::kUtf8 || IsAscii(field)) return field;
    scratch.clear();
    AppendAsUtf8(field, encoding_, scratch);
    return scratch;
  }
  const std::string& HeaderName(size_t i) const { return report_.header[i]; }
  bool ParseNumber(const RawRecord& rec, Column c, double* out);
  bool ParseTime(const RawRecord& rec, TimestampMicros* out);
  void DecideDateOrder(const RawRecord& rec);

  std::string_view body_;
  const ImportOptions& options_;
  ImportSink& sink_;
  CancelCheck& cancel_;
  NonProductMatcher non_products_;
  ImportReport report_;
  ColumnMapping mapping_;
  Encoding encoding_ = Encoding::kUtf8;
  bool check_utf8_ = false;
  bool decimal_comma_ = false;
  bool order_decided_ = false;
  bool saw_slash_dates_ = false;
  SlashOrder slash_order_ = SlashOrder::kMonthFirst;
  std::string reject_reason_, reject_kind_;
  std::optional<DateFormat> date_format_;
  struct ReasonCount {
    int64_t rows = 0;
    int64_t example_line = 0;
    std::string example;  // the first such row's reason
  };
  std::map<std::string, ReasonCount> rejected_by_kind_;
  DuplicateFilter duplicates_;
  DistinctCounter customers_read_, customers_loaded_;
  Transaction t_;  // reused so that loading a row does not allocate once capacity is there
  // The duplicate check of a record is made one record late: its slot in the (large) filter
  // is fetched from memory while the next record is parsed (12% less CPU time for the UCI
  // file). The sink still sees loaded rows in file order.
  Transaction pending_;
  Hash128 pending_hash_{};
  bool has_pending_ = false;
  std::string scratch_, hash_input_;
  int64_t rule_counts_[kCleaningRuleCount] = {};
};

void Importer::Reject(const RawRecord& rec, std::string kind, std::string reason) {
  ReasonCount& count = rejected_by_kind_[kind];
  if (count.rows++ == 0) {
    count.example_line = rec.line_no;
    count.example = reason;
  }
  RejectedRow row;
  row.line_no = rec.line_no;
  row.reason = std::move(reason);
  std::string_view raw = rec.raw.substr(0, kMaxRawBytes);
  std::string converted;
  AppendAsUtf8(raw, encoding_, converted);
  AppendSanitizedUtf8(converted, row.raw);
  if (rec.raw.size() > kMaxRawBytes) row.raw += "... (truncated)";
  ++report_.rows_rejected;
  sink_.Rejected(row);
}

void Importer::Exclude(CleaningRule rule) {
  ++rule_counts_[static_cast<int>(rule)];
  ++report_.rows_excluded;
}

bool Importer::ParseNumber(const RawRecord& rec, Column c, double* out) {
  std::string_view v = Field(rec, c);
  if (ParseDecimal(v, decimal_comma_, out)) return true;
  const std::string& name = HeaderName(mapping_[c]);
  if (v.empty()) {
    reject_kind_ = "empty column \"" + name + "\"";
    reject_reason_ = "column \"" + name + "\" (" + ColumnName(c) + ") is empty; expected a number";
  } else {
    reject_kind_ = "unreadable number in column \"" + name + "\"";
    reject_reason_ = "column \"" + name + "\" (" + ColumnName(c) + "): cannot read " +
                     QuoteValue(v, encoding_) + " as a number; expected e.g. 6, -2 or 2.55" +
                     (decimal_comma_ ? " (or 2,55)" : "");
  }
  return false;
}

// Decides month-first vs day-first for date_order "auto" at the first a/b/yyyy date, by
// scanning the date column from this record to the end of the file: a first number above 12
// proves day-first, a second number above 12 proves month-first, and without proof we keep
// month-first. Files with ISO dates never pay for this scan.
void Importer::DecideDateOrder(const RawRecord& rec) {
  order_decided_ = true;
  size_t start = static_cast<size_t>(rec.raw.data() - body_.data());
  RecordReader scan(body_.substr(start), report_.delimiter);
  RawRecord r;
  int date_index = mapping_[Column::kInvoiceTime];
  // Without proof either way: month first for a/b/yyyy (US spreadsheets), day first for
  // a.b.yyyy, which is how the countries writing dates with dots (Germany, Russia, ...) order
  // them.
  std::string_view first_date = Trim(rec.fields[date_index]);
  size_t sep = first_date.find_first_of("/.");
  slash_order_ = sep != std::string_view::npos && first_date[sep] == '.' ? SlashOrder::kDayFirst
                                                                         : SlashOrder::kMonthFirst;
  int64_t n = 0;
  while (scan.Next(&r)) {
    if (++n % kCancelCheckInterval == 0) cancel_.Check();
    if (r.fields.size() != report_.header.size()) continue;
    int first = 0, second = 0;
    if (!PeekSlashDateParts(r.fields[date_index], &first, &second)) continue;
    if (first > 12 && second <= 12) {
      slash_order_ = SlashOrder::kDayFirst;
      return;
    }
    if (second > 12 && first <= 12) {
      slash_order_ = SlashOrder::kMonthFirst;
      return;
    }
  }
}

bool Importer::ParseTime(const RawRecord& rec, TimestampMicros* out) {
  std::string_view v = Field(rec, Column::kInvoiceTime);
  DateForm form = DateForm::kIso;
  DateParse result = date_format_ ? ParseTimestampWithFormat(v, *date_format_, out)
                                  : ParseTimestamp(v, slash_order_, out, &form);
  if (result == DateParse::kOk && form == DateForm::kSlash) {
    saw_slash_dates_ = true;
    if (!order_decided_) {
      DecideDateOrder(rec);
      result = ParseTimestamp(v, slash_order_, out, &form);
    }
  }
  const std::string& name = HeaderName(mapping_[Column::kInvoiceTime]);
  if (result == DateParse::kOk) {
    if (*out >= options_.min_time && *out < options_.max_time) return true;
    reject_kind_ = "date out of range in column \"" + name + "\"";
    const bool early = *out < options_.min_time;
    reject_reason_ = "column \"" + name + "\" (invoice_time): " + FormatTimestamp(*out) +
                     (early ? " is before " + FormatTimestamp(options_.min_time) +
                                  "; pass {\"min_date\": \"...\"} to allow earlier dates"
                            : " is not before " + FormatTimestamp(options_.max_time) +
                                  (options_.max_time_given
                                       ? " (max_date)"
                                       : ", a date in the future; pass {\"max_date\": \"...\"} "
                                         "to allow later dates"));
    return false;
  }
  if (v.empty()) {
    reject_kind_ = "empty column \"" + name + "\"";
    reject_reason_ = "column \"" + name + "\" (invoice_time) is empty; expected a date";
    return false;
  }
  reject_kind_ = "unreadable date in column \"" + name + "\"";
  if (date_format_) {
    reject_reason_ = "column \"" + name + "\" (invoice_time): cannot read " +
                     QuoteValue(v, encoding_) + " as a date of the form \"" + date_format_->text +
                     "\" (date_format)" +
                     (result == DateParse::kInvalidCalendar ? ": no such date or time" : "");
  } else if (result == DateParse::kInvalidCalendar) {
    reject_reason_ =
        "column \"" + name + "\" (invoice_time): " + QuoteValue(v, encoding_) +
        " is not a valid date/time (" +
        (slash_order_ == SlashOrder::kDayFirst ? "read day-first" : "read month-first") +
        " where it has the form a/b/yyyy)";
  } else {
    reject_reason_ = "column \"" + name + "\" (invoice_time): cannot read " +
                     QuoteValue(v, encoding_) +
                     " as a date; expected e.g. 2010-12-01 08:26:00 or 12/1/2010 8:26";
  }
  return false;
}

bool Importer::CheckBound(const RawRecord& rec, const char* what, const std::string& columns,
                          double v, double lo, double hi) {
  if (v >= lo && v <= hi) return true;
  char value[64], bound[32];
  std::snprintf(value, sizeof value, "%.17g", v);
  std::snprintf(bound, sizeof bound, "%g", hi);
  Reject(rec, std::string(what) + " out of range",
         std::string(what) + " (" + columns + ") is " + value + "; the import accepts at most " +
             bound + " in absolute value");
  return false;
}

bool Importer::CheckLength(const RawRecord& rec, Column c, size_t max_bytes) {
  if (!mapping_.Has(c)) return true;
  std::string_view v = Field(rec, c);
  if (v.size() <= max_bytes) return true;
  const std::string& name = HeaderName(mapping_[c]);
  Reject(rec, "value too long in column \"" + name + "\"",
         "column \"" + name + "\" (" + ColumnName(c) + ") is " + std::to_string(v.size()) +
             " bytes long; at most " + std::to_string(max_bytes) + " are accepted");
  return false;
}

// Whole-file outcomes that make the import an error rather than a dataset: nothing loaded, or
// one reason rejecting most rows (the file was most likely read the wrong way). The sink
// has seen the rows by now; the host rolls them back with the error.
void Importer::CheckOutcome() const {
  const ReasonCount* top = nullptr;
  const std::string* top_kind = nullptr;
  for (const auto& [kind, count] : rejected_by_kind_)
    if (!top || count.rows > top->rows) {
      top = &count;
      top_kind = &kind;
    }
  const bool date_problem = top_kind && top_kind->find("date") != std::string::npos;
  const std::string hint =
      date_problem ? "Name the date form with options {\"date_format\": \"...\"}, e.g. "
                     "\"%Y%m%d\" or \"%d-%b-%Y %H:%M\"; see the import options in the README."
                   : "Check the delimiter, encoding and column options against the file.";
  auto example = [&] {
    return "Line " + std::to_string(top->example_line) + ": " + Excerpt(top->example, 300);
  };
  // A file whose every row a cleaning rule excluded (say, no customer ids at all) still makes a
  // dataset: its report names the rule for each row, which is not silent. Rejections are what
  // the file could not say, so with nothing loaded they make the import an error.
  if (report_.rows_loaded == 0 && report_.rows_rejected > 0) {
    if (top && top->rows * 2 >= report_.rows_rejected + report_.rows_excluded)
      throw Error(ErrorKind::kInvalidInput,
                  "no row could be loaded: " + std::to_string(report_.rows_rejected) + " of " +
                      std::to_string(report_.rows_read) + " rows were rejected, " +
                      std::to_string(top->rows) + " of them for " + *top_kind +
                      "; nothing was imported",
                  example(), hint);
    throw Error(ErrorKind::kInvalidInput,
                "no row could be loaded: " + std::to_string(report_.rows_rejected) + " of " +
                    std::to_string(report_.rows_read) + " rows were rejected and " +
                    std::to_string(report_.rows_excluded) +
                    " excluded by cleaning rules; nothing was imported",
                example(), hint);
  }
  if (top && static_cast<double>(top->rows) >
                 options_.max_rejected_share * static_cast<double>(report_.rows_read)) {
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%",
                  100.0 * static_cast<double>(top->rows) / static_cast<double>(report_.rows_read));
    throw Error(ErrorKind::kInvalidInput,
                std::to_string(top->rows) + " of " + std::to_string(report_.rows_read) + " rows (" +
                    share + ") were rejected for " + *top_kind + "; nothing was imported",
                example(),
                hint +
                    " To import the other rows anyway, raise {\"max_rejected_share\": ...} "
                    "(default 0.5) up to 1.");
  }
}

void Importer::ReadHeader(const RawRecord& rec) {
  for (std::string_view f : rec.fields) {
    std::string converted, name;
    AppendAsUtf8(Trim(f), encoding_, converted);
    AppendSanitizedUtf8(converted, name);
    report_.header.push_back(std::move(name));
  }
  try {
    mapping_ = MapColumns(report_.header, options_.column_map);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kUndefinedColumn && options_.column_map.empty() &&
        LooksLikeData(report_.header))
      throw Error(ErrorKind::kInvalidInput,
                  "the file has no header: its first line looks like data",
                  "First line: " + QuoteValue(rec.raw, encoding_),
                  "Add a header line naming the columns, e.g. InvoiceNo,StockCode,Description,"
                  "Quantity,InvoiceDate,UnitPrice,CustomerID,Country.");
    throw;
  }
  for (int c = 0; c < kColumnCount; ++c)
    if (mapping_.index[c] != ColumnMapping::kAbsent)
      report_.columns[ColumnName(static_cast<Column>(c))] = report_.header[mapping_.index[c]];
}

void Importer::ProcessRecord(const RawRecord& rec) {
  if (rec.unterminated_quote) {
    Reject(rec, "unterminated quoted field",
           "unterminated quoted field: a '\"' opened in this record is never closed");
    return;
  }
  if (rec.fields.size() != report_.header.size()) {
    Reject(rec, "wrong number of fields",
           "expected " + std::to_string(report_.header.size()) + " fields, found " +
               std::to_string(rec.fields.size()));
    return;
  }

  std::string_view customer = NormalizeCustomerId(Field(rec, Column::kCustomerId));
  bool has_customer = !customer.empty();
  if (has_customer && std::memchr(customer.data(), 0, customer.size()) == nullptr &&
      (!check_utf8_ || FindInvalidUtf8(customer) == std::string_view::npos))
    customers_read_.Add(Text(customer, scratch_));

  for (size_t i = 0; i < rec.fields.size(); ++i) {
    std::string_view f = rec.fields[i];
    if (std::memchr(f.data(), 0, f.size()) != nullptr) {
      Reject(rec, "NUL byte", "NUL byte (0x00) in column \"" + HeaderName(i) + "\"");
      return;
    }
    if (check_utf8_) {
      size_t bad = FindInvalidUtf8(f);
      if (bad != std::string_view::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(f[bad]));
        Reject(rec, "invalid UTF-8",
               std::string("invalid UTF-8 byte ") + hex + " in column \"" + HeaderName(i) +
                   "\" (encoding \"utf-8\" was given)");
        return;
      }
    }
  }

  TimestampMicros time = 0;
  double quantity = 1, price = 0, amount = 0;
  if (!ParseTime(rec, &time)) return RejectPending(rec);
  bool has_quantity = mapping_.Has(Column::kQuantity);
  bool has_price = mapping_.Has(Column::kUnitPrice);
  bool has_amount = mapping_.Has(Column::kAmount);
  if (has_quantity && !ParseNumber(rec, Column::kQuantity, &quantity)) return RejectPending(rec);
  if (has_price && !ParseNumber(rec, Column::kUnitPrice, &price)) return RejectPending(rec);
  if (has_amount) {
    if (!ParseNumber(rec, Column::kAmount, &amount)) return RejectPending(rec);
    if (!has_quantity && amount < 0) quantity = -1;  // an amount-only return: one unit back
    if (!has_price) price = quantity != 0 ? std::fabs(amount / quantity) : 0;
  } else {
    amount = quantity * price;
    // Binary floating point makes 6 x 2.55 come out as 15.299999999999999; money has no
    // meaningful digits past the sixth decimal, so round there and 15.3 reads back as 15.3.
    if (std::fabs(amount) < 1e12) amount = std::round(amount * 1e6) / 1e6;
  }
  // Values that later stages cannot take (see kMaxAbsAmount): rejected here, by name.
  if (has_quantity &&
      !CheckBound(rec, "quantity", "\"" + HeaderName(mapping_[Column::kQuantity]) + "\"", quantity,
                  -kMaxAbsQuantity, kMaxAbsQuantity))
    return;
  if (has_price &&
      !CheckBound(rec, "unit_price", "\"" + HeaderName(mapping_[Column::kUnitPrice]) + "\"", price,
                  -kMaxUnitPrice, kMaxUnitPrice))
    return;
  if (!CheckBound(rec, "amount",
                  has_amount ? "\"" + HeaderName(mapping_[Column::kAmount]) + "\""
                             : "\"" + HeaderName(mapping_[Column::kQuantity]) + "\" x \"" +
                                   HeaderName(mapping_[Column::kUnitPrice]) + "\"",
                  amount, -kMaxAbsAmount, kMaxAbsAmount))
    return;
  if (!CheckLength(rec, Column::kCustomerId, kMaxKeyBytes) ||
      !CheckLength(rec, Column::kInvoice, kMaxKeyBytes) ||
      !CheckLength(rec, Column::kStockCode, kMaxKeyBytes) ||
      !CheckLength(rec, Column::kCountry, kMaxKeyBytes) ||
      !CheckLength(rec, Column::kDescription, kMaxDescriptionBytes))
    return;

  // Cleaning rules, in order; the first match excludes the record.
  if (!has_customer) return Exclude(CleaningRule::kMissingCustomer);
  std::string_view stock_code = Field(rec, Column::kStockCode);
  if (mapping_.Has(Column::kStockCode) && non_products_.Matches(stock_code))
    return Exclude(CleaningRule::kNonProductCode);
  if (has_quantity && quantity == 0) return Exclude(CleaningRule::kZeroQuantity);
  if (has_price ? price <= 0 : amount == 0) return Exclude(CleaningRule::kNonPositivePrice);

  std::string_view invoice = Field(rec, Column::kInvoice);
  t_.line_no = rec.line_no;
  t_.invoice_time = time;
  t_.customer_id.assign(Text(customer, scratch_));
  if (mapping_.Has(Column::kInvoice)) {
    t_.invoice.assign(Text(invoice, scratch_));
  } else {
    // One purchase event per customer and timestamp.
    t_.invoice.assign(t_.customer_id).append("@").append(FormatTimestamp(time));
  }
  t_.stock_code.assign(Text(stock_code, scratch_));
  t_.description.assign(Text(Field(rec, Column::kDescription), scratch_));
  t_.country.assign(Text(Field(rec, Column::kCountry), scratch_));
  bool cancellation = !invoice.empty() && (invoice[0] == 'C' || invoice[0] == 'c');
  t_.is_return = cancellation || quantity < 0 || amount < 0;
  t_.quantity = t_.is_return ? -std::fabs(quantity) : quantity;
  t_.amount = t_.is_return ? -std::fabs(amount) : amount;
  t_.unit_price = price;

  if (!options_.keep_duplicates) {
    // All mapped fields after normalisation, separated by a byte that trimmed UTF-8 text
    // cannot end with, plus the parsed numbers and time in binary.
    hash_input_.clear();
    for (const std::string* s :
         {&t_.invoice, &t_.stock_code, &t_.description, &t_.customer_id, &t_.country}) {
      hash_input_.append(*s);
      hash_input_.push_back('\x1f');
    }
    hash_input_.append(reinterpret_cast<const char*>(&t_.quantity), sizeof(double));
    hash_input_.append(reinterpret_cast<const char*>(&t_.unit_price), sizeof(double));
    hash_input_.append(reinterpret_cast<const char*>(&t_.amount), sizeof(double));
    hash_input_.append(reinterpret_cast<const char*>(&time), sizeof(time));
    Hash128 hash = MurmurHash3_128(hash_input_.data(), hash_input_.size(), 0x4c5456);
    duplicates_.Prefetch(hash);
    FinishPending();
    pending_hash_ = hash;
  } else {
    FinishPending();
  }
  std::swap(t_, pending_);  // swaps buffers: no allocation
  has_pending_ = true;
}

void Importer::FinishPending() {
  if (!has_pending_) return;
  has_pending_ = false;
  if (!options_.keep_duplicates && !duplicates_.Insert(pending_hash_))
    return Exclude(CleaningRule::kExactDuplicate);
  const Transaction& t = pending_;
  ++report_.rows_loaded;
  if (t.is_return) ++report_.returns_loaded;
  if (report_.rows_loaded == 1 || t.invoice_time < report_.first_purchase)
    report_.first_purchase = t.invoice_time;
  if (report_.rows_loaded == 1 || t.invoice_time > report_.last_purchase)
    report_.last_purchase = t.invoice_time;
  customers_loaded_.Add(t.customer_id);
  sink_.Loaded(t);
}

ImportReport Importer::Run() {
  if (options_.delimiter) CheckDelimiter(options_.delimiter);
  std::string canonical = CanonicalEncodingName(options_.encoding);
  report_.delimiter = options_.delimiter ? options_.delimiter : DetectDelimiter(body_);
  decimal_comma_ = report_.delimiter == ';';
  size_t invalid_at = FindInvalidUtf8(body_);
  encoding_ = ResolveEncoding(canonical, invalid_at == std::string_view::npos);
  check_utf8_ = encoding_ == Encoding::kUtf8 && invalid_at != std::string_view::npos;
  report_.encoding = EncodingName(encoding_);
  if (!options_.date_format.empty()) date_format_ = CompileDateFormat(options_.date_format);
  if (options_.date_order != DateOrder::kAuto) {
    order_decided_ = true;
    slash_order_ = options_.date_order == DateOrder::kDayFirst ? SlashOrder::kDayFirst
                                                               : SlashOrder::kMonthFirst;
  }

  std::optional<RecordReader> reader;
  std::optional<ThreadedRecordReader> threaded_reader;
  if (options_.tokenize_on_thread)
    threaded_reader.emplace(body_, report_.delimiter);
  else
    reader.emplace(body_, report_.delimiter);
  auto next_record = [&](RawRecord* rec) {
    return threaded_reader ? threaded_reader->Next(rec) : reader->Next(rec);
  };
  RawRecord rec;
  if (!next_record(&rec)) throw Error(ErrorKind::kInvalidInput, "file is empty");
  ReadHeader(rec);

  while (next_record(&rec)) {
    ++report_.rows_read;
    if (options_.max_rows > 0 && report_.rows_read > options_.max_rows)
      throw Error(
          ErrorKind::kLimitExceeded,
          "the file has more than " + std::to_string(options_.max_rows) + " data rows (max_rows)",
          {}, "Raise the limit with options {\"max_rows\": <n>} or 0 for no limit.");
    if (report_.rows_read % kCancelCheckInterval == 0) cancel_.Check();
    ProcessRecord(rec);
  }
  FinishPending();
  if (report_.rows_read == 0)
    throw Error(ErrorKind::kInvalidInput, "file has a header but no data rows");

  for (int r = 0; r < kCleaningRuleCount; ++r)
    report_.excluded_by_rule[kCleaningRules[r]] = rule_counts_[r];
  for (const auto& [kind, count] : rejected_by_kind_) report_.rejected_by_reason[kind] = count.rows;
  CheckOutcome();
  report_.customers_before_cleaning = customers_read_.size();
  report_.customers_loaded = customers_loaded_.size();
  if (date_format_) {
    report_.date_order = "date_format";
  } else if (options_.date_order == DateOrder::kMonthFirst) {
    report_.date_order = "mdy";
  } else if (options_.date_order == DateOrder::kDayFirst) {
    report_.date_order = "dmy";
  } else if (saw_slash_dates_) {
    report_.date_order = slash_order_ == SlashOrder::kDayFirst ? "dmy" : "mdy";
  } else {
    report_.date_order = "iso";
  }
  return std::move(report_);
}

}  // namespace

ImportReport ImportCsv(std::string_view bytes, const ImportOptions& options, ImportSink& sink,
                       CancelCheck& cancel) {
  if (options.max_bytes > 0 && static_cast<int64_t>(bytes.size()) > options.max_bytes)
    throw Error(ErrorKind::kLimitExceeded,
                "the file is " + std::to_string(bytes.size()) +
                    " bytes, more than max_bytes = " + std::to_string(options.max_bytes),
                {}, "Raise the limit with options {\"max_bytes\": <n>} or 0 for no limit.");
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b)
    throw Error(ErrorKind::kNotSupported, "the data is gzip-compressed, not CSV text", {},
                "Decompress it first, or import the .gz file on the server with "
                "ltv.import_csv_file, which reads gzip.");
  if (HasUtf16Or32Bom(bytes))
    throw Error(ErrorKind::kNotSupported, "the file is UTF-16 or UTF-32 encoded", {},
                "Save it as UTF-8 (or Latin-1 / Windows-1252) CSV.");
  std::string_view body = StripUtf8Bom(bytes);
  // A NUL byte in the first line: binary data (an image, a spreadsheet, an archive), which
  // would otherwise be read as a Windows-1252 header of gibberish. (NUL in a data line only
  // rejects that line.)
  std::string_view first_line = body.substr(0, std::min<size_t>(body.find('\n'), 64 * 1024));
  if (size_t nul = first_line.find('\0'); nul != std::string_view::npos)
    throw Error(ErrorKind::kInvalidInput,
                "the data is binary, not CSV text (a NUL byte at offset " + std::to_string(nul) +
                    " of the first line)",
                {}, "Export the data as CSV (comma, semicolon or tab separated text).");
  if (IsBlank(body)) throw Error(ErrorKind::kInvalidInput, "file is empty");
  auto importer = std::make_unique<Importer>(body, options, sink, cancel);
  return importer->Run();
}

}  // namespace ltv::csv
