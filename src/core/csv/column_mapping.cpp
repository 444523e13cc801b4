#include "core/csv/column_mapping.h"

#include <initializer_list>

#include "core/csv/excerpt.h"
#include "core/error.h"

namespace ltv::csv {

namespace {

constexpr const char* kColumnNames[kColumnCount] = {"invoice",      "stock_code",  "description",
                                                    "quantity",     "unit_price",  "amount",
                                                    "invoice_time", "customer_id", "country"};

// Normalized header names recognised for each logical column, most specific first. They cover
// UCI Online Retail (InvoiceNo, UnitPrice, CustomerID), Online Retail II (Invoice, Price,
// Customer ID), their snake_case forms and common names of other shop exports.
const std::initializer_list<const char*> kSynonyms[kColumnCount] = {
    {"invoiceno", "invoice", "invoiceid", "invoicenumber", "invoicenr", "orderid", "orderno",
     "ordernumber", "order", "transactionid", "receiptno", "receiptid"},
    {"stockcode", "sku", "productcode", "productid", "itemcode", "itemid", "articleno",
     "productno"},
    {"description", "productdescription", "itemdescription", "productname", "itemname", "desc"},
    {"quantity", "qty", "units", "quantityordered"},
    {"unitprice", "price", "priceperunit", "itemprice", "priceeach"},
    {"amount", "lineamount", "totalamount", "linetotal", "totalprice", "revenue", "sales", "total"},
    {"invoicedate", "invoicetime", "invoicedatetime", "invoicetimestamp", "orderdate",
     "orderdatetime", "ordertime", "transactiondate", "transactiontime", "purchasedate", "datetime",
     "timestamp", "date"},
    {"customerid", "customer", "customerno", "customernumber", "customercode", "clientid", "client",
     "userid"},
    {"country", "countryname", "countrycode"},
};

// The header for a message: at most 30 names, each an excerpt (a header line can hold 10,000
// fields, or one field of 100 MB).
std::string JoinHeader(const std::vector<std::string>& header) {
  constexpr size_t kMaxNames = 30;
  std::string list;
  for (size_t i = 0; i < header.size() && i < kMaxNames; ++i) {
    if (!list.empty()) list += ", ";
    list += header[i].empty() ? "(empty)" : Excerpt(header[i], 40);
  }
  if (header.size() > kMaxNames)
    list += " and " + std::to_string(header.size() - kMaxNames) + " more";
  return list;
}

int FindHeader(const std::vector<std::string>& header, const std::string& wanted) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == wanted) return static_cast<int>(i);
  std::string norm = NormalizeHeaderName(wanted);
  for (size_t i = 0; i < header.size(); ++i)
    if (NormalizeHeaderName(header[i]) == norm) return static_cast<int>(i);
  return ColumnMapping::kAbsent;
}

[[noreturn]] void ThrowMissing(const char* missing, const std::vector<std::string>& header) {
  throw Error(ErrorKind::kUndefinedColumn,
              std::string("required column \"") + missing +
                  "\" not found; columns found: " + JoinHeader(header),
              {},
              "Name the column with options.columns, e.g. {\"columns\": {\"" +
                  std::string(missing) + "\": \"<header name in your file>\"}}.");
}

}  // namespace

const char* ColumnName(Column c) { return kColumnNames[static_cast<int>(c)]; }

std::string NormalizeHeaderName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ' ' || c == '_' || c == '-' || c == '.' || c == '\t') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

ColumnMapping MapColumns(const std::vector<std::string>& header,
                         const std::map<std::string, std::string>& explicit_map) {
  ColumnMapping mapping;
  std::vector<bool> taken(header.size(), false);

  for (const auto& [logical, header_name] : explicit_map) {
    int col = -1;
    for (int c = 0; c < kColumnCount; ++c)
      if (logical == kColumnNames[c]) col = c;
    if (col < 0) {
      std::string known;
      for (const char* n : kColumnNames) known += (known.empty() ? "" : ", ") + std::string(n);
      throw Error(ErrorKind::kInvalidParameter,
                  "unknown logical column \"" + Excerpt(logical) + "\" in options.columns",
                  "Known logical columns: " + known + ".");
    }
    int idx = FindHeader(header, header_name);
    if (idx == ColumnMapping::kAbsent)
      throw Error(ErrorKind::kUndefinedColumn,
                  "column \"" + Excerpt(header_name) + "\" given in options.columns for \"" +
                      logical + "\" is not in the file; columns found: " + JoinHeader(header));
    mapping.index[col] = idx;
    taken[idx] = true;
  }

  std::vector<std::string> normalized;
  normalized.reserve(header.size());
  for (const auto& h : header) normalized.push_back(NormalizeHeaderName(h));

  for (int c = 0; c < kColumnCount; ++c) {
    if (mapping.index[c] != ColumnMapping::kAbsent) continue;
    for (const char* synonym : kSynonyms[c]) {
      for (size_t i = 0; i < normalized.size() && mapping.index[c] == ColumnMapping::kAbsent; ++i) {
        if (!taken[i] && normalized[i] == synonym) {
          mapping.index[c] = static_cast<int>(i);
          taken[i] = true;
        }
      }
      if (mapping.index[c] != ColumnMapping::kAbsent) break;
    }
  }

  if (!mapping.Has(Column::kCustomerId)) ThrowMissing("customer_id", header);
  if (!mapping.Has(Column::kInvoiceTime)) ThrowMissing("invoice_time", header);
  if (!mapping.Has(Column::kAmount)) {
    if (!mapping.Has(Column::kQuantity)) ThrowMissing("quantity", header);
    if (!mapping.Has(Column::kUnitPrice)) ThrowMissing("unit_price", header);
  }
  return mapping;
}

}  // namespace ltv::csv
