// Recognising the logical columns of a retail export from its header.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ltv::csv {

enum class Column {
  kInvoice,
  kStockCode,
  kDescription,
  kQuantity,
  kUnitPrice,
  kAmount,
  kInvoiceTime,
  kCustomerId,
  kCountry,
};
constexpr int kColumnCount = 9;

// The logical column names used in options.columns and in the report: "invoice",
// "stock_code", "description", "quantity", "unit_price", "amount", "invoice_time",
// "customer_id", "country".
const char* ColumnName(Column c);

// Lower-cases and drops spaces, underscores, hyphens and dots, so that "Customer ID",
// "customer_id" and "CustomerID" all read "customerid".
std::string NormalizeHeaderName(std::string_view name);

struct ColumnMapping {
  static constexpr int kAbsent = -1;
  std::array<int, kColumnCount> index{};  // field index in each record, or kAbsent

  ColumnMapping() { index.fill(kAbsent); }
  bool Has(Column c) const { return index[static_cast<int>(c)] != kAbsent; }
  int operator[](Column c) const { return index[static_cast<int>(c)]; }
};

// Maps `header` (fields already trimmed and in UTF-8) to logical columns. Entries of
// `explicit_map` (logical name -> header name; exact match first, then normalized) take
// precedence over the built-in synonyms. Throws ltv::Error:
//   kInvalidParameter for an unknown logical name in `explicit_map`,
//   kUndefinedColumn for an explicit header name not in the file, or when a required column
//   (customer_id, invoice_time, and quantity + unit_price or amount) cannot be found; the
//   message names the column and lists the columns found.
ColumnMapping MapColumns(const std::vector<std::string>& header,
                         const std::map<std::string, std::string>& explicit_map);

}  // namespace ltv::csv
