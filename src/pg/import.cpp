// SQL entry points of stage 1-2: ltv.import_csv and ltv.import_csv_file.
#include "pg/guard.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <memory>
#include <string>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <zlib.h>

#include <algorithm>

#include "core/csv/background_import.h"
#include "core/csv/csv_import.h"
#include "core/json.h"
#include "pg/dataset_loader.h"
#include "pg/settings.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "utils/acl.h"
PG_FUNCTION_INFO_V1(ltv_import_csv);
PG_FUNCTION_INFO_V1(ltv_import_csv_file);
}

namespace ltv::pg {
namespace {

// `release_input` is called once the parse is over and `bytes` is no longer read: the load's
// last steps (the partition's index, the report) then run without the file in memory.
int64_t ImportBytes(const std::string& name, const std::string& source, std::string_view bytes,
                    const std::string& options_text, const std::function<void()>& release_input) {
  json::Value options = json::Parse(options_text);
  DatasetOptions host = TakeDatasetOptions(options);
  csv::ImportOptions import_options = csv::ParseImportOptions(options);
  import_options.tokenize_on_thread = true;  // libcsv beside the interpretation of its records
  if (!import_options.max_time_given) {
    // No line from the future: up to the end of tomorrow (UTC), so that a shop in a zone ahead
    // of UTC (up to +14 h) keeps today's lines. One line dated 9999 would otherwise move the
    // default cutoff of every analysis there.
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t today = now_us / kMicrosPerDay - (now_us < 0 && now_us % kMicrosPerDay ? 1 : 0);
    import_options.max_time = (today + 2) * kMicrosPerDay;
  }
  const int64_t max_bytes = static_cast<int64_t>(max_import_megabytes) << 20;
  if (static_cast<int64_t>(bytes.size()) > max_bytes)
    throw Error(ErrorKind::kLimitExceeded,
                "file is " + std::to_string(bytes.size() >> 20) + " MB, over the limit of " +
                    std::to_string(max_import_megabytes) + " MB",
                "",
                "Raise the limit with SET ltv.max_import_megabytes (at most 16384; ltv.import_csv "
                "takes at most 1 GB, ltv.import_csv_file more).");
  if (max_import_rows > 0 &&
      (import_options.max_rows == 0 || import_options.max_rows > max_import_rows))
    import_options.max_rows = max_import_rows;

  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    auto t1 = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    t0 = t1;
    PgCall([&] { elog(DEBUG1, "retail_ltv import: %s took %.1f ms", what, ms); });
  };
  DatasetLoader loader(name, source, options_text, host);
  lap("begin");
  // The file is parsed on a second thread while this one stores the rows (the parse and the
  // heap inserts take about as long each); only this thread calls into Postgres.
  CancelCheck cancel = MakeCancelCheck();
  csv::BackgroundImport parse(bytes, import_options);
  while (!parse.done()) {
    std::unique_ptr<csv::ImportBatch> batch = parse.Next(std::chrono::milliseconds(20));
    if (!batch) {
      cancel.Check();  // throws on a query cancel; `parse` then stops and is joined
      continue;
    }
    batch->loaded.ForEach([&](const Transaction& t) { loader.AddTransaction(t); });
    for (const csv::RejectedRow& r : batch->rejected)
      loader.AddRejected(r.line_no, r.reason, r.raw);
  }
  csv::ImportReport report = parse.TakeReport();
  release_input();
#ifdef __GLIBC__
  // The parse's tables and batches were freed, but glibc keeps freed memory of its thread
  // arena (and, after freeing a large block, up to twice that block's size of the main one)
  // for reuse: given back here, the partition's index is built without it.
  malloc_trim(0);
#endif
  lap("parse and load");
  json::Value report_json = report.ToJson();
  loader.Finish(report_json, report.customers_loaded, report.first_purchase, report.last_purchase);
  lap("finish");
  return loader.dataset_id();
}

// A server file's bytes, in one malloc'ed block. The block is not zero-filled before the read
// overwrites it: at a million customers the file is 2 GB, and filling it first (as growing a
// std::string does) cost about a second more than the read itself. It grows with realloc,
// which moves a large block by remapping its pages rather than copying them, so growing never
// holds the old and the new block at once; and a gzip file's block is sized up front from the
// size its trailer records, so it normally does not grow at all.
class FileBytes {
 public:
  FileBytes() = default;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  FileBytes(FileBytes&& other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  ~FileBytes() { std::free(data_); }
  std::string_view view() const { return {data_, size_}; }
  size_t size() const { return size_; }
  size_t spare() const { return capacity_ - size_; }
  char* end() { return data_ + size_; }
  void Grew(size_t n) { size_ += n; }
  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    void* bigger = std::realloc(data_, capacity);
    if (!bigger) throw std::bad_alloc();
    data_ = static_cast<char*>(bigger);
    capacity_ = capacity;
  }
  // Frees the bytes (once the parse no longer needs them).
  void Release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// The uncompressed size a gzip file records in its last four bytes (modulo 4 GB; of the last
// member only, if there are several), or 0 when `path` is not a gzip file or has none.
size_t GzipRecordedSize(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  unsigned char head[2] = {0, 0}, tail[4];
  size_t recorded = 0;
  if (std::fread(head, 1, 2, f) == 2 && head[0] == 0x1f && head[1] == 0x8b &&
      std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4)
    recorded = static_cast<size_t>(tail[0]) | static_cast<size_t>(tail[1]) << 8 |
               static_cast<size_t>(tail[2]) << 16 | static_cast<size_t>(tail[3]) << 24;
  std::fclose(f);
  return recorded;
}

FileBytes ReadServerFile(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files as they are, too
  if (!file)
    throw Error(ErrorKind::kInvalidInput,
                "could not open file \"" + path + "\": " + std::strerror(errno));
  // Sized for the file up front (a plain file then takes one pass of large reads straight
  // into the buffer; a gzip file grows it as needed). One byte more than the limit is read
  // at most, to tell a file at the limit from one over it.
  const size_t max_bytes = static_cast<size_t>(max_import_megabytes) << 20;
  FileBytes content;
  struct stat info;
  size_t expected = stat(path.c_str(), &info) == 0 && info.st_size > 0
                        ? static_cast<size_t>(info.st_size) + 1
                        : size_t{1} << 20;
  // A gzip file: the size its trailer records, when that is plausible (a file over 4 GB
  // records its size modulo 4 GB, and the file is then read with growth as before).
  const size_t recorded = GzipRecordedSize(path);
  if (recorded >= expected) expected = recorded + 1;
  try {
    content.Reserve(std::min(expected, max_bytes + 1));
    constexpr size_t kMaxRead = size_t{64} << 20;  // gzread takes an unsigned int
    while (true) {
      if (content.spare() == 0)
        content.Reserve(std::min(content.size() + std::max(content.size() / 2, size_t{1} << 20),
                                 max_bytes + 1));
      int n =
          gzread(file, content.end(), static_cast<unsigned>(std::min(content.spare(), kMaxRead)));
      if (n < 0) {
        int code = 0;
        std::string message = gzerror(file, &code);
        if (message.compare(0, path.size() + 2, path + ": ") == 0)
          message.erase(0, path.size() + 2);
        // A CRC or length mismatch in the trailer lands here ("incorrect data check").
        throw Error(ErrorKind::kInvalidInput,
                    "could not read file \"" + path + "\": " + message + " after " +
                        std::to_string(content.size()) + " bytes of CSV; nothing was imported",
                    "", "Copy or download the file again; gzip -t checks a file.");
      }
      if (n == 0) {
        // gzread returns what it could inflate and then 0 at the end of the input, whether or
        // not the stream was complete: a gzip file cut short (at any byte, or at a flush point
        // with no trailer) only shows as Z_BUF_ERROR here. Importing that prefix would store a
        // partial dataset as if it were whole, so it is an error.
        int code = Z_OK;
        gzerror(file, &code);
        if (code == Z_BUF_ERROR)
          throw Error(ErrorKind::kInvalidInput,
                      "file \"" + path + "\" is truncated: its gzip stream ends without the " +
                          "trailer after " + std::to_string(gzoffset(file)) +
                          " compressed bytes (" + std::to_string(content.size()) +
                          " bytes of CSV inflated); nothing was imported",
                      "", "Copy or download the file again; gzip -t checks a file.");
        break;
      }
      content.Grew(static_cast<size_t>(n));
      if (content.size() > max_bytes)
        throw Error(ErrorKind::kLimitExceeded,
                    "file \"" + path + "\" is over the limit of " +
                        std::to_string(max_import_megabytes) + " MB",
                    "",
                    "Raise the limit with SET ltv.max_import_megabytes (at most 16384; "
                    "ltv.import_csv takes at most 1 GB, ltv.import_csv_file more).");
    }
  } catch (...) {
    gzclose(file);
    throw;
  }
  gzclose(file);
  return content;
}

}  // namespace
}  // namespace ltv::pg

