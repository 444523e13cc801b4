#include "pg/spi.h"

namespace ltv::pg {

SpiArg TextArg(const std::string& s) {
  text* t = PgCall([&] { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
  return {TEXTOID, PointerGetDatum(t)};
}

SpiArg Int8Arg(int64_t v) { return {INT8OID, Int64GetDatum(v)}; }

SpiArg JsonbArg(const std::string& json_text) {
  const char* cstr = json_text.c_str();
  Datum d = PgCall([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr)); });
  return {JSONBOID, d};
}

SpiArg Int8ArrayArg(const std::vector<int64_t>& values) {
  ArrayType* array = PgCall([&] {
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (values.size() + 1)));
    for (size_t i = 0; i < values.size(); ++i) elements[i] = Int64GetDatum(values[i]);
    return construct_array(elements, static_cast<int>(values.size()), INT8OID, 8, FLOAT8PASSBYVAL,
                           TYPALIGN_DOUBLE);
  });
  return {INT8ARRAYOID, PointerGetDatum(array)};
}

SpiArg Utf8TextArrayArg(const std::vector<std::string>& values) {
  ArrayType* array = PgCall([&] {
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (values.size() + 1)));
    for (size_t i = 0; i < values.size(); ++i) {
      int length = static_cast<int>(values[i].size());
      char* server = pg_any_to_server(values[i].data(), length, PG_UTF8);
      elements[i] =
          PointerGetDatum(server == values[i].data() ? cstring_to_text_with_len(server, length)
                                                     : cstring_to_text(server));
    }
    return construct_array(elements, static_cast<int>(values.size()), TEXTOID, -1, false,
                           TYPALIGN_INT);
  });
  return {TEXTARRAYOID, PointerGetDatum(array)};
}

SpiSession::SpiSession() {
  PgCall([] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  });
}

SpiSession::~SpiSession() {
  // Only reached on normal exit or C++ unwinding; SPI_finish does not throw here in practice,
  // but guard anyway: a destructor must not longjmp.
  if (!finished_) {
    try {
      PgCall([] { SPI_finish(); });
    } catch (...) {
    }
  }
}

namespace {

int Run(const char* sql, const std::vector<SpiArg>& args, long limit) {
  int nargs = static_cast<int>(args.size());
  Oid* types =
      nargs ? static_cast<Oid*>(PgCall([&] { return palloc(sizeof(Oid) * nargs); })) : nullptr;
  Datum* values =
      nargs ? static_cast<Datum*>(PgCall([&] { return palloc(sizeof(Datum) * nargs); })) : nullptr;
  char* nulls =
      nargs ? static_cast<char*>(PgCall([&] { return palloc(sizeof(char) * nargs); })) : nullptr;
  for (int i = 0; i < nargs; ++i) {
    types[i] = args[i].type;
    values[i] = args[i].value;
    nulls[i] = args[i].is_null ? 'n' : ' ';
  }
  return PgCall([&] {
    int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, limit);
    if (rc < 0) elog(ERROR, "SPI_execute_with_args failed (%d) for: %s", rc, sql);
    return rc;
  });
}

}  // namespace

uint64_t SpiSession::Execute(const char* sql, const std::vector<SpiArg>& args) {
  Run(sql, args, 0);
  return SPI_processed;
}

std::optional<int64_t> SpiSession::QueryInt8(const char* sql, const std::vector<SpiArg>& args) {
  Run(sql, args, 1);
  if (SPI_processed == 0) return std::nullopt;
  bool is_null = false;
  Datum d = PgCall(
      [&] { return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &is_null); });
  if (is_null) return std::nullopt;
  Oid type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
  if (type == INT4OID) return DatumGetInt32(d);
  return DatumGetInt64(d);
}

std::optional<std::string> SpiSession::QueryText(const char* sql, const std::vector<SpiArg>& args) {
  Run(sql, args, 1);
  if (SPI_processed == 0) return std::nullopt;
  char* value =
      PgCall([&] { return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1); });
  if (!value) return std::nullopt;
  return std::string(value);
}

}  // namespace ltv::pg
