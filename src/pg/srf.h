// Set-returning functions in materialize mode (SFRM_Materialize): the one place that checks the
// caller accepts a materialized set and sets up its tuplestore. Called outside Guarded bodies
// (both may ereport).
#pragma once

#include "pg/pg_includes.h"

namespace ltv::pg {

// The call's ReturnSetInfo; ERROR naming `function` unless called where a set is accepted.
ReturnSetInfo* MaterializeModeOrError(FunctionCallInfo fcinfo, const char* function);

// Sets up the result: a tuplestore and a copy of the declared row type, both in the per-query
// memory context, installed in rsinfo. Returns the store; *desc is the row type.
Tuplestorestate* BeginMaterializedResult(FunctionCallInfo fcinfo, ReturnSetInfo* rsinfo,
                                         const char* function, TupleDesc* desc);

}  // namespace ltv::pg
