// Splits CSV bytes into records with libcsv, keeping what libcsv does not report: the physical
// line where each record starts and the record's raw text.
//
// The input is fed to libcsv one physical line at a time (a chunk ends at the first CR or LF).
// A record can only end at a line terminator, so at most one record completes per chunk and
// the chunk boundaries give exact line numbers, also after quoted fields that span lines.
// Blank lines are skipped, as libcsv does, and are not records.
#pragma once

#include <csv.h>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace ltv::csv {

struct RawRecord {
  int64_t line_no = 0;              // 1-based physical line where the record starts
  std::string_view raw;             // the record's bytes in the input, without its line terminator
  bool unterminated_quote = false;  // the input ended inside a quoted field
  std::vector<std::string_view> fields;  // unquoted field contents (not yet trimmed)
};

class RecordReader {
 public:
  RecordReader(std::string_view bytes, char delimiter);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Reads the next record into *record (valid until the next call). False at the end.
  // Throws ltv::Error only if libcsv runs out of memory.
  bool Next(RawRecord* record);

  // Offset in the input just after the last record returned.
  size_t consumed() const { return pos_; }

 private:
  static void OnField(void* data, size_t len, void* self);
  static void OnRecord(int terminator, void* self);
  void Emit(RawRecord* record, size_t end);
  void CheckStatus(size_t fed, size_t expected);

  std::string_view bytes_;
  char delimiter_;
  csv_parser parser_;
  size_t pos_ = 0;
  // Position of the next LF at or after pos_, cached so that CR-only files stay linear.
  size_t next_lf_ = 0;
  bool lf_known_ = false;
  int64_t line_ = 1;
  bool in_record_ = false;
  bool record_done_ = false;
  bool finished_ = false;
  size_t record_start_ = 0;
  int64_t record_line_ = 1;
  std::string buffer_;             // field bytes of the current record
  std::vector<size_t> field_end_;  // end offset of each field in buffer_
  std::exception_ptr error_;       // an exception caught inside a libcsv callback
};

}  // namespace ltv::csv
