// libFuzzer target for ImportCsv: any bytes must give a report or an ltv::Error, never a crash,
// hang, sanitizer report or absurd allocation. The first byte picks the options. For inputs of
// odd length the import also runs with libcsv on its own thread (ThreadedRecordReader), and
// must give the same report, or the same error, as the plain run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/csv/csv_import.h"
#include "core/error.h"

namespace {

class DiscardingSink : public ltv::csv::ImportSink {
 public:
  void Loaded(const ltv::Transaction& t) override {
    if (t.customer_id.empty()) __builtin_trap();  // missing_customer must have excluded it
  }
  void Rejected(const ltv::csv::RejectedRow& r) override {
    if (r.line_no < 2 || r.reason.empty()) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t knobs = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  ltv::csv::ImportOptions options;
  static constexpr char kDelimiters[4] = {0, ',', ';', '\t'};
  static const char* const kEncodings[4] = {"", "utf-8", "latin-1", "windows-1252"};
  options.delimiter = kDelimiters[knobs & 3];
  options.encoding = kEncodings[(knobs >> 2) & 3];
  options.date_order = static_cast<ltv::csv::DateOrder>(((knobs >> 4) & 3) % 3);
  options.keep_duplicates = (knobs & 0x40) != 0;
  if (knobs & 0x80) options.max_rows = 50;

  auto run = [&](bool threaded) -> std::string {
    options.tokenize_on_thread = threaded;
    DiscardingSink sink;
    try {
      ltv::csv::ImportReport report = ltv::csv::ImportCsv(bytes, options, sink);
      if (report.rows_read != report.rows_loaded + report.rows_excluded + report.rows_rejected)
        __builtin_trap();
      return report.ToJson().Dump();
    } catch (const ltv::Error& e) {
      return std::string("error: ") + e.what();
    }
  };
  std::string plain = run(false);
  if (size % 2 == 1 && run(true) != plain) __builtin_trap();
  return 0;
}
