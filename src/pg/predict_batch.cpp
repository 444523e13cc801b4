// ltv.rf_predict_batch: many rows in one call. The model is decoded (or found in the cache)
// once and the trees are walked block by block on worker threads (core code only, they never
// call Postgres; the calling thread polls for a cancel), which is what the pipeline's
// prediction stage and ltv.predict use; rf_predict stays the per-row entry point.
#include "pg/guard.h"
#include "pg/srf.h"

#include <algorithm>
#include <cstring>

#include "core/forest/forest.h"
#include "pg/model_cache.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_rf_predict_batch);
}

namespace {

// Rows handled between two interrupt checks outside the core's prediction.
constexpr size_t kChunkRows = 8192;

struct BatchResult {
  int n_classes = 0;
  int32* classes = nullptr;  // n rows
  double* proba = nullptr;   // n x n_classes, row-major
};

}  // namespace

using namespace ltv::pg;

// rf_predict_batch(model bytea, keys text[], features float8[][]) RETURNS TABLE (key text,
// class int, probabilities float8[]): row i of the 2-D features array belongs to keys[i].
extern "C" Datum ltv_rf_predict_batch(PG_FUNCTION_ARGS) {
  ReturnSetInfo* rsinfo = MaterializeModeOrError(fcinfo, "ltv.rf_predict_batch");
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_predict_batch: model, keys and features must not be NULL")));
  ArrayType* keys = PG_GETARG_ARRAYTYPE_P(1);
  ArrayType* features = PG_GETARG_ARRAYTYPE_P(2);
  Datum* key_values = nullptr;
  bool* key_nulls = nullptr;
  int n_keys = 0;
  if (ARR_NDIM(keys) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_predict_batch: keys must be a one-dimensional array")));
  deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &key_values, &key_nulls, &n_keys);
  size_t n_rows = 0, n_features = 0;
  if (ARR_NDIM(features) == 2) {
    n_rows = static_cast<size_t>(ARR_DIMS(features)[0]);
    n_features = static_cast<size_t>(ARR_DIMS(features)[1]);
  } else if (ARR_NDIM(features) != 0) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_predict_batch: features must be a two-dimensional array "
                           "(one row of features per key), got %d dimension(s)",
                           ARR_NDIM(features)),
                    errhint("Build it with array_agg(feature_vector ORDER BY ...).")));
  }
  if (n_rows != static_cast<size_t>(n_keys))
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.rf_predict_batch: %d keys but %zu feature rows", n_keys, n_rows)));
  if (ARR_ELEMTYPE(features) != FLOAT8OID || ARR_HASNULL(features))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_predict_batch: features must be float8 without NULLs")));
  for (int i = 0; i < n_keys; ++i)
    if (key_nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ltv.rf_predict_batch: key %d is NULL", i + 1)));
  const double* rows = reinterpret_cast<const double*>(ARR_DATA_PTR(features));
  Datum model_datum = PG_GETARG_DATUM(0);

  BatchResult result = Guarded([&]() -> BatchResult {
    auto model = LoadModelDatum(model_datum);
    BatchResult out;
    out.n_classes = model->n_classes();
    const size_t k = static_cast<size_t>(out.n_classes);
    out.classes = static_cast<int32*>(PgCall([&] {
      return palloc_extended(std::max<size_t>(n_rows, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
    }));
    out.proba = static_cast<double*>(PgCall([&] {
      return palloc_extended(std::max<size_t>(n_rows * k, 1) * sizeof(double), MCXT_ALLOC_HUGE);
    }));
    // All rows in one call: the core splits them into blocks (each tree is streamed once per
    // block, so fewer, bigger blocks predict a large forest faster) over worker threads that
    // never call Postgres, while this thread polls for a cancel.
    ltv::CancelCheck cancel = MakeCancelCheck();
    model->PredictProbaInto(rows, n_rows, n_features, out.proba, model->params().ResolveThreads(),
                            cancel);
    const auto rule = model->params().decision;
    for (size_t i = 0; i < n_rows; ++i) {
      if (i % kChunkRows == 0) cancel.Check();
      out.classes[i] = model->Decide(out.proba + i * k, rule);
    }
    return out;
  });

  TupleDesc tupdesc;
  Tuplestorestate* store =
      BeginMaterializedResult(fcinfo, rsinfo, "ltv.rf_predict_batch", &tupdesc);

  Datum* proba_datums = static_cast<Datum*>(palloc(sizeof(Datum) * result.n_classes));
  for (size_t i = 0; i < n_rows; ++i) {
    if (i % kChunkRows == 0) CHECK_FOR_INTERRUPTS();
    for (int c = 0; c < result.n_classes; ++c)
      proba_datums[c] = Float8GetDatum(result.proba[i * result.n_classes + c]);
    ArrayType* proba = construct_array(proba_datums, result.n_classes, FLOAT8OID, sizeof(float8),
                                       FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    Datum values[3] = {key_values[i], Int32GetDatum(result.classes[i]), PointerGetDatum(proba)};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(store, tupdesc, values, nulls);
    pfree(proba);
  }
  return static_cast<Datum>(0);
}
