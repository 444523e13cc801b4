// ltv._percent_ranks and ltv._stratified_holdout: the whole-snapshot orderings of
// ltv.materialize_features (core/ranking.h), over the columns of its feature table passed as
// arrays. Each row of the table carries its position; results are indexed by it, so the
// caller reads them back with result[position] whatever order the arrays were built in.
#include "pg/guard.h"
#include "pg/convert.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ranking.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_percent_ranks);
PG_FUNCTION_INFO_V1(ltv_stratified_holdout);
PG_FUNCTION_INFO_V1(ltv_rank_buckets);
}

namespace {

const char* const kPercentRanks = "ltv._percent_ranks";
const char* const kHoldout = "ltv._stratified_holdout";

// The elements of a one-dimensional array without NULLs, read in place.
template <typename T>
const T* ElementsWithoutNulls(ArrayType* array, const char* function, const char* what, int* n) {
  if (ARR_NDIM(array) > 1 || ARR_HASNULL(array))
    ereport(ERROR,
            (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
             errmsg("%s: %s must be a one-dimensional array without NULLs", function, what)));
  *n = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
  return reinterpret_cast<const T*>(ARR_DATA_PTR(array));
}

void RequireLength(const char* function, const char* what, int n, int expected) {
  if (n != expected)
    ereport(ERROR,
            (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
             errmsg("%s: %s has %d elements, positions has %d", function, what, n, expected)));
}

// Positions 0-based, checked to be distinct (each below `length`).
std::vector<int32> ZeroBasedPositions(const int32* positions, int n, int length,
                                      const char* function) {
  std::vector<int32> zero_based(static_cast<size_t>(n));
  std::vector<bool> seen(static_cast<size_t>(length), false);
  for (int i = 0; i < n; ++i) {
    int32 p = positions[i];
    if (seen[p - 1])
      throw ltv::Error(ltv::ErrorKind::kInvalidParameter, std::string(function) +
                                                              ": positions must be distinct; " +
                                                              std::to_string(p) + " occurs twice");
    seen[p - 1] = true;
    zero_based[i] = p - 1;
  }
  return zero_based;
}

// A one-dimensional array of n fixed-size elements, to be filled in place.
ArrayType* NewArray(int n, Oid element_type, int element_size) {
  size_t bytes = ARR_OVERHEAD_NONULLS(1) + static_cast<size_t>(element_size) * n;
  auto* array = static_cast<ArrayType*>(palloc0(bytes));
  SET_VARSIZE(array, bytes);
  array->ndim = 1;
  array->dataoffset = 0;
  array->elemtype = element_type;
  ARR_DIMS(array)[0] = n;
  ARR_LBOUND(array)[0] = 1;
  return array;
}

// The result of either function: the members' values (what `compute` returns, member by
// member, computed in core code) placed at their positions in a new one-dimensional array of
// `Element`s, zero (false) where no member is. Checks the positions first; allocates only
// Postgres memory outside the C++ part, so nothing with a destructor is alive if it errors.
template <typename Element, typename Compute>
ArrayType* PlacedByPosition(const int32* positions, int n, Oid element_type, const char* function,
                            Compute&& compute) {
  if (n == 0) return construct_empty_array(element_type);
  int length = ltv::pg::PositionsLength(positions, n, sizeof(Element), function);
  ArrayType* result = NewArray(length, element_type, sizeof(Element));
  auto* out = reinterpret_cast<Element*>(ARR_DATA_PTR(result));
  ltv::pg::Guarded([&] {
    std::vector<int32> at = ZeroBasedPositions(positions, n, length, function);
    auto member_values = compute();
    for (int i = 0; i < n; ++i) out[at[i]] = member_values[i];
  });
  return result;
}

}  // namespace

using namespace ltv::pg;

