#include "pg/guard.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace ltv::pg {

namespace {

int SqlStateFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidParameter:
      return ERRCODE_INVALID_PARAMETER_VALUE;
    case ErrorKind::kInvalidInput:
      return ERRCODE_BAD_COPY_FILE_FORMAT;
    case ErrorKind::kDataCorrupted:
      return ERRCODE_DATA_CORRUPTED;
    case ErrorKind::kLimitExceeded:
      return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    case ErrorKind::kNotSupported:
      return ERRCODE_FEATURE_NOT_SUPPORTED;
    case ErrorKind::kUndefinedColumn:
      return ERRCODE_UNDEFINED_COLUMN;
    case ErrorKind::kInternal:
      return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

// Copies src into dest (size bytes with the terminator). A message cut at the buffer's end is
// cut at a UTF-8 character boundary: half a character would make the server's message invalid
// in the client's encoding.
void Copy(char* dest, size_t size, const char* src) noexcept {
  if (!src) src = "";
  if (size == 0) return;
  size_t n = std::strlen(src);
  if (n >= size) {
    n = size - 1;
    while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;  // continuation
  }
  std::memcpy(dest, src, n);
  dest[n] = '\0';
}

}  // namespace

void FillPendingError(PendingError& pending, const std::exception_ptr& error) noexcept {
  pending.message[0] = pending.detail[0] = pending.hint[0] = '\0';
  try {
    std::rethrow_exception(error);
  } catch (const PgException& e) {
    pending.pg_error = e.edata();
  } catch (const Interrupted&) {
    pending.interrupted = true;
    pending.sqlstate = ERRCODE_QUERY_CANCELED;
    Copy(pending.message, sizeof pending.message, "canceling computation due to user request");
  } catch (const Error& e) {
    pending.sqlstate = SqlStateFor(e.kind());
    Copy(pending.message, sizeof pending.message, e.what());
    Copy(pending.detail, sizeof pending.detail, e.detail().c_str());
    Copy(pending.hint, sizeof pending.hint, e.hint().c_str());
  } catch (const std::bad_alloc&) {
    pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
    Copy(pending.message, sizeof pending.message, "out of memory in retail_ltv");
  } catch (const std::exception& e) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    std::snprintf(pending.message, sizeof pending.message, "retail_ltv internal error: %s",
                  e.what());
  } catch (...) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    Copy(pending.message, sizeof pending.message, "retail_ltv internal error: unknown exception");
  }
}

void RaisePendingError(const PendingError& pending) {
  if (pending.pg_error) ReThrowError(pending.pg_error);
  if (pending.interrupted) {
    // The poll threw without a Postgres error (e.g. a test hook): let Postgres decide first.
    CHECK_FOR_INTERRUPTS();
  }
  ereport(ERROR, (errcode(pending.sqlstate), errmsg("%s", pending.message),
                  pending.detail[0] ? errdetail("%s", pending.detail) : 0,
                  pending.hint[0] ? errhint("%s", pending.hint) : 0));
  pg_unreachable();
}

void RaiseCaughtException(std::exception_ptr& caught) {
  PendingError pending;
  {
    const std::exception_ptr error = std::move(caught);
    FillPendingError(pending, error);
  }  // the last reference to the exception goes here, before the longjmp
  RaisePendingError(pending);
}

CancelCheck MakeCancelCheck() {
  return CancelCheck([] {
    if (InterruptPending) PgCall([] { CHECK_FOR_INTERRUPTS(); });
  });
}

}  // namespace ltv::pg
