// Helpers shared by the aggregates' support functions (features, rf_train).
#pragma once

#include "pg/pg_includes.h"

namespace ltv::pg {

// The aggregate's memory context; an error when called outside an aggregate.
inline MemoryContext AggregateContext(FunctionCallInfo fcinfo, const char* caller) {
  MemoryContext context = nullptr;
  if (!AggCheckCallContext(fcinfo, &context))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("%s called in non-aggregate context", caller)));
  return context;
}

// Argument n as an `internal` state pointer, or nullptr when NULL.
template <typename State>
State* StateArg(FunctionCallInfo fcinfo, int n) {
  return PG_ARGISNULL(n) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(n));
}

}  // namespace ltv::pg
