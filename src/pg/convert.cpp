#include "pg/convert.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"

namespace ltv::pg {

TimestampMicros ToCoreTime(Timestamp t, const char* what) {
  if (TIMESTAMP_NOT_FINITE(t))
    throw Error(ErrorKind::kInvalidParameter, std::string(what) + " must be a finite timestamp");
  // Finite timestamps reach 294276 AD; shifting the largest of them to the Unix epoch would
  // overflow.
  if (t > std::numeric_limits<Timestamp>::max() - kPostgresEpochOffsetMicros)
    throw Error(ErrorKind::kInvalidParameter, std::string(what) + " is out of range");
  return t + kPostgresEpochOffsetMicros;
}

bytea* AllocateBytea(size_t size) {
  if (size > MaxAllocSize - VARHDRSZ)
    throw Error(ErrorKind::kLimitExceeded,
                "result of " + std::to_string(size) + " bytes is over Postgres's 1 GB value limit");
  bytea* result = static_cast<bytea*>(PgCall([&] { return palloc(size + VARHDRSZ); }));
  SET_VARSIZE(result, size + VARHDRSZ);
  return result;
}

int PositionsLength(const int32* positions, int n, size_t element_size, const char* function) {
  int32 greatest = 0;
  for (int i = 0; i < n; ++i) {
    if (positions[i] < 1)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: positions must be 1 or more; element %d is %d", function, i + 1,
                             positions[i])));
    greatest = std::max(greatest, positions[i]);
  }
  if (static_cast<size_t>(greatest) > MaxArraySize ||
      static_cast<size_t>(greatest) * element_size > MaxAllocSize - ARR_OVERHEAD_NONULLS(1))
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
             errmsg("%s: position %d makes the result larger than 1 GB", function, greatest)));
  return greatest;
}

char* PallocJsonText(const json::Value& value) {
  const std::string text = value.Dump();
  char* copy = static_cast<char*>(PgCall([&] { return palloc(text.size() + 1); }));
  std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

bytea* MakeBytea(const uint8_t* data, size_t size) {
  bytea* result = AllocateBytea(size);
  if (size) std::memcpy(VARDATA(result), data, size);
  return result;
}

DoubleValues DoubleArrayValues(ArrayType* array, const char* what) {
  if (ARR_ELEMTYPE(array) != FLOAT8OID)
    throw Error(ErrorKind::kInvalidParameter, std::string(what) + " must be a float8[]");
  if (ARR_NDIM(array) > 1)
    throw Error(ErrorKind::kInvalidParameter,
                std::string(what) + " must be a one-dimensional array");
  if (ARR_HASNULL(array))
    throw Error(ErrorKind::kInvalidParameter, std::string(what) + " must not contain NULLs", "",
                "Replace missing values first, e.g. with coalesce(x, -1).");
  const int count = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
  return {reinterpret_cast<const double*>(ARR_DATA_PTR(array)), static_cast<size_t>(count)};
}

std::vector<double> ToDoubleVector(ArrayType* array, const char* what) {
  const DoubleValues values = DoubleArrayValues(array, what);
  return std::vector<double>(values.data, values.data + values.size);
}

ArrayType* MakeDoubleArray(const double* values, size_t count) {
  return PgCall([&] {
    Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (count ? count : 1)));
    for (size_t i = 0; i < count; ++i) datums[i] = Float8GetDatum(values[i]);
    return construct_array(datums, static_cast<int>(count), FLOAT8OID, sizeof(double),
                           FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
  });
}

}  // namespace ltv::pg