extern "C" Datum ltv_percent_ranks(PG_FUNCTION_ARGS) {
  int n = 0, n_values = 0;
  const int32* positions =
      ElementsWithoutNulls<int32>(PG_GETARG_ARRAYTYPE_P(0), kPercentRanks, "positions", &n);
  const float8* values =
      ElementsWithoutNulls<float8>(PG_GETARG_ARRAYTYPE_P(1), kPercentRanks, "values", &n_values);
  RequireLength(kPercentRanks, "values", n_values, n);
  PG_RETURN_ARRAYTYPE_P(PlacedByPosition<float8>(positions, n, FLOAT8OID, kPercentRanks, [&] {
    return ltv::PercentRanks(std::vector<double>(values, values + n));
  }));
}

extern "C" Datum ltv_stratified_holdout(PG_FUNCTION_ARGS) {
  int n = 0, n_keys = 0, n_strata = 0, n_ids = 0;
  const int32* positions =
      ElementsWithoutNulls<int32>(PG_GETARG_ARRAYTYPE_P(0), kHoldout, "positions", &n);
  ArrayType* strata_array = PG_GETARG_ARRAYTYPE_P(1);
  const int64* keys =
      ElementsWithoutNulls<int64>(PG_GETARG_ARRAYTYPE_P(2), kHoldout, "keys", &n_keys);
  ArrayType* ids_array = PG_GETARG_ARRAYTYPE_P(3);
  float8 fraction = PG_GETARG_FLOAT8(4);
  if (!(fraction >= 0 && fraction <= 1))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s: fraction must be between 0 and 1, got %g", kHoldout, fraction)));
  if (ARR_NDIM(strata_array) > 1 || ARR_NDIM(ids_array) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("%s: strata and tiebreaks must be one-dimensional", kHoldout)));
  Datum* strata_values = nullptr;
  bool* strata_nulls = nullptr;
  deconstruct_array(strata_array, INT4OID, 4, true, TYPALIGN_INT, &strata_values, &strata_nulls,
                    &n_strata);
  Datum* id_values = nullptr;
  bool* id_nulls = nullptr;
  deconstruct_array(ids_array, TEXTOID, -1, false, TYPALIGN_INT, &id_values, &id_nulls, &n_ids);
  RequireLength(kHoldout, "strata", n_strata, n);
  RequireLength(kHoldout, "keys", n_keys, n);
  RequireLength(kHoldout, "tiebreaks", n_ids, n);
  for (int i = 0; i < n; ++i)
    if (id_nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("%s: tiebreaks must not contain NULLs", kHoldout)));
  PG_RETURN_ARRAYTYPE_P(PlacedByPosition<bool>(positions, n, BOOLOID, kHoldout, [&] {
    std::vector<std::optional<int32_t>> strata(static_cast<size_t>(n));
    std::vector<std::string_view> ids(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      if (!strata_nulls[i]) strata[i] = DatumGetInt32(strata_values[i]);
      const auto* id = reinterpret_cast<const struct varlena*>(DatumGetPointer(id_values[i]));
      ids[i] = std::string_view(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
    }
    return ltv::StratifiedHoldout(strata, std::vector<int64_t>(keys, keys + n), ids, fraction);
  }));
}

// ltv._rank_buckets(positions int[], values float8[], quantiles float8[]) -> int[]: the
// quantile bucket (0..3) of each member, placed by position (core RankBuckets).
extern "C" Datum ltv_rank_buckets(PG_FUNCTION_ARGS) {
  const char* const fn = "ltv._rank_buckets";
  int n = 0, n_values = 0, n_quantiles = 0;
  const int32* positions =
      ElementsWithoutNulls<int32>(PG_GETARG_ARRAYTYPE_P(0), fn, "positions", &n);
  const float8* values =
      ElementsWithoutNulls<float8>(PG_GETARG_ARRAYTYPE_P(1), fn, "values", &n_values);
  const float8* quantiles =
      ElementsWithoutNulls<float8>(PG_GETARG_ARRAYTYPE_P(2), fn, "quantiles", &n_quantiles);
  RequireLength(fn, "values", n_values, n);
  PG_RETURN_ARRAYTYPE_P(PlacedByPosition<int32>(positions, n, INT4OID, fn, [&] {
    return ltv::RankBuckets(std::vector<double>(values, values + n),
                            std::vector<double>(quantiles, quantiles + n_quantiles));
  }));
}
