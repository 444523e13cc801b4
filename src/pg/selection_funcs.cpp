// ltv._evaluate_candidates and ltv._assign_candidates: the candidate predictors of a run
// (core/selection) over the arrays of one or more snapshots. The analysis passes every
// customer of a fold in customer order; the core does the rest.
#include "pg/guard.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/selection/candidates.h"
#include "core/selection/evaluate.h"
#include "pg/convert.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_evaluate_candidates);
PG_FUNCTION_INFO_V1(ltv_assign_candidates);
}

namespace {

using ltv::selection::Fold;
using ltv::selection::ScoreInputs;

// A one-dimensional int4[] without NULLs, copied (Postgres errors only: call before any C++
// object is alive).
struct IntValues {
  const int32* data;
  int size;
};
IntValues IntArrayValues(ArrayType* array, const char* function, const char* what) {
  if (ARR_NDIM(array) > 1 || ARR_HASNULL(array) || ARR_ELEMTYPE(array) != INT4OID)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s: %s must be a one-dimensional integer array without NULLs", function,
                           what)));
  return {reinterpret_cast<const int32*>(ARR_DATA_PTR(array)),
          ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0]};
}

}  // namespace

using namespace ltv::pg;

// (fold int[], labels text[], truth int[], future_spend float8[], naive_bucket int[],
//  naive_score float8[], model_class int[], model_score float8[], clv_score float8[],
//  shares float8[] (4 per fold), seed bigint, bootstrap_rounds int) -> jsonb
extern "C" Datum ltv_evaluate_candidates(PG_FUNCTION_ARGS) {
  const char* fn = "ltv._evaluate_candidates";
  for (int i = 0; i < 12; ++i)
    if (PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("%s: argument %d is NULL", fn, i + 1)));
  IntValues fold = IntArrayValues(PG_GETARG_ARRAYTYPE_P(0), fn, "fold");
  ArrayType* labels_array = PG_GETARG_ARRAYTYPE_P(1);
  IntValues truth = IntArrayValues(PG_GETARG_ARRAYTYPE_P(2), fn, "truth");
  IntValues naive_bucket = IntArrayValues(PG_GETARG_ARRAYTYPE_P(4), fn, "naive_bucket");
  IntValues model_class = IntArrayValues(PG_GETARG_ARRAYTYPE_P(6), fn, "model_class");
  ArrayType* future = PG_GETARG_ARRAYTYPE_P(3);
  ArrayType* naive_score = PG_GETARG_ARRAYTYPE_P(5);
  ArrayType* model_score = PG_GETARG_ARRAYTYPE_P(7);
  ArrayType* clv_score = PG_GETARG_ARRAYTYPE_P(8);
  ArrayType* shares = PG_GETARG_ARRAYTYPE_P(9);
  int64 seed = PG_GETARG_INT64(10);
  int32 rounds = PG_GETARG_INT32(11);
  if (rounds < 0 || rounds > 100000)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s: bootstrap_rounds must be 0..100000, got %d", fn, rounds)));
  Datum* label_values = nullptr;
  bool* label_nulls = nullptr;
  int n_labels = 0;
  if (ARR_NDIM(labels_array) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("%s: labels must be one-dimensional", fn)));
  deconstruct_array(labels_array, TEXTOID, -1, false, TYPALIGN_INT, &label_values, &label_nulls,
                    &n_labels);
  for (int i = 0; i < n_labels; ++i)
    if (label_nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("%s: labels must not contain NULLs", fn)));
  std::vector<char*> label_text(n_labels);
  for (int i = 0; i < n_labels; ++i) label_text[i] = TextDatumGetCString(label_values[i]);

  char* result = Guarded([&]() -> char* {
    const int n = fold.size;
    auto need = [&](size_t got, const char* what, bool optional) {
      if (got != static_cast<size_t>(n) && !(optional && got == 0))
        throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                         std::string(fn) + ": " + what + " has " + std::to_string(got) +
                             " elements, fold has " + std::to_string(n));
    };
    DoubleValues fut = DoubleArrayValues(future, "future_spend");
    DoubleValues ns = DoubleArrayValues(naive_score, "naive_score");
    DoubleValues ms = DoubleArrayValues(model_score, "model_score");
    DoubleValues cs = DoubleArrayValues(clv_score, "clv_score");
    DoubleValues sh = DoubleArrayValues(shares, "shares");
    need(truth.size, "truth", false);
    need(fut.size, "future_spend", false);
    need(naive_bucket.size, "naive_bucket", false);
    need(ns.size, "naive_score", false);
    need(model_class.size, "model_class", true);
    need(ms.size, "model_score", true);
    need(cs.size, "clv_score", true);
    int n_folds = 0;
    for (int i = 0; i < n; ++i) {
      if (fold.data[i] < 1 || fold.data[i] > n_labels)
        throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                         std::string(fn) + ": fold numbers must be 1.." + std::to_string(n_labels) +
                             " (one label each)");
      n_folds = std::max(n_folds, static_cast<int>(fold.data[i]));
    }
    if (sh.size != static_cast<size_t>(4 * n_labels))
      throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                       std::string(fn) + ": shares must hold 4 numbers per fold");
    std::vector<Fold> folds(n_labels);
    for (int k = 0; k < n_labels; ++k) {
      folds[k].label = label_text[k];
      folds[k].shares = ltv::selection::NormalizedShares(
          std::vector<double>(sh.data + 4 * k, sh.data + 4 * k + 4));
    }
    for (int i = 0; i < n; ++i) {
      Fold& f = folds[fold.data[i] - 1];
      f.truth.push_back(truth.data[i]);
      f.future_spend.push_back(fut.data[i]);
      f.inputs.naive_bucket.push_back(naive_bucket.data[i]);
      f.inputs.naive_score.push_back(ns.data[i]);
      if (model_class.size) f.inputs.model_class.push_back(model_class.data[i]);
      if (ms.size) f.inputs.model_score.push_back(ms.data[i]);
      if (cs.size) f.inputs.clv_score.push_back(cs.data[i]);
    }
    for (const Fold& f : folds)
      if (f.truth.empty())
        throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                         std::string(fn) + ": fold " + f.label + " has no customers");
    ltv::selection::EvaluationOptions options;
    options.seed = static_cast<uint64_t>(seed);
    options.bootstrap_rounds = rounds;
    return PallocJsonText(ltv::selection::EvaluateCandidates(folds, options));
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}

