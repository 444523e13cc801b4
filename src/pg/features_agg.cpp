// The parallel-safe aggregate ltv.customer_features(invoice, stock_code, invoice_time, amount,
// cutoff) and its support functions (transition, combine, serialize, deserialize, final).
// States live in the aggregate's memory context (ContextMemoryResource) and are never
// destroyed one by one: the context goes away with them.
#include "pg/guard.h"

#include <cmath>
#include <new>

#include "core/features/customer_features.h"
#include "core/features/registry.h"
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
// together in an aggregate context. Small customers need nothing else (see the accumulator's
// inline storage): keep it within a 256-byte allocation chunk.
struct FeatureState {
  ContextMemoryResource memory;
  FeatureAccumulator accumulator;

  FeatureState(MemoryContext context, TimestampMicros cutoff)
      : memory(context), accumulator(cutoff, &memory) {}
  // Deserialized in place (no temporary state to move from).
  FeatureState(MemoryContext context, const uint8_t* data, size_t size)
      : memory(context), accumulator(FeatureAccumulator::Deserialize(data, size, &memory)) {}
};
static_assert(sizeof(FeatureState) <= 256, "a state should fit a 256-byte palloc chunk");

// Raw memory for a FeatureState in `context`; throws std::bad_alloc instead of ereporting.
void* AllocateState(MemoryContext context) {
  void* raw = MemoryContextAllocExtended(context, sizeof(FeatureState), MCXT_ALLOC_NO_OOM);
  if (!raw) throw std::bad_alloc();
  return raw;
}

FeatureState* NewState(MemoryContext context, TimestampMicros cutoff) {
  return new (AllocateState(context)) FeatureState(context, cutoff);
}

// A text argument without a call into Postgres in the usual case: short, inline values (all
// invoice numbers and stock codes) need no detoasting.
std::string_view TextArg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::string_view();
  auto* value = reinterpret_cast<struct varlena*>(DatumGetPointer(PG_GETARG_DATUM(n)));
  if (VARATT_IS_COMPRESSED(value) || VARATT_IS_EXTERNAL(value))
    value = pg_detoast_datum_packed(value);
  return TextView(value);
}

}  // namespace
}  // namespace ltv::pg

using namespace ltv::pg;

// The first row of a group when the plain path could not make its state, or a row whose cutoff
// differs from the group's: errors (or out of memory), raised through the guard.
static FeatureState* StateForCutoff(MemoryContext context, FeatureState* state, Timestamp cutoff) {
  return ltv::pg::Guarded([&]() -> FeatureState* {
    if (!TIMESTAMP_NOT_FINITE(cutoff) && cutoff > INT64_MAX - kPostgresEpochOffsetMicros)
      throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                       "ltv.customer_features: cutoff out of range");
    const ltv::TimestampMicros core_cutoff = ToCoreTime(cutoff, "cutoff");
    if (!state) return NewState(context, core_cutoff);
    throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                     "ltv.customer_features: the cutoff must be the same for every row of a group");
  });
}

// transfn(state, invoice, stock_code, invoice_time, amount, cutoff). Lines with a NULL time or
// amount are skipped, as SQL aggregates skip NULLs; a NULL cutoff is an error.
//
// This runs once per transaction line, so the common case avoids everything per-row that is
// not the work itself: text arguments read in place, a new state constructed without any
// allocation beyond its own chunk. Errors take guarded paths.
extern "C" Datum ltv_features_transfn(PG_FUNCTION_ARGS) {
  FeatureState* state = StateArg<FeatureState>(fcinfo, 0);
  if (PG_ARGISNULL(5))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.customer_features: cutoff must not be NULL")));
  const Timestamp cutoff = PG_GETARG_TIMESTAMP(5);
  if (!state) {
    // The first row of a group. (A non-NULL `internal` state only ever comes from the
    // aggregate machinery, so checking the calling context here is enough.)
    MemoryContext context = AggregateContext(fcinfo, "ltv_features_transfn");
    ltv::TimestampMicros core_cutoff;
    const bool cutoff_ok =
        !TIMESTAMP_NOT_FINITE(cutoff) &&
        !__builtin_add_overflow(cutoff, kPostgresEpochOffsetMicros, &core_cutoff);
    // The accumulator's constructor neither allocates nor throws.
    void* raw = cutoff_ok
                    ? MemoryContextAllocExtended(context, sizeof(FeatureState), MCXT_ALLOC_NO_OOM)
                    : nullptr;
    state =
        raw ? new (raw) FeatureState(context, core_cutoff) : StateForCutoff(context, state, cutoff);
  } else if (static_cast<uint64_t>(cutoff) + static_cast<uint64_t>(kPostgresEpochOffsetMicros) !=
             static_cast<uint64_t>(state->accumulator.cutoff())) {
    // The state's cutoff passed the checks above when the state was made, so it is the Postgres
    // cutoff plus the epoch offset without overflow; the wrapping sum is equal for that cutoff
    // and no other. Any other cutoff raises the error.
    StateForCutoff(AggregateContext(fcinfo, "ltv_features_transfn"), state, cutoff);
  }
  if (PG_ARGISNULL(3) || PG_ARGISNULL(4)) PG_RETURN_POINTER(state);

  const Timestamp time = PG_GETARG_TIMESTAMP(3);
  const double amount = PG_GETARG_FLOAT8(4);
  ltv::TimestampMicros core_time;
  if (TIMESTAMP_NOT_FINITE(time) || !std::isfinite(amount) ||
      __builtin_add_overflow(time, kPostgresEpochOffsetMicros, &core_time)) {
    LTV_GUARDED({
      if (!std::isfinite(amount))
        throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                         "ltv.customer_features: amount must be finite");
      ToCoreTime(time, "invoice_time");
      throw ltv::Error(ltv::ErrorKind::kInvalidParameter,
                       "ltv.customer_features: invoice_time out of range");
    });
  }
  const std::string_view invoice = TextArg(fcinfo, 1);
  const std::string_view stock_code = TextArg(fcinfo, 2);
  ltv::pg::Guarded([&] { state->accumulator.Add(invoice, stock_code, core_time, amount); });
  PG_RETURN_POINTER(state);
}

