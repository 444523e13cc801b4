// ltv.classification_metrics: the core metrics module (scikit-learn's conventions) over two
// label arrays, for the evaluation stage and for analysts comparing any two labelings.
#include "pg/guard.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/forest/metrics.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_classification_metrics);
}

namespace {

// A one-dimensional int4[] without NULLs, in a palloc'd copy the caller may read freely.
int ReadLabels(ArrayType* array, const char* what, int32** out) {
  if (ARR_NDIM(array) > 1 || ARR_HASNULL(array))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.classification_metrics: %s must be a one-dimensional int array "
                           "without NULLs",
                           what)));
  int n = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
  *out = reinterpret_cast<int32*>(ARR_DATA_PTR(array));
  return n;
}

}  // namespace

using namespace ltv::pg;

extern "C" Datum ltv_classification_metrics(PG_FUNCTION_ARGS) {
  int32* truth = nullptr;
  int32* predicted = nullptr;
  int n_truth = ReadLabels(PG_GETARG_ARRAYTYPE_P(0), "truth", &truth);
  int n_predicted = ReadLabels(PG_GETARG_ARRAYTYPE_P(1), "predicted", &predicted);
  int n_classes = PG_GETARG_INT32(2);
  if (n_truth != n_predicted)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("ltv.classification_metrics: %d true labels but %d predicted labels",
                           n_truth, n_predicted)));
  if (n_classes < 1 || n_classes > 1024)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
             errmsg("ltv.classification_metrics: n_classes must be 1..1024, got %d", n_classes)));
  char* text = Guarded([&]() -> char* {
    ltv::forest::ConfusionMatrix cm(truth, predicted, static_cast<size_t>(n_truth), n_classes);
    std::string json = ltv::forest::MetricsJson(cm).Dump();
    char* copy = static_cast<char*>(PgCall([&] { return palloc(json.size() + 1); }));
    std::memcpy(copy, json.c_str(), json.size() + 1);
    return copy;
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}
