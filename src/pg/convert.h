// Conversions between Postgres datums and core values.
#pragma once

#include "pg/guard.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/transaction.h"

namespace ltv::pg {

// Postgres timestamps count microseconds from 2000-01-01; the core counts from 1970-01-01.
constexpr int64_t kPostgresEpochOffsetMicros = 946684800LL * 1000000LL;

// Throws ltv::Error naming `what` for +/-infinity.
TimestampMicros ToCoreTime(Timestamp t, const char* what);
inline Timestamp ToPgTime(TimestampMicros t) { return t - kPostgresEpochOffsetMicros; }

inline std::string_view TextView(const text* t) {
  return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

// The JSON text of a core value in a palloc'd C string (CurrentMemoryContext), for jsonb_in.
// Call inside Guarded(): the allocation goes through PgCall.
char* PallocJsonText(const json::Value& value);

// The length of a result array placed by member positions: the greatest position. Positions
// must be 1 or more, and the result (`element_size` bytes per position) must fit in one
// Postgres value; otherwise ERROR naming `function`. Postgres errors only: call before any
// C++ object is alive.
int PositionsLength(const int32* positions, int n, size_t element_size, const char* function);

// A new bytea of `size` bytes, its payload left for the caller to fill (allocated in
// CurrentMemoryContext; over the 1 GB value limit: kLimitExceeded).
bytea* AllocateBytea(size_t size);
// A new bytea holding a copy of `size` bytes.
bytea* MakeBytea(const uint8_t* data, size_t size);

// The values of a one-dimensional float8[] without NULLs, in place (valid as long as the
// array); throws ltv::Error naming `what` otherwise.
struct DoubleValues {
  const double* data;
  size_t size;
};
DoubleValues DoubleArrayValues(ArrayType* array, const char* what);
// The same, copied.
std::vector<double> ToDoubleVector(ArrayType* array, const char* what);
// A new float8[] (CurrentMemoryContext).
ArrayType* MakeDoubleArray(const double* values, size_t count);

}  // namespace ltv::pg
