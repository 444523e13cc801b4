#include "pg/srf.h"

namespace ltv::pg {

ReturnSetInfo* MaterializeModeOrError(FunctionCallInfo fcinfo, const char* function) {
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!rsinfo || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("%s must be called in the FROM clause", function)));
  return rsinfo;
}

Tuplestorestate* BeginMaterializedResult(FunctionCallInfo fcinfo, ReturnSetInfo* rsinfo,
                                         const char* function, TupleDesc* desc) {
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("%s: return type must be a row type", function)));
  MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
  tupdesc = CreateTupleDescCopy(tupdesc);
  Tuplestorestate* store = tuplestore_begin_heap(true, false, work_mem);
  MemoryContextSwitchTo(old);
  rsinfo->returnMode = SFRM_Materialize;
  rsinfo->setResult = store;
  rsinfo->setDesc = tupdesc;
  *desc = tupdesc;
  return store;
}

}  // namespace ltv::pg
