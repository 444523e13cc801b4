// ltv._feature_registry_json: the feature registry (core/features/registry.h) for SQL, from
// which the install script creates ltv.features, ltv.customer_features and
// ltv.feature_vector, and ltv.feature_registry() shows it to users.
#include "pg/guard.h"
#include "pg/convert.h"

#include <cstring>
#include <string>

#include "core/features/registry.h"
#include "core/json.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_feature_registry_json);
}

using namespace ltv::pg;

extern "C" Datum ltv_feature_registry_json(PG_FUNCTION_ARGS) {
  char* text = Guarded([&]() -> char* {
    using namespace ltv::features;
    ltv::json::Value rows = ltv::json::Value::MakeArray();
    for (const FeatureDef& d : FeatureRegistry()) {
      ltv::json::Value row = ltv::json::Value::MakeObject();
      row.Set("name", std::string(d.name));
      row.Set("sql_type", std::string(SqlTypeName(d.type)));
      row.Set("source", std::string(SourceName(d.source)));
      row.Set("model_input", d.model_input);
      row.Set("missing_value", d.model_input ? ltv::json::Value(d.missing) : ltv::json::Value());
      row.Set("argument",
              d.argument.empty() ? ltv::json::Value() : ltv::json::Value(std::string(d.argument)));
      row.Set("description", std::string(d.description));
      rows.Push(std::move(row));
    }
    return PallocJsonText(rows);
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

// ltv._derived_inputs() -> text[]: the columns ltv._derived_features takes, in order.
// ltv._derived_features(positions int[], inputs float8[][], horizon_days float8) -> float8[][]:
// row j is derived feature j (ltv._derived_names() order), element p the value of the member
// whose position is p (0 where no member is); inputs[i][c] is member i's value of column c.
#include "core/features/derived.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_derived_inputs);
PG_FUNCTION_INFO_V1(ltv_derived_names);
PG_FUNCTION_INFO_V1(ltv_derived_features);
}

namespace {
ArrayType* TextArray(const std::vector<std::string>& names) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (names.size() + 1)));
  for (size_t i = 0; i < names.size(); ++i) datums[i] = CStringGetTextDatum(names[i].c_str());
  return construct_array(datums, static_cast<int>(names.size()), TEXTOID, -1, false, TYPALIGN_INT);
}
}  // namespace

extern "C" Datum ltv_derived_inputs(PG_FUNCTION_ARGS) {
  PG_RETURN_ARRAYTYPE_P(TextArray(ltv::features::DerivedInputs()));
}

extern "C" Datum ltv_derived_names(PG_FUNCTION_ARGS) {
  PG_RETURN_ARRAYTYPE_P(TextArray(ltv::features::DerivedNames()));
}

extern "C" Datum ltv_derived_features(PG_FUNCTION_ARGS) {
  const char* fn = "ltv._derived_features";
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s: arguments must not be NULL", fn)));
  ArrayType* positions_array = PG_GETARG_ARRAYTYPE_P(0);
  ArrayType* inputs_array = PG_GETARG_ARRAYTYPE_P(1);
  const double horizon_days = PG_GETARG_FLOAT8(2);
  if (ARR_NDIM(positions_array) > 1 || ARR_HASNULL(positions_array) || ARR_HASNULL(inputs_array))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s: positions and inputs must not contain NULLs", fn)));
  const int n = ARR_NDIM(positions_array) == 0 ? 0 : ARR_DIMS(positions_array)[0];
  const int m = static_cast<int>(ltv::features::DerivedInputs().size());
  const int d = static_cast<int>(ltv::features::DerivedNames().size());
  if (n > 0 && (ARR_NDIM(inputs_array) != 2 || ARR_DIMS(inputs_array)[0] != n ||
                ARR_DIMS(inputs_array)[1] != m))
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("%s: inputs must be a %d x %d array (members x ltv._derived_inputs())",
                           fn, n, m)));
  const int32* positions = reinterpret_cast<const int32*>(ARR_DATA_PTR(positions_array));
  const double* inputs =
      n > 0 ? reinterpret_cast<const double*>(ARR_DATA_PTR(inputs_array)) : nullptr;
  const int32 length = PositionsLength(positions, n, sizeof(double) * std::max(d, 1), fn);
  const size_t bytes = ARR_OVERHEAD_NONULLS(2) + static_cast<size_t>(length) * d * sizeof(double);
  auto* result = static_cast<ArrayType*>(palloc0(bytes));
  SET_VARSIZE(result, bytes);
  result->ndim = 2;
  result->dataoffset = 0;
  result->elemtype = FLOAT8OID;
  ARR_DIMS(result)[0] = d;
  ARR_DIMS(result)[1] = length;
  ARR_LBOUND(result)[0] = 1;
  ARR_LBOUND(result)[1] = 1;
  double* out = reinterpret_cast<double*>(ARR_DATA_PTR(result));
  Guarded([&] {
    std::vector<std::vector<double>> columns(m, std::vector<double>(n));
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < m; ++c) columns[c][i] = inputs[static_cast<size_t>(i) * m + c];
    ltv::CancelCheck cancel = MakeCancelCheck();
    std::vector<std::vector<double>> derived =
        ltv::features::ComputeDerived(columns, horizon_days, cancel);
    for (int j = 0; j < d; ++j)
      for (int i = 0; i < n; ++i)
        out[static_cast<size_t>(j) * length + (positions[i] - 1)] = derived[j][i];
  });
  PG_RETURN_ARRAYTYPE_P(result);
}
