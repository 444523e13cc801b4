// The C++/Postgres error boundary. Postgres reports errors with longjmp, C++ with exceptions,
// and neither may cross the other:
//
//  * Every SQL-callable function wraps its body in LTV_GUARDED (or calls Guarded()): a C++
//    exception thrown inside becomes ereport(ERROR) with a SQLSTATE and message, raised only
//    after every C++ object of the body has been destroyed.
//  * C++ code that must call a Postgres function able to ereport, while C++ objects with
//    destructors are alive on its stack, calls it through PgCall(): a Postgres error there is
//    caught with PG_TRY, turned into a PgException, unwinds the C++ stack normally, and is
//    re-raised unchanged (same SQLSTATE and message) at the Guarded() boundary.
//  * Long core loops poll MakeCancelCheck(): it services query cancel / statement_timeout
//    through PgCall, so the cancel error unwinds C++ frames too.
//
// Rule: never catch PgException except at the boundary; the transaction must abort.
#pragma once

#include "pg/pg_includes.h"

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "core/cancel.h"
#include "core/error.h"

namespace ltv::pg {

// A Postgres error caught inside PgCall, carried across C++ frames.
class PgException : public std::exception {
 public:
  explicit PgException(ErrorData* edata) : edata_(edata) {}
  const char* what() const noexcept override {
    return edata_ && edata_->message ? edata_->message : "postgres error";
  }
  ErrorData* edata() const { return edata_; }

 private:
  ErrorData* edata_;  // allocated in CurTransactionContext, alive until the re-raise
};

// Plain-old-data description of a C++ error, filled in a catch block without calling
// Postgres (which could longjmp out of the handler) and raised after the handler ends.
struct PendingError {
  int sqlstate = 0;
  char message[1024];
  char detail[1024];
  char hint[512];
  ErrorData* pg_error = nullptr;  // set when re-raising a PgException
  bool interrupted = false;
};

void FillPendingError(PendingError& pending, const std::exception_ptr& error) noexcept;
[[noreturn]] void RaisePendingError(const PendingError& pending);
// Raises the exception in `caught` as a Postgres ERROR (re-raises a PgException unchanged).
// The exception is freed first: `caught` is left empty, so no C++ object that owns anything
// is left in the caller's frames when Postgres longjmps.
[[noreturn]] void RaiseCaughtException(std::exception_ptr& caught);

// Runs `body` and converts any C++ exception to a Postgres ERROR after unwinding. Cheap enough
// for per-row functions: a try block and one empty exception_ptr; the error buffer
// (PendingError) is only set up in RaiseCaughtException, out of line, once something threw.
template <typename Body>
auto Guarded(Body&& body) -> decltype(body()) {
  std::exception_ptr caught;
  try {
    return body();
  } catch (...) {
    caught = std::current_exception();
  }
  RaiseCaughtException(caught);
}

// Calls a Postgres function that may ereport, from C++ code. Returns its result, or throws
// PgException carrying the error. `fn` must not itself hold C++ objects with destructors
// across the Postgres call (it is the Postgres side of the boundary).
template <typename Fn>
auto PgCall(Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  if constexpr (std::is_void_v<Result>) {
    PgCall([&] {
      fn();
      return 0;
    });
  } else {
    // Result must be trivially copyable: it crosses sigsetjmp.
    static_assert(std::is_trivially_copyable_v<Result>, "PgCall results must be plain values");
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile edata = nullptr;
    volatile Result result{};
    PG_TRY();
    { result = fn(); }
    PG_CATCH();
    {
      // The copy must outlive SPI_finish and other context resets during unwinding, until
      // the boundary re-raises it: keep it in the transaction's context.
      MemoryContextSwitchTo(CurTransactionContext ? CurTransactionContext : caller_context);
      edata = CopyErrorData();
      MemoryContextSwitchTo(caller_context);
      FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgException(edata);
    return result;
  }
}

// A CancelCheck that throws (via PgCall) when Postgres has a query cancel, statement timeout
// or termination pending. Cheap when nothing is pending.
CancelCheck MakeCancelCheck();

}  // namespace ltv::pg

// Body of a V1 SQL function: `Datum f(PG_FUNCTION_ARGS) { LTV_GUARDED({ ...; return x; }); }`
#define LTV_GUARDED(...) return ::ltv::pg::Guarded([&]() -> Datum __VA_ARGS__)