using namespace ltv::pg;

extern "C" Datum ltv_import_csv(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.import_csv: name and data must not be NULL")));
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  bytea* data = PG_GETARG_BYTEA_PP(1);
  char* options =
      PG_ARGISNULL(2) ? pstrdup("{}") : JsonbToCString(nullptr, &PG_GETARG_JSONB_P(2)->root, 0);
  // A toasted argument (say, a column of a table) was detoasted into a copy of our own, which
  // goes once parsed; an argument passed as it is belongs to the caller.
  const bool detoasted = reinterpret_cast<Pointer>(data) != DatumGetPointer(PG_GETARG_DATUM(1));
  LTV_GUARDED({
    std::string_view bytes(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
    return Int64GetDatum(ImportBytes(name, "upload", bytes, options, [&] {
      if (detoasted) PgCall([&] { pfree(data); });
    }));
  });
}

extern "C" Datum ltv_import_csv_file(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.import_csv_file: name and path must not be NULL")));
  // Same rule as COPY FROM a file: the server's files are not every user's to read.
  if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to read server files"),
                    errhint("Only superusers and members of pg_read_server_files may import "
                            "server files; use ltv.import_csv with the file's bytes instead.")));
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* path = text_to_cstring(PG_GETARG_TEXT_PP(1));
  char* options =
      PG_ARGISNULL(2) ? pstrdup("{}") : JsonbToCString(nullptr, &PG_GETARG_JSONB_P(2)->root, 0);
  LTV_GUARDED({
    FileBytes content = ReadServerFile(path);
    return Int64GetDatum(ImportBytes(name, std::string("file:") + path, content.view(), options,
                                     [&] { content.Release(); }));
  });
}
