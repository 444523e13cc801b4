#include "core/csv/background_import.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"
#include "collecting_sink.h"

namespace ltv::csv {
namespace {

using testing::CollectingSink;

// A file with loaded, excluded (duplicates, missing customer) and rejected rows mixed.
std::string MixedFile(int rows) {
  std::string csv =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  for (int i = 0; i < rows; ++i) {
    std::string n = std::to_string(i);
    if (i % 7 == 3) {
      csv += n + ",A,bad quantity,x" + n + ",2011-01-01 10:00,1.5,17850,UK\n";  // rejected
    } else if (i % 11 == 5) {
      csv += n + ",A,no customer,2,2011-01-01 10:00,1.5,,UK\n";  // excluded
    } else {
      csv += "C" + std::to_string(i / 3) + ",SKU" + std::to_string(i % 5) + ",\"item, " + n +
             "\"," + std::to_string(i % 4 + 1) + ",2011-02-0" + std::to_string(i % 9 + 1) + " 1" +
             std::to_string(i % 10) + ":00,2.5," + std::to_string(12000 + i % 13) + ",UK\n";
    }
  }
  return csv;
}

bool SameTransaction(const Transaction& a, const Transaction& b) {
  return a.line_no == b.line_no && a.invoice == b.invoice && a.stock_code == b.stock_code &&
         a.description == b.description && a.quantity == b.quantity &&
         a.unit_price == b.unit_price && a.amount == b.amount && a.invoice_time == b.invoice_time &&
         a.customer_id == b.customer_id && a.country == b.country && a.is_return == b.is_return;
}

TEST(BackgroundImport, BatchesTogetherEqualADirectImport) {
  const std::string csv = MixedFile(5000);
  CollectingSink direct;
  ImportReport expected = ImportCsv(csv, ImportOptions{}, direct);
  ASSERT_GT(expected.rows_rejected, 0);
  ASSERT_GT(expected.rows_excluded, 0);

  // Small batches and a queue of one force the two threads to take turns many times.
  BackgroundImport parse(csv, ImportOptions{}, /*batch_rows=*/97, /*max_queued=*/1);
  std::vector<Transaction> loaded;
  std::vector<RejectedRow> rejected;
  int batches = 0;
  while (!parse.done()) {
    auto batch = parse.Next(std::chrono::milliseconds(5));
    if (!batch) continue;
    ++batches;
    EXPECT_LE(batch->rows(), 97u);
    batch->loaded.ForEach([&](const Transaction& t) { loaded.push_back(t); });
    rejected.insert(rejected.end(), batch->rejected.begin(), batch->rejected.end());
  }
  ImportReport report = parse.TakeReport();
  EXPECT_GT(batches, 40);
  EXPECT_EQ(report.ToJson().Dump(), expected.ToJson().Dump());
  ASSERT_EQ(loaded.size(), direct.loaded.size());
  for (size_t i = 0; i < loaded.size(); ++i)
    ASSERT_TRUE(SameTransaction(loaded[i], direct.loaded[i])) << "row " << i;
  ASSERT_EQ(rejected.size(), direct.rejected.size());
  for (size_t i = 0; i < rejected.size(); ++i) {
    EXPECT_EQ(rejected[i].line_no, direct.rejected[i].line_no);
    EXPECT_EQ(rejected[i].reason, direct.rejected[i].reason);
    EXPECT_EQ(rejected[i].raw, direct.rejected[i].raw);
  }
}

TEST(BackgroundImport, TheParseErrorComesBackFromTakeReport) {
  BackgroundImport parse("Foo,Bar\n1,2\n", ImportOptions{});
  while (!parse.done()) EXPECT_EQ(parse.Next(std::chrono::milliseconds(5)), nullptr);
  try {
    parse.TakeReport();
    FAIL() << "expected the missing-column error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("column"), std::string::npos) << e.what();
  }
}

// Long rejected lines: a batch ends once it holds batch_bytes of text, long before batch_rows.
TEST(BackgroundImport, BatchesAreBoundedByTheirText) {
  std::string csv =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  for (int i = 0; i < 400; ++i)
    csv += std::to_string(i) + ",A," + std::string(4000, 'd') + ",1," +
           (i % 4 ? "not a date" : "2011-01-01 10:00") + ",2.5,17850,UK\n";
  ImportOptions options;
  options.max_rejected_share = 1;
  CollectingSink direct;
  ImportCsv(csv, options, direct);
  const size_t kBytes = 64 << 10;
  BackgroundImport parse(csv, options, /*batch_rows=*/8192, /*max_queued=*/1, kBytes);
  size_t rejected = 0, loaded = 0, batches = 0;
  while (!parse.done()) {
    auto batch = parse.Next(std::chrono::milliseconds(5));
    if (!batch) continue;
    ++batches;
    EXPECT_LT(batch->bytes, kBytes + 5000) << "at most one row past the bound";
    for (const RejectedRow& r : batch->rejected) EXPECT_EQ(r.raw, direct.rejected[rejected++].raw);
    loaded += batch->loaded.size();
  }
  parse.TakeReport();
  EXPECT_EQ(rejected, direct.rejected.size());
  EXPECT_EQ(loaded, direct.loaded.size());
  EXPECT_GT(batches, 15u);
}

TEST(BackgroundImport, StopsPromptlyWhenTheConsumerGivesUp) {
  const std::string csv = MixedFile(200000);
  auto start = std::chrono::steady_clock::now();
  {
    BackgroundImport parse(csv, ImportOptions{}, /*batch_rows=*/100, /*max_queued=*/2);
    // Take one batch, then abandon the rest: the parse thread is left blocked on a full queue.
    while (!parse.Next(std::chrono::milliseconds(5))) {
    }
  }  // the destructor stops and joins it
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  BackgroundImport stopped(csv, ImportOptions{}, 100, 2);
  stopped.Stop();
  while (!stopped.done()) stopped.Next(std::chrono::milliseconds(5));
  EXPECT_THROW(stopped.TakeReport(), Interrupted);
}

TEST(TransactionBuffer, GivesBackWhatWasAddedInOrder) {
  TransactionBuffer buffer;
  Transaction a;
  a.line_no = 2;
  a.invoice = "536365";
  a.stock_code = "85123A";
  a.description = std::string("WHITE \xE2\x80\x9CHANGING\xE2\x80\x9D HEART, with a long name");
  a.quantity = 6;
  a.unit_price = 2.55;
  a.amount = 15.3;
  a.invoice_time = 1291191960LL * kMicrosPerSecond;
  a.customer_id = "17850";
  a.country = "United Kingdom";
  Transaction b = a;
  b.line_no = 3;
  b.invoice = "C536379";
  b.description = "";
  b.quantity = -1;
  b.amount = -2.55;
  b.is_return = true;
  buffer.Add(a);
  buffer.Add(b);
  EXPECT_EQ(buffer.size(), 2u);
  std::vector<Transaction> out;
  buffer.ForEach([&](const Transaction& t) { out.push_back(t); });
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(SameTransaction(out[0], a));
  EXPECT_TRUE(SameTransaction(out[1], b));
  buffer.clear();
  EXPECT_EQ(buffer.size(), 0u);
  buffer.ForEach([&](const Transaction&) { ADD_FAILURE() << "cleared buffer visited a row"; });
}

}  // namespace
}  // namespace ltv::csv
