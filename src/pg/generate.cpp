// ltv.generate_dataset(name, customers, seed, options): a synthetic dataset written straight
// into the tables, streamed through COPY a few thousand customers at a time.
#include "pg/guard.h"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/generator/synthetic_generator.h"
#include "core/json.h"
#include "pg/dataset_loader.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_generate_dataset);
}

namespace ltv::pg {
namespace {

int64_t GenerateDataset(const std::string& name, int64_t customers, int64_t seed,
                        const std::string& options_text) {
  json::Value options = json::Parse(options_text);
  DatasetOptions host = TakeDatasetOptions(options);
  if (customers < 1 || customers > 100000000)
    throw Error(ErrorKind::kInvalidParameter,
                "customers must be between 1 and 100000000, got " + std::to_string(customers));
  if (seed < 0) throw Error(ErrorKind::kInvalidParameter, "seed must not be negative");
  if (options.Find("customers") || options.Find("seed"))
    throw Error(ErrorKind::kInvalidParameter,
                "give customers and seed as arguments of ltv.generate_dataset, not as options");
  options.Set("customers", customers);
  options.Set("seed", seed);
  generator::SyntheticGenerator generator(generator::ParseGeneratorOptions(options));

  DatasetLoader loader(name, "generator", options.Dump(), host);
  const int64_t dataset_id = loader.dataset_id();
  CancelCheck cancel = MakeCancelCheck();

  int64_t line_no = 1, rows_read = 0, rows_loaded = 0, returns = 0;
  int64_t missing_customer = 0, customers_loaded = 0;
  TimestampMicros first = std::numeric_limits<TimestampMicros>::max();
  TimestampMicros last = std::numeric_limits<TimestampMicros>::min();
  std::vector<Transaction> lines;
  for (int64_t c = 0; c < customers; ++c) {
    if (c % 2000 == 0) cancel.Check();
    lines.clear();
    generator.GenerateCustomer(c, lines);
    bool customer_has_rows = false;
    for (Transaction& t : lines) {
      t.line_no = ++line_no;
      ++rows_read;
      if (t.customer_id.empty()) {  // the missing_customer cleaning rule, as for a file
        ++missing_customer;
        continue;
      }
      customer_has_rows = true;
      ++rows_loaded;
      returns += t.is_return;
      first = std::min(first, t.invoice_time);
      last = std::max(last, t.invoice_time);
      loader.AddTransaction(t);
    }
    customers_loaded += customer_has_rows;
  }

  json::Value report = json::Value::MakeObject();
  report.Set("rows_read", rows_read);
  report.Set("rows_loaded", rows_loaded);
  report.Set("rows_excluded", missing_customer);
  report.Set("rows_rejected", int64_t{0});
  json::Value rules = json::Value::MakeObject();
  rules.Set("missing_customer", missing_customer);
  for (const char* rule :
       {"non_product_code", "zero_quantity", "non_positive_price", "exact_duplicate"})
    rules.Set(rule, int64_t{0});
  report.Set("excluded_by_rule", rules);
  report.Set("cancellation_return_kept", returns);
  report.Set("generator", options);
  loader.Finish(report, customers_loaded, first, last);
  return dataset_id;
}

}  // namespace
}  // namespace ltv::pg

extern "C" Datum ltv_generate_dataset(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.generate_dataset: name, customers and seed must not be NULL")));
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  int64 customers = PG_GETARG_INT32(1);
  int64 seed = PG_GETARG_INT32(2);
  char* options =
      PG_ARGISNULL(3) ? pstrdup("{}") : JsonbToCString(nullptr, &PG_GETARG_JSONB_P(3)->root, 0);
  LTV_GUARDED({ return Int64GetDatum(ltv::pg::GenerateDataset(name, customers, seed, options)); });
}
