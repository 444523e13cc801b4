// ltv._bridge_selftest(mode): exercises the C++/Postgres error boundary from SQL, so the
// regression suite can prove it holds (sql/bridge.sql). Not for application use.
#include "pg/guard.h"

#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
PG_FUNCTION_INFO_V1(ltv_bridge_selftest);
PG_FUNCTION_INFO_V1(ltv_bridge_destructor_count);
}

namespace {

// Counts destructor runs: proves C++ unwinding happened across a Postgres error.
int64_t destructors_run = 0;

struct Tracked {
  std::vector<char> payload = std::vector<char>(1 << 20);  // a real heap allocation to free
  ~Tracked() { ++destructors_run; }
};

int64_t RunSelfTest(const std::string& mode) {
  if (mode == "ok") return 42;
  if (mode == "cpp_exception") throw std::runtime_error("a C++ exception from core code");
  if (mode == "ltv_error")
    throw ltv::Error(ltv::ErrorKind::kInvalidParameter, "a core error with a hint", "some detail",
                     "some hint");
  if (mode == "bad_alloc") throw std::bad_alloc();
  if (mode == "pg_error") {
    Tracked alive;
    ltv::pg::PgCall([] {
      ereport(ERROR, (errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("a Postgres error inside C++")));
    });
    return 0;  // not reached
  }
  if (mode == "long_loop") {
    // A core-style loop that only stops through the cancel check (statement_timeout).
    Tracked alive;
    ltv::CancelCheck cancel = ltv::pg::MakeCancelCheck();
    volatile double sink = 0;
    for (int64_t i = 0;; ++i) {
      sink = sink + static_cast<double>(i % 7);
      if ((i & 0xFFFF) == 0) cancel.Check();
    }
  }
  throw ltv::Error(ltv::ErrorKind::kInvalidParameter, "unknown self-test mode \"" + mode + "\"");
}

}  // namespace

extern "C" Datum ltv_bridge_selftest(PG_FUNCTION_ARGS) {
  char* mode = text_to_cstring(PG_GETARG_TEXT_PP(0));
  LTV_GUARDED({ return Int64GetDatum(RunSelfTest(mode)); });
}

extern "C" Datum ltv_bridge_destructor_count(PG_FUNCTION_ARGS) { PG_RETURN_INT64(destructors_run); }
