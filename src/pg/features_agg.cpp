// The parallel-safe aggregate ltv.customer_features(invoice, stock_code, invoice_time, amount,
// cutoff) and its support functions (transition, combine, serialize, deserialize, final).
// States live in the aggregate's memory context (ContextMemoryResource) and are never
// destroyed one by one: the context goes away with them.
#include "pg/guard.h"

#include <cmath>
#include <new>

#include "core/features/customer_features.h"
#include "pg/aggregate.h"
#include "pg/convert.h"
#include "pg/memory.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_features_transfn);
PG_FUNCTION_INFO_V1(ltv_features_combinefn);
PG_FUNCTION_INFO_V1(ltv_features_serialfn);
PG_FUNCTION_INFO_V1(ltv_features_deserialfn);
PG_FUNCTION_INFO_V1(ltv_features_finalfn);
}

namespace ltv::pg {
namespace {

using features::FeatureAccumulator;

// One aggregate state: the accumulator and the memory resource it allocates from, placed
// together in the aggregate context.
struct FeatureState {
  ContextMemoryResource memory;
  FeatureAccumulator accumulator;

  FeatureState(MemoryContext context, TimestampMicros cutoff)
      : memory(context), accumulator(cutoff, &memory) {}
};

FeatureState* NewState(MemoryContext context, TimestampMicros cutoff) {
  void* raw = MemoryContextAllocExtended(context, sizeof(FeatureState), MCXT_ALLOC_NO_OOM);
  if (!raw) throw std::bad_alloc();
  return new (raw) FeatureState(context, cutoff);
}

}  // namespace
}  // namespace ltv::pg

using namespace ltv::pg;

// transfn(state, invoice, stock_code, invoice_time, amount, cutoff). Lines with a NULL time or
// amount are skipped, as SQL aggregates skip NULLs; a NULL cutoff is an error.
extern "C" Datum ltv_features_transfn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_features_transfn");
  FeatureState* state = StateArg<FeatureState>(fcinfo, 0);
  if (PG_ARGISNULL(5))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.customer_features: cutoff must not be NULL")));
  Timestamp cutoff = PG_GETARG_TIMESTAMP(5);
  bool skip = PG_ARGISNULL(3) || PG_ARGISNULL(4);
  text* invoice = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
  text* stock_code = PG_ARGISNULL(2) ? nullptr : PG_GETARG_TEXT_PP(2);
  Timestamp time = skip ? 0 : PG_GETARG_TIMESTAMP(3);
  double amount = skip ? 0 : PG_GETARG_FLOAT8(4);
  LTV_GUARDED({
    ltv::TimestampMicros core_cutoff = ltv::pg::ToCoreTime(cutoff, "cutoff");
    if (!state) state = NewState(context, core_cutoff);
    if (state->accumulator.cutoff() != core_cutoff)
      throw ltv::Error(
          ltv::ErrorKind::kInvalidParameter,
          "ltv.customer_features: the cutoff must be the same for every row of a group");
    if (!skip) {
      if (!std::isfinite(amount))
        throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                         "ltv.customer_features: amount must be finite");
      state->accumulator.Add(invoice ? TextView(invoice) : std::string_view(),
                             stock_code ? TextView(stock_code) : std::string_view(),
                             ToCoreTime(time, "invoice_time"), amount);
    }
    return PointerGetDatum(state);
  });
}

extern "C" Datum ltv_features_combinefn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_features_combinefn");
  FeatureState* left = StateArg<FeatureState>(fcinfo, 0);
  FeatureState* right = StateArg<FeatureState>(fcinfo, 1);
  if (!right) PG_RETURN_POINTER(left);
  LTV_GUARDED({
    // The result must live in the aggregate context, so a lone right state is copied.
    if (!left) left = NewState(context, right->accumulator.cutoff());
    left->accumulator.Merge(right->accumulator);
    return PointerGetDatum(left);
  });
}

extern "C" Datum ltv_features_serialfn(PG_FUNCTION_ARGS) {
  FeatureState* state = reinterpret_cast<FeatureState*>(PG_GETARG_POINTER(0));
  LTV_GUARDED({
    std::vector<uint8_t> bytes;
    state->accumulator.SerializeTo(bytes);
    return PointerGetDatum(MakeBytea(bytes.data(), bytes.size()));
  });
}

extern "C" Datum ltv_features_deserialfn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_features_deserialfn");
  bytea* bytes = PG_GETARG_BYTEA_PP(0);
  LTV_GUARDED({
    const uint8_t* data = reinterpret_cast<const uint8_t*>(VARDATA_ANY(bytes));
    size_t size = VARSIZE_ANY_EXHDR(bytes);
    void* raw = MemoryContextAllocExtended(context, sizeof(FeatureState), MCXT_ALLOC_NO_OOM);
    if (!raw) throw std::bad_alloc();
    auto* state = new (raw) FeatureState(context, 0);
    state->accumulator = FeatureAccumulator::Deserialize(data, size, &state->memory);
    return PointerGetDatum(state);
  });
}

namespace {
constexpr int kFeatureColumns = 21;
}

// Builds the ltv.features composite. Undefined values are NULL: recency/tenure without any
// purchase, mean_days_between with fewer than two purchases, first/last purchase when none.
extern "C" Datum ltv_features_finalfn(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  FeatureState* state = reinterpret_cast<FeatureState*>(PG_GETARG_POINTER(0));
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ltv_features_finalfn must return a composite type")));
  tupdesc = BlessTupleDesc(tupdesc);
  if (tupdesc->natts != kFeatureColumns)
    ereport(ERROR,
            (errcode(ERRCODE_DATATYPE_MISMATCH),
             errmsg("ltv.features has %d columns, expected %d", tupdesc->natts, kFeatureColumns)));
  Datum values[kFeatureColumns];
  bool nulls[kFeatureColumns] = {false};
  bool ok = ltv::pg::Guarded([&]() -> bool {
    ltv::features::CustomerFeatures f = state->accumulator.Finalize();
    int i = 0;
    auto put_double = [&](double v, bool is_null = false) {
      nulls[i] = is_null;
      values[i++] = Float8GetDatum(v);
    };
    auto put_int = [&](double v) { values[i++] = Int32GetDatum(static_cast<int32>(v)); };
    put_double(f.recency_days, !f.has_purchase);
    put_int(f.frequency);
    put_double(f.monetary);
    put_double(f.avg_order_value);
    put_double(f.tenure_days, !f.has_purchase);
    put_double(f.spend_30d);
    put_double(f.spend_90d);
    put_double(f.spend_180d);
    put_double(f.spend_365d);
    put_int(f.orders_30d);
    put_int(f.orders_90d);
    put_int(f.orders_180d);
    put_int(f.orders_365d);
    put_double(f.trend_90d);
    put_double(f.returns_amount);
    put_int(f.returns_count);
    put_int(f.distinct_products);
    put_double(f.mean_days_between, f.frequency < 2);
    nulls[i] = !f.has_purchase;
    values[i++] = TimestampGetDatum(ToPgTime(f.first_purchase));
    nulls[i] = !f.has_purchase;
    values[i++] = TimestampGetDatum(ToPgTime(f.last_purchase));
    nulls[i] = false;
    values[i++] = TimestampGetDatum(ToPgTime(state->accumulator.cutoff()));
    return true;
  });
  (void)ok;
  HeapTuple tuple = heap_form_tuple(tupdesc, values, nulls);
  PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
