// Guarded SPI helpers for C++ code: each call goes through PgCall, so a Postgres error inside
// unwinds C++ frames normally. Use inside an SpiSession (SPI_connect / SPI_finish).
#pragma once

#include "pg/guard.h"

#include <optional>
#include <string>
#include <vector>

namespace ltv::pg {

// One bound parameter: a Datum of the given type (or NULL).
struct SpiArg {
  Oid type;
  Datum value;
  bool is_null = false;
};

SpiArg TextArg(const std::string& s);  // palloc'd text in the current memory context
SpiArg Int8Arg(int64_t v);
SpiArg JsonbArg(const std::string& json_text);
SpiArg Int8ArrayArg(const std::vector<int64_t>& values);  // int8[]
// text[] of UTF-8 strings, converted to the database encoding (an error if one cannot be).
SpiArg Utf8TextArrayArg(const std::vector<std::string>& values);

class SpiSession {
 public:
  SpiSession();
  ~SpiSession();  // SPI_finish on normal exit; on error the aborting transaction cleans up
  SpiSession(const SpiSession&) = delete;
  SpiSession& operator=(const SpiSession&) = delete;

  // Runs a statement; returns SPI_processed.
  uint64_t Execute(const char* sql, const std::vector<SpiArg>& args = {});
  // First column of the first row as int8 / text; nullopt if no row or NULL.
  std::optional<int64_t> QueryInt8(const char* sql, const std::vector<SpiArg>& args = {});
  std::optional<std::string> QueryText(const char* sql, const std::vector<SpiArg>& args = {});

 private:
  bool finished_ = false;
};

}  // namespace ltv::pg