// Partial states reach the combine function freshly deserialized into the aggregate context
// (parallel query, or Citus), and are not used again afterwards. So the first one of a group
// is adopted as the group's state instead of copied, and later ones are freed once merged:
// the finalizing process then holds one state per customer, not one per partial state.
extern "C" Datum ltv_features_combinefn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_features_combinefn");
  FeatureState* left = StateArg<FeatureState>(fcinfo, 0);
  FeatureState* right = StateArg<FeatureState>(fcinfo, 1);
  if (!right) PG_RETURN_POINTER(left);
  const bool right_is_ours = GetMemoryChunkContext(right) == context;
  if (!left && right_is_ours) PG_RETURN_POINTER(right);
  LTV_GUARDED({
    // A state from another context is copied: the result must live in the aggregate context.
    if (!left) left = NewState(context, right->accumulator.cutoff());
    left->accumulator.Merge(right->accumulator);
    if (right_is_ours && right != left) {
      right->~FeatureState();  // frees its containers (pfree through its memory resource)
      pfree(right);
    }
    return PointerGetDatum(left);
  });
}

extern "C" Datum ltv_features_serialfn(PG_FUNCTION_ARGS) {
  FeatureState* state = reinterpret_cast<FeatureState*>(PG_GETARG_POINTER(0));
  const size_t size = ltv::pg::Guarded([&] { return state->accumulator.SerializedSize(); });
  if (size > MaxAllocSize - VARHDRSZ)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ltv.customer_features: a customer's state exceeds 1 GB")));
  auto* bytes = static_cast<bytea*>(palloc(size + VARHDRSZ));
  SET_VARSIZE(bytes, size + VARHDRSZ);
  ltv::pg::Guarded(
      [&] { state->accumulator.SerializeInto(reinterpret_cast<uint8_t*>(VARDATA(bytes))); });
  PG_RETURN_BYTEA_P(bytes);
}

// Deserializes into the aggregate context (not the per-tuple context the executor calls this
// in), so that the combine function can adopt the state without copying it.
extern "C" Datum ltv_features_deserialfn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_features_deserialfn");
  bytea* bytes = PG_GETARG_BYTEA_PP(0);
  const uint8_t* data = reinterpret_cast<const uint8_t*>(VARDATA_ANY(bytes));
  const size_t size = VARSIZE_ANY_EXHDR(bytes);
  FeatureState* state = ltv::pg::Guarded(
      [&] { return new (AllocateState(context)) FeatureState(context, data, size); });
  PG_RETURN_POINTER(state);
}

namespace {
constexpr int kMaxColumns = 64;
using ltv::features::FeatureDef;
using ltv::features::FeatureRegistry;
using ltv::features::FeatureSource;
using ltv::features::FeatureType;

// The aggregate's columns: the registry's kAggregate rows, then the cutoff.
const std::vector<const FeatureDef*>& AggregateColumns() {
  static const std::vector<const FeatureDef*> columns = [] {
    std::vector<const FeatureDef*> out;
    for (const FeatureDef& d : FeatureRegistry())
      if (d.source == FeatureSource::kAggregate) out.push_back(&d);
    return out;
  }();
  return columns;
}

// The blessed result descriptor, looked up once per query (the final function runs once per
// customer) and kept in fn_extra.
TupleDesc ResultDescriptor(FunctionCallInfo fcinfo) {
  if (fcinfo->flinfo->fn_extra) return static_cast<TupleDesc>(fcinfo->flinfo->fn_extra);
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ltv_features_finalfn must return a composite type")));
  const int expected = static_cast<int>(AggregateColumns().size()) + 1;
  if (tupdesc->natts != expected || expected > kMaxColumns)
    ereport(
        ERROR,
        (errcode(ERRCODE_DATATYPE_MISMATCH),
         errmsg("ltv.features has %d columns, the feature registry %d", tupdesc->natts, expected),
         errhint("The extension's SQL objects and its library are from different versions.")));
  MemoryContext previous = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
  tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
  MemoryContextSwitchTo(previous);
  fcinfo->flinfo->fn_extra = tupdesc;
  return tupdesc;
}
}  // namespace

extern "C" Datum ltv_features_finalfn(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  FeatureState* state = reinterpret_cast<FeatureState*>(PG_GETARG_POINTER(0));
  TupleDesc tupdesc = ResultDescriptor(fcinfo);
  Datum values[kMaxColumns];
  bool nulls[kMaxColumns] = {false};
  const ltv::features::CustomerFeatures f = state->accumulator.Finalize();  // noexcept
  const auto& columns = AggregateColumns();
  int i = 0;
  for (const FeatureDef* d : columns) {
    nulls[i] = d->is_null(f);
    switch (d->type) {
      case FeatureType::kDouble:
        values[i] = Float8GetDatum(d->value(f));
        break;
      case FeatureType::kInteger:
        values[i] = Int32GetDatum(static_cast<int32>(d->value(f)));
        break;
      case FeatureType::kTimestamp:
        values[i] = TimestampGetDatum(ToPgTime(d->time(f)));
        break;
    }
    ++i;
  }
  nulls[i] = false;
  values[i++] = TimestampGetDatum(ToPgTime(state->accumulator.cutoff()));
  HeapTuple tuple = heap_form_tuple(tupdesc, values, nulls);
  PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