// (candidate text, naive_bucket int[], naive_score float8[], model_class int[],
//  model_score float8[], clv_score float8[], shares float8[4]) -> int[] (buckets 0..3)
extern "C" Datum ltv_assign_candidates(PG_FUNCTION_ARGS) {
  const char* fn = "ltv._assign_candidate";
  for (int i = 0; i < 7; ++i)
    if (PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("%s: argument %d is NULL", fn, i + 1)));
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  IntValues naive_bucket = IntArrayValues(PG_GETARG_ARRAYTYPE_P(1), fn, "naive_bucket");
  ArrayType* naive_score = PG_GETARG_ARRAYTYPE_P(2);
  IntValues model_class = IntArrayValues(PG_GETARG_ARRAYTYPE_P(3), fn, "model_class");
  ArrayType* model_score = PG_GETARG_ARRAYTYPE_P(4);
  ArrayType* clv_score = PG_GETARG_ARRAYTYPE_P(5);
  ArrayType* shares = PG_GETARG_ARRAYTYPE_P(6);
  int32* out = nullptr;
  int n = naive_bucket.size;
  Guarded([&] {
    ScoreInputs inputs;
    inputs.naive_bucket.assign(naive_bucket.data, naive_bucket.data + n);
    DoubleValues ns = DoubleArrayValues(naive_score, "naive_score");
    DoubleValues ms = DoubleArrayValues(model_score, "model_score");
    DoubleValues cs = DoubleArrayValues(clv_score, "clv_score");
    DoubleValues sh = DoubleArrayValues(shares, "shares");
    inputs.naive_score.assign(ns.data, ns.data + ns.size);
    inputs.model_class.assign(model_class.data, model_class.data + model_class.size);
    inputs.model_score.assign(ms.data, ms.data + ms.size);
    inputs.clv_score.assign(cs.data, cs.data + cs.size);
    std::vector<int> buckets = ltv::selection::Assign(
        ltv::selection::ParseCandidate(name), inputs,
        ltv::selection::NormalizedShares(std::vector<double>(sh.data, sh.data + sh.size)));
    out = static_cast<int32*>(PgCall([&] { return palloc(sizeof(int32) * (n > 0 ? n : 1)); }));
    for (int i = 0; i < n; ++i) out[i] = buckets[i];
  });
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; ++i) datums[i] = Int32GetDatum(out[i]);
  PG_RETURN_ARRAYTYPE_P(construct_array(datums, n, INT4OID, 4, true, TYPALIGN_INT));
}

// ltv._candidates_json() -> jsonb: every candidate name with the sources it uses, in the order
// the evaluation lists them (core StandardCandidates).
extern "C" {
PG_FUNCTION_INFO_V1(ltv_candidates_json);
}
extern "C" Datum ltv_candidates_json(PG_FUNCTION_ARGS) {
  char* result = Guarded([&]() -> char* {
    ltv::json::Value list = ltv::json::Value::MakeArray();
    for (const auto& spec : ltv::selection::StandardCandidates(true, true)) {
      using ltv::selection::CandidateSpec;
      using ltv::selection::Source;
      ltv::json::Value c = ltv::json::Value::MakeObject();
      c.Set("name", spec.name);
      c.Set("uses_model", spec.kind == CandidateSpec::Kind::kClassifier ||
                              spec.weights[static_cast<int>(Source::kModel)] != 0);
      c.Set("uses_clv", spec.weights[static_cast<int>(Source::kClv)] != 0);
      list.Push(std::move(c));
    }
    return PallocJsonText(list);
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}
