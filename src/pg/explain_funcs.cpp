// ltv.rf_explain_batch: exact per-row explanations (core/explain's TreeSHAP) of many rows in
// one call. The model is decoded once (or found in the backend's cache), covers are counted
// from the reference rows, and the rows are explained on worker threads (core code only; the
// calling thread polls for a cancel), like rf_predict_batch.
#include "pg/guard.h"
#include "pg/srf.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/explain/tree_shap.h"
#include "pg/model_cache.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_rf_explain_batch);
}

using namespace ltv::pg;

namespace {

struct Explained {
  int n_classes = 0;
  int n_features = 0;
  double* base = nullptr;           // n_classes
  double* contributions = nullptr;  // n_rows x n_classes x n_features
  text** names = nullptr;           // n_features
};

// A 2-D float8 array without NULLs as rows x columns; an empty array is 0 rows.
const double* Matrix(ArrayType* a, const char* what, size_t* n_rows, size_t* n_columns) {
  *n_rows = 0;
  *n_columns = 0;
  if (ARR_NDIM(a) == 2) {
    *n_rows = static_cast<size_t>(ARR_DIMS(a)[0]);
    *n_columns = static_cast<size_t>(ARR_DIMS(a)[1]);
  } else if (ARR_NDIM(a) != 0) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_explain_batch: %s must be a two-dimensional array (one row of "
                           "features each), got %d dimension(s)",
                           what, ARR_NDIM(a))));
  }
  if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_explain_batch: %s must be float8 without NULLs", what)));
  return reinterpret_cast<const double*>(ARR_DATA_PTR(a));
}

}  // namespace

// rf_explain_batch(model bytea, keys text[], features float8[][], reference float8[][])
// RETURNS TABLE (key text, class int, base float8, feature text, value float8,
// contribution float8): per row (keys[i] is row i), per class, per model input. Node covers
// come from the reference rows; a NULL reference splits every node's weight equally.
extern "C" Datum ltv_rf_explain_batch(PG_FUNCTION_ARGS) {
  ReturnSetInfo* rsinfo = MaterializeModeOrError(fcinfo, "ltv.rf_explain_batch");
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_explain_batch: model, keys and features must not be NULL")));
  ArrayType* keys = PG_GETARG_ARRAYTYPE_P(1);
  if (ARR_NDIM(keys) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_explain_batch: keys must be a one-dimensional array")));
  Datum* key_values = nullptr;
  bool* key_nulls = nullptr;
  int n_keys = 0;
  deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &key_values, &key_nulls, &n_keys);
  for (int i = 0; i < n_keys; ++i)
    if (key_nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ltv.rf_explain_batch: key %d is NULL", i + 1)));
  size_t n_rows = 0, n_features = 0;
  const double* rows = Matrix(PG_GETARG_ARRAYTYPE_P(2), "features", &n_rows, &n_features);
  if (n_rows != static_cast<size_t>(n_keys))
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_explain_batch: %d keys but %zu feature rows", n_keys, n_rows)));
  const double* reference = nullptr;
  size_t n_reference = 0, reference_width = 0;
  if (!PG_ARGISNULL(3)) {
    reference = Matrix(PG_GETARG_ARRAYTYPE_P(3), "reference", &n_reference, &reference_width);
    if (n_reference == 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ltv.rf_explain_batch: reference has no rows"),
                      errhint("Pass NULL to split every node's weight equally.")));
  }
  Datum model_datum = PG_GETARG_DATUM(0);

  Explained result = Guarded([&]() -> Explained {
    auto model = LoadModelDatum(model_datum);
    ltv::CancelCheck cancel = MakeCancelCheck();
    const int threads = model->params().ResolveThreads();
    ltv::explain::NodeShares shares =
        reference ? ltv::explain::NodeShares::FromRows(*model, reference, n_reference,
                                                       reference_width, threads, cancel)
                  : ltv::explain::NodeShares::Equal(*model);
    ltv::explain::TreeExplainer explainer(*model, std::move(shares));
    Explained out;
    out.n_classes = model->n_classes();
    out.n_features = model->n_features();
    const size_t k = static_cast<size_t>(out.n_classes), f = static_cast<size_t>(out.n_features);
    out.base = static_cast<double*>(PgCall([&] { return palloc(k * sizeof(double)); }));
    std::copy(explainer.base().begin(), explainer.base().end(), out.base);
    out.contributions = static_cast<double*>(PgCall([&] {
      return palloc_extended(std::max<size_t>(n_rows * k * f, 1) * sizeof(double), MCXT_ALLOC_HUGE);
    }));
    explainer.ExplainInto(rows, n_rows, n_features, out.contributions, threads, cancel);
    out.names =
        static_cast<text**>(PgCall([&] { return palloc(std::max<size_t>(f, 1) * sizeof(text*)); }));
    for (size_t j = 0; j < f; ++j) {
      const char* name = model->feature_names()[j].c_str();
      out.names[j] = PgCall([&] { return cstring_to_text(name); });
    }
    return out;
  });

  TupleDesc tupdesc;
  Tuplestorestate* store =
      BeginMaterializedResult(fcinfo, rsinfo, "ltv.rf_explain_batch", &tupdesc);

  const size_t k = static_cast<size_t>(result.n_classes),
               f = static_cast<size_t>(result.n_features);
  for (size_t i = 0; i < n_rows; ++i) {
    CHECK_FOR_INTERRUPTS();
    for (size_t c = 0; c < k; ++c)
      for (size_t j = 0; j < f; ++j) {
        Datum values[6] = {key_values[i],
                           Int32GetDatum(static_cast<int32>(c)),
                           Float8GetDatum(result.base[c]),
                           PointerGetDatum(result.names[j]),
                           Float8GetDatum(rows[i * n_features + j]),
                           Float8GetDatum(result.contributions[(i * k + c) * f + j])};
        bool nulls[6] = {false, false, false, false, false, false};
        tuplestore_putvalues(store, tupdesc, values, nulls);
      }
  }
  return static_cast<Datum>(0);
}
