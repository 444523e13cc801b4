#include "core/csv/threaded_record_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "collecting_sink.h"
#include "core/csv/csv_import.h"
#include "core/error.h"

namespace ltv::csv {
namespace {

struct Copied {
  int64_t line_no;
  std::string raw;
  bool unterminated_quote;
  std::vector<std::string> fields;
  bool operator==(const Copied& o) const {
    return line_no == o.line_no && raw == o.raw && unterminated_quote == o.unterminated_quote &&
           fields == o.fields;
  }
};

Copied Copy(const RawRecord& r) {
  return {r.line_no, std::string(r.raw), r.unterminated_quote,
          std::vector<std::string>(r.fields.begin(), r.fields.end())};
}

std::vector<Copied> Direct(const std::string& csv, char delimiter) {
  RecordReader reader(csv, delimiter);
  std::vector<Copied> out;
  RawRecord r;
  while (reader.Next(&r)) out.push_back(Copy(r));
  return out;
}

std::vector<Copied> Threaded(const std::string& csv, char delimiter, size_t batch, size_t queue,
                             size_t batch_bytes = size_t{1} << 20) {
  ThreadedRecordReader reader(csv, delimiter, batch, queue, batch_bytes);
  std::vector<Copied> out;
  RawRecord r;
  while (reader.Next(&r)) out.push_back(Copy(r));
  RawRecord again;
  EXPECT_FALSE(reader.Next(&again));  // stays at the end
  return out;
}

// Quoted fields with delimiters, doubled quotes and line breaks inside; CRLF, CR-only and
// blank lines; empty fields; a quote left open at the end of the input.
const char* const kTricky =
    "a,b,c\r\n"
    "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
    "\r\n"
    "2,\"multi\nline\nfield\",z\n"
    ",,\n"
    "  3 ,\t4\t, 5 \r"
    "6,7,8\n"
    "\n\n"
    "9,\"open quote never closed,\n"
    "10,11,12\n";

TEST(ThreadedRecordReader, GivesExactlyWhatRecordReaderGives) {
  const std::string csv = kTricky;
  std::vector<Copied> expected = Direct(csv, ',');
  ASSERT_GE(expected.size(), 6u);
  ASSERT_TRUE(expected.back().unterminated_quote);
  // Batches of one, two and many records; queues of one and several.
  for (size_t batch : {1, 2, 3, 1000})
    for (size_t queue : {1, 4}) EXPECT_EQ(Threaded(csv, ',', batch, queue), expected);
}

TEST(ThreadedRecordReader, ManyRecordsAcrossManyBatches) {
  std::string csv = "k;v\n";
  for (int i = 0; i < 20000; ++i)
    csv += std::to_string(i) + ";" + (i % 3 ? "plain" : "\"q;" + std::to_string(i) + "\"") + "\n";
  std::vector<Copied> expected = Direct(csv, ';');
  ASSERT_EQ(expected.size(), 20001u);
  EXPECT_EQ(Threaded(csv, ';', 97, 2), expected);
}

// Batches cut by size (every record, or a few at a time) give the same records.
TEST(ThreadedRecordReader, BatchesBoundedByBytesGiveTheSameRecords) {
  std::string csv = "k,v\n";
  for (int i = 0; i < 3000; ++i) csv += std::to_string(i) + "," + std::string(i % 700, 'x') + "\n";
  csv += kTricky;
  std::vector<Copied> expected = Direct(csv, ',');
  for (size_t bytes : {1, 500, 4096}) EXPECT_EQ(Threaded(csv, ',', 2048, 2, bytes), expected);
}

TEST(ThreadedRecordReader, EmptyInputHasNoRecords) {
  EXPECT_TRUE(Threaded("", ',', 10, 1).empty());
  EXPECT_TRUE(Threaded("\n\r\n\n", ',', 10, 1).empty());
}

TEST(ThreadedRecordReader, StoppingEarlyDoesNotHang) {
  std::string csv;
  for (int i = 0; i < 100000; ++i) csv += "a,b,c\n";
  for (int stop_after : {0, 1, 5000}) {
    ThreadedRecordReader reader(csv, ',', 64, 1);  // the thread blocks on the full queue
    RawRecord r;
    for (int i = 0; i < stop_after; ++i) ASSERT_TRUE(reader.Next(&r));
  }  // the destructor stops the thread and joins it
}

TEST(ThreadedRecordReader, ImportGivesTheSameResultEitherWay) {
  std::string csv =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  for (int i = 0; i < 3000; ++i) {
    std::string n = std::to_string(i);
    if (i % 7 == 3)
      csv += n + ",A,bad quantity,x,2011-01-01 10:00,1.5,17850,UK\n";
    else if (i % 13 == 4)
      csv += n + ",A,\"unclosed quote\n";
    else
      csv += "C" + std::to_string(i / 3) + ",SKU" + std::to_string(i % 5) + ",\"item, \"\"" + n +
             "\"\"\"," + std::to_string(i % 4 + 1) + ",2011-02-0" + std::to_string(i % 9 + 1) +
             " 10:00,2.5," + std::to_string(12000 + i % 13) + ",UK\n";
  }
  testing::CollectingSink direct, threaded;
  ImportOptions options;
  ImportReport a = ImportCsv(csv, options, direct);
  options.tokenize_on_thread = true;
  ImportReport b = ImportCsv(csv, options, threaded);
  EXPECT_EQ(a.ToJson().Dump(), b.ToJson().Dump());
  // Rows compared by what tells them apart: line, text and amount; line, reason and raw text.
  auto loaded = [](const testing::CollectingSink& sink) {
    std::vector<std::tuple<int64_t, std::string, double>> rows;
    for (const Transaction& t : sink.loaded) rows.emplace_back(t.line_no, t.description, t.amount);
    return rows;
  };
  auto rejected = [](const testing::CollectingSink& sink) {
    std::vector<std::tuple<int64_t, std::string, std::string>> rows;
    for (const RejectedRow& r : sink.rejected) rows.emplace_back(r.line_no, r.reason, r.raw);
    return rows;
  };
  ASSERT_FALSE(direct.loaded.empty());
  ASSERT_FALSE(direct.rejected.empty());
  EXPECT_EQ(loaded(direct), loaded(threaded));
  EXPECT_EQ(rejected(direct), rejected(threaded));
}

TEST(ThreadedRecordReader, ImportErrorsStopTheThread) {
  std::string csv = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n";
  for (int i = 0; i < 50000; ++i) csv += "1,A,1,2011-01-01 10:00,1,5\n";
  ImportOptions options;
  options.tokenize_on_thread = true;
  options.max_rows = 10;
  testing::CollectingSink sink;
  EXPECT_THROW(ImportCsv(csv, options, sink), Error);  // over max_rows: the reader is dropped
}

}  // namespace
}  // namespace ltv::csv
