// ImportReport::ToJson: the cleaning report stored with a dataset.
#include "core/csv/cleaning_rules.h"
#include "core/csv/csv_import.h"
#include "core/csv/value_parsing.h"

namespace ltv::csv {

json::Value ImportReport::ToJson() const {
  json::Value out = json::Value::MakeObject();
  out.Set("rows_read", rows_read);
  out.Set("rows_loaded", rows_loaded);
  out.Set("rows_excluded", rows_excluded);
  out.Set("rows_rejected", rows_rejected);
  json::Value rules = json::Value::MakeObject();
  for (const char* rule : kCleaningRules) {
    auto it = excluded_by_rule.find(rule);
    rules.Set(rule, it == excluded_by_rule.end() ? int64_t{0} : it->second);
  }
  out.Set("excluded_by_rule", std::move(rules));
  out.Set(kReturnsKeptName, returns_loaded);
  out.Set("customers_before_cleaning", customers_before_cleaning);
  out.Set("customers_loaded", customers_loaded);
  if (rows_loaded > 0) {
    out.Set("first_purchase", FormatTimestamp(first_purchase));
    out.Set("last_purchase", FormatTimestamp(last_purchase));
  } else {
    out.Set("first_purchase", nullptr);
    out.Set("last_purchase", nullptr);
  }
  out.Set("delimiter", std::string(1, delimiter));
  out.Set("encoding", encoding);
  out.Set("date_order", date_order);
  json::Value cols = json::Value::MakeObject();
  for (const auto& [logical, name] : columns) cols.Set(logical, name);
  out.Set("columns", std::move(cols));
  json::Value head = json::Value::MakeArray();
  for (const auto& h : header) head.Push(h);
  out.Set("header", std::move(head));
  return out;
}

}  // namespace ltv::csv
