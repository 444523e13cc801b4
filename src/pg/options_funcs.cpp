// The analysis options (core/analysis/options.h) for SQL:
//   ltv._analysis_settings(dataset_id, customers, first_purchase, last_purchase, options) -> jsonb
//       the resolved settings of a run, or the error naming the bad option
//   ltv._check_buckets(buckets) -> jsonb: a bucket definition checked as the option is
//   ltv._size_policy_params(resolved_forest, given_forest, rows) -> jsonb
//       the forest parameters for training on that many rows
//   ltv._analysis_options_json() -> jsonb, ltv._analysis_options_markdown() -> text
//       the table of options, for ltv.analysis_options(), the API's list and docs/options.md
#include "pg/guard.h"
#include "pg/convert.h"

#include <cstring>
#include <string>

#include "core/analysis/options.h"
#include "core/json.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_analysis_settings);
PG_FUNCTION_INFO_V1(ltv_size_policy_params);
PG_FUNCTION_INFO_V1(ltv_check_buckets);
PG_FUNCTION_INFO_V1(ltv_analysis_options_json);
PG_FUNCTION_INFO_V1(ltv_analysis_options_markdown);
}

using namespace ltv::pg;

namespace {
std::string JsonbArgText(FunctionCallInfo fcinfo, int arg) {
  if (PG_ARGISNULL(arg)) return "null";
  char* text = JsonbToCString(nullptr, &PG_GETARG_JSONB_P(arg)->root, 0);
  std::string out(text);
  pfree(text);
  return out;
}

Datum JsonbResult(char* text) { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text)); }
}  // namespace

extern "C" Datum ltv_analysis_settings(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const int64 dataset_id = PG_GETARG_INT64(0);
  const int64 customers = PG_GETARG_INT64(1);
  const bool has_first = !PG_ARGISNULL(2), has_last = !PG_ARGISNULL(3);
  const Timestamp first = has_first ? PG_GETARG_TIMESTAMP(2) : 0;
  const Timestamp last = has_last ? PG_GETARG_TIMESTAMP(3) : 0;
  std::string options = JsonbArgText(fcinfo, 4);
  char* text = Guarded([&]() -> char* {
    ltv::analysis::DatasetFacts facts;
    facts.dataset_id = dataset_id;
    facts.customers = customers;
    if (has_first) facts.first_purchase = ToCoreTime(first, "first_purchase");
    if (has_last) facts.last_purchase = ToCoreTime(last, "last_purchase");
    return PallocJsonText(ltv::analysis::ResolveAnalysisOptions(facts, ltv::json::Parse(options)));
  });
  PG_RETURN_DATUM(JsonbResult(text));
}

extern "C" Datum ltv_check_buckets(PG_FUNCTION_ARGS) {
  std::string buckets = JsonbArgText(fcinfo, 0);
  char* text = Guarded([&]() -> char* {
    return PallocJsonText(ltv::analysis::CheckBuckets(ltv::json::Parse(buckets)));
  });
  PG_RETURN_DATUM(JsonbResult(text));
}

extern "C" Datum ltv_size_policy_params(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  std::string resolved = JsonbArgText(fcinfo, 0);
  std::string given = JsonbArgText(fcinfo, 1);
  const int64 rows = PG_GETARG_INT64(2);
  char* text = Guarded([&]() -> char* {
    ltv::json::Value g = ltv::json::Parse(given);
    return PallocJsonText(
        ltv::analysis::SizePolicy::TrainingParams(ltv::json::Parse(resolved), &g, rows));
  });
  PG_RETURN_DATUM(JsonbResult(text));
}

extern "C" Datum ltv_analysis_options_json(PG_FUNCTION_ARGS) {
  char* text = Guarded([&]() -> char* {
    ltv::json::Value rows = ltv::json::Value::MakeArray();
    for (const auto& s : ltv::analysis::AnalysisOptionSpecs()) {
      ltv::json::Value row = ltv::json::Value::MakeObject();
      row.Set("name", s.name)
          .Set("type", s.type)
          .Set("default_value", ltv::analysis::DefaultText(s))
          .Set("accepted", ltv::analysis::AcceptedText(s))
          .Set("api", s.api)
          .Set("description", s.description);
      rows.Push(std::move(row));
    }
    return PallocJsonText(rows);
  });
  PG_RETURN_DATUM(JsonbResult(text));
}

extern "C" Datum ltv_analysis_options_markdown(PG_FUNCTION_ARGS) {
  char* text = Guarded([&]() -> char* {
    std::string md = ltv::analysis::OptionsMarkdown();
    char* out = static_cast<char*>(PgCall([&] { return palloc(md.size() + 1); }));
    std::memcpy(out, md.c_str(), md.size() + 1);
    return out;
  });
  PG_RETURN_TEXT_P(cstring_to_text(text));
}
