// ltv.clv_scores, ltv.clv_fit and ltv.clv_expected: the BG/NBD + Gamma-Gamma CLV models of
// core/clv over per-customer feature arrays (docs/clv.md). Arguments are read (and detoasted)
// before the guarded part; everything C++ lives inside it.
#include "pg/guard.h"

#include <cstring>
#include <string>

#include "core/clv/clv.h"
#include "core/json.h"
#include "pg/convert.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_clv_scores);
PG_FUNCTION_INFO_V1(ltv_clv_fit);
PG_FUNCTION_INFO_V1(ltv_clv_expected);
}

using ltv::pg::DoubleArrayValues;
using ltv::pg::DoubleValues;
using ltv::pg::PgCall;

namespace {

struct InputArrays {
  ArrayType* frequency;
  ArrayType* recency_days;
  ArrayType* tenure_days;
  ArrayType* avg_order_value;
};

InputArrays ReadArrays(FunctionCallInfo fcinfo, int first) {
  return {PG_GETARG_ARRAYTYPE_P(first), PG_GETARG_ARRAYTYPE_P(first + 1),
          PG_GETARG_ARRAYTYPE_P(first + 2), PG_GETARG_ARRAYTYPE_P(first + 3)};
}

// The arrays in place (no copy); NULL elements and multi-dimensional arrays are errors that
// name the argument. Different lengths are reported by the core, naming all four.
ltv::clv::ClvInput ToInput(const InputArrays& arrays) {
  auto span = [](ArrayType* array, const char* what) {
    const DoubleValues values = DoubleArrayValues(array, what);
    return ltv::clv::DoubleSpan(values.data, values.size);
  };
  return {span(arrays.frequency, "frequency"), span(arrays.recency_days, "recency_days"),
          span(arrays.tenure_days, "tenure_days"), span(arrays.avg_order_value, "avg_order_value")};
}

Datum JsonbFromText(const std::string& text) {
  return PgCall([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

TupleDesc ResultDesc(FunctionCallInfo fcinfo, int columns) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != columns)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("function returning record called in context that cannot accept type "
                           "record")));
  return BlessTupleDesc(desc);
}

// Parsed parameters of ltv.clv_expected, kept per call site (fn_extra) with the jsonb bytes they
// came from: a query scoring a million rows with one params value parses it once.
struct CachedParams {
  ltv::clv::ClvParams params;  // trivially copyable: lives in palloc'd memory
  Size size;
  char bytes[FLEXIBLE_ARRAY_MEMBER];
};
static_assert(std::is_trivially_copyable_v<ltv::clv::ClvParams>);

}  // namespace

// clv_scores(frequency, recency_days, tenure_days, avg_order_value, horizon_days,
//            OUT params jsonb, OUT expected_purchases float8[], OUT p_alive float8[],
//            OUT expected_spend float8[])
extern "C" Datum ltv_clv_scores(PG_FUNCTION_ARGS) {
  const InputArrays arrays = ReadArrays(fcinfo, 0);
  const double horizon_days = PG_GETARG_FLOAT8(4);
  TupleDesc desc = ResultDesc(fcinfo, 4);
  LTV_GUARDED({
    ltv::CancelCheck cancel = ltv::pg::MakeCancelCheck();
    const ltv::clv::ClvResult result = ltv::clv::FitAndScore(ToInput(arrays), horizon_days, cancel);
    Datum values[4];
    bool nulls[4] = {false, false, false, false};
    values[0] = JsonbFromText(ltv::clv::ToJson(result.params).Dump());
    values[1] = PointerGetDatum(ltv::pg::MakeDoubleArray(result.expected_purchases.data(),
                                                         result.expected_purchases.size()));
    values[2] =
        PointerGetDatum(ltv::pg::MakeDoubleArray(result.p_alive.data(), result.p_alive.size()));
    values[3] = PointerGetDatum(
        ltv::pg::MakeDoubleArray(result.expected_spend.data(), result.expected_spend.size()));
    HeapTuple tuple = PgCall([&] { return heap_form_tuple(desc, values, nulls); });
    return HeapTupleGetDatum(tuple);
  });
}

// clv_fit(frequency, recency_days, tenure_days, avg_order_value) RETURNS jsonb
extern "C" Datum ltv_clv_fit(PG_FUNCTION_ARGS) {
  const InputArrays arrays = ReadArrays(fcinfo, 0);
  LTV_GUARDED({
    ltv::CancelCheck cancel = ltv::pg::MakeCancelCheck();
    const ltv::clv::ClvParams params = ltv::clv::FitClv(ToInput(arrays), cancel);
    return JsonbFromText(ltv::clv::ToJson(params).Dump());
  });
}

// clv_expected(params jsonb, frequency, recency_days, tenure_days, avg_order_value,
//              horizon_days, OUT expected_purchases, OUT p_alive, OUT expected_spend)
extern "C" Datum ltv_clv_expected(PG_FUNCTION_ARGS) {
  Jsonb* jsonb = PG_GETARG_JSONB_P(0);
  const double frequency = PG_GETARG_FLOAT8(1), recency = PG_GETARG_FLOAT8(2),
               tenure = PG_GETARG_FLOAT8(3), value = PG_GETARG_FLOAT8(4),
               horizon = PG_GETARG_FLOAT8(5);
  TupleDesc desc = ResultDesc(fcinfo, 3);
  const Size size = VARSIZE(jsonb);
  auto* cached = static_cast<CachedParams*>(fcinfo->flinfo->fn_extra);
  char* text = nullptr;
  if (!cached || cached->size != size || std::memcmp(cached->bytes, jsonb, size) != 0) {
    cached = nullptr;
    text = JsonbToCString(nullptr, &jsonb->root, static_cast<int>(size));
  }
  LTV_GUARDED({
    if (!cached) {
      const ltv::clv::ClvParams params = ltv::clv::ParamsFromJson(ltv::json::Parse(text));
      auto* fresh = static_cast<CachedParams*>(PgCall([&] {
        return MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, offsetof(CachedParams, bytes) + size);
      }));
      std::memcpy(static_cast<void*>(&fresh->params), &params, sizeof params);
      fresh->size = size;
      std::memcpy(fresh->bytes, jsonb, size);
      if (fcinfo->flinfo->fn_extra) pfree(fcinfo->flinfo->fn_extra);  // pfree cannot fail here
      fcinfo->flinfo->fn_extra = fresh;
      cached = fresh;
    }
    const ltv::clv::CustomerScore score =
        ltv::clv::ScoreCustomer(cached->params, frequency, recency, tenure, value, horizon);
    Datum values[3] = {Float8GetDatum(score.expected_purchases), Float8GetDatum(score.p_alive),
                       Float8GetDatum(score.expected_spend)};
    bool nulls[3] = {false, false, false};
    HeapTuple tuple = PgCall([&] { return heap_form_tuple(desc, values, nulls); });
    return HeapTupleGetDatum(tuple);
  });
}
