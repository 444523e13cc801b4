#include "core/csv/record_reader.h"

#include <cstring>

#include "core/error.h"

namespace ltv::csv {

namespace {
// libcsv's parser state for "inside a field" (FIELD_BEGUN in libcsv.c). Together with
// `quoted` it tells that the input ended inside an open quote; see the unit test
// UnterminatedQuoteIsRejected, which pins this down.
constexpr int kLibcsvFieldBegun = 2;
}  // namespace

RecordReader::RecordReader(std::string_view bytes, char delimiter)
    : bytes_(bytes), delimiter_(delimiter) {
  if (csv_init(&parser_, 0) != 0) throw Error(ErrorKind::kInternal, "libcsv failed to initialise");
  csv_set_delim(&parser_, static_cast<unsigned char>(delimiter));
}

RecordReader::~RecordReader() { csv_free(&parser_); }

void RecordReader::OnField(void* data, size_t len, void* self_ptr) {
  auto* self = static_cast<RecordReader*>(self_ptr);
  // Exceptions must not unwind through libcsv's C frames.
  try {
    if (len > 0) self->buffer_.append(static_cast<const char*>(data), len);
    self->field_end_.push_back(self->buffer_.size());
  } catch (...) {
    if (!self->error_) self->error_ = std::current_exception();
  }
}

void RecordReader::OnRecord(int, void* self_ptr) {
  static_cast<RecordReader*>(self_ptr)->record_done_ = true;
}

void RecordReader::CheckStatus(size_t fed, size_t expected) {
  if (error_) std::rethrow_exception(error_);
  if (fed != expected || csv_error(&parser_) != CSV_SUCCESS)
    throw Error(ErrorKind::kLimitExceeded,
                std::string("CSV parser failed: ") + csv_strerror(csv_error(&parser_)));
}

void RecordReader::Emit(RawRecord* record, size_t end) {
  size_t raw_end = end;
  if (raw_end > record_start_ && (bytes_[raw_end - 1] == '\n' || bytes_[raw_end - 1] == '\r'))
    --raw_end;
  record->line_no = record_line_;
  record->raw = bytes_.substr(record_start_, raw_end - record_start_);
  record->fields.clear();
  size_t begin = 0;
  for (size_t e : field_end_) {
    record->fields.emplace_back(buffer_.data() + begin, e - begin);
    begin = e;
  }
  in_record_ = false;
  record_done_ = false;
}

bool RecordReader::Next(RawRecord* record) {
  record->unterminated_quote = false;
  buffer_.clear();
  field_end_.clear();
  const size_t n = bytes_.size();
  while (pos_ < n) {
    if (!lf_known_ || next_lf_ < pos_) {
      lf_known_ = true;
      const void* lf = std::memchr(bytes_.data() + pos_, '\n', n - pos_);
      next_lf_ = lf ? static_cast<size_t>(static_cast<const char*>(lf) - bytes_.data()) : n;
    }
    size_t end = next_lf_;  // index of the terminator (or n)
    if (const void* cr = std::memchr(bytes_.data() + pos_, '\r', end - pos_))
      end = static_cast<size_t>(static_cast<const char*>(cr) - bytes_.data());
    size_t chunk_end = end < n ? end + 1 : n;

    if (!in_record_) {
      record_start_ = pos_;
      record_line_ = line_;
    }
    bool has_content = false;
    for (size_t i = pos_; i < end && !has_content; ++i) {
      char c = bytes_[i];
      has_content = !(c == ' ' || (c == '\t' && delimiter_ != '\t'));
    }
    size_t fed =
        csv_parse(&parser_, bytes_.data() + pos_, chunk_end - pos_, OnField, OnRecord, this);
    CheckStatus(fed, chunk_end - pos_);

    // A CR directly followed by LF is one line break, counted at the LF.
    if (end < n && !(bytes_[end] == '\r' && end + 1 < n && bytes_[end + 1] == '\n')) ++line_;
    pos_ = chunk_end;

    if (record_done_) {
      Emit(record, chunk_end);
      return true;
    }
    if (has_content) in_record_ = true;
  }
  if (finished_) return false;
  finished_ = true;
  bool open_quote = in_record_ && parser_.quoted && parser_.pstate == kLibcsvFieldBegun;
  csv_fini(&parser_, OnField, OnRecord, this);
  CheckStatus(0, 0);
  if (!record_done_) return false;
  Emit(record, n);
  record->unterminated_quote = open_quote;
  return true;
}

}  // namespace ltv::csv
