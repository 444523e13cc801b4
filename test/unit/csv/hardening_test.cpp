// Issue 14 ("nothing lost at the door"): date forms, whole-file outcomes, value bounds and
// short excerpts. Each test replays a reproduction of the issue.
#include <gtest/gtest.h>

#include <string>

#include "collecting_sink.h"
#include "core/csv/csv_import.h"
#include "core/csv/excerpt.h"
#include "core/csv/value_parsing.h"
#include "core/error.h"
#include "core/json.h"

namespace ltv::csv {
namespace {

using testing::CollectingSink;

TimestampMicros Ts(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0, int64_t us = 0) {
  return DaysFromCivil(y, m, d) * kMicrosPerDay + (hh * 3600LL + mm * 60 + ss) * kMicrosPerSecond +
         us;
}

struct Outcome {
  ImportReport report;
  CollectingSink sink;
  bool failed = false;
  ErrorKind kind = ErrorKind::kInternal;
  std::string message, detail, hint;
};

Outcome RunImport(const std::string& csv, const ImportOptions& options = {}) {
  Outcome o;
  try {
    o.report = ImportCsv(csv, options, o.sink);
    EXPECT_EQ(o.report.rows_read,
              o.report.rows_loaded + o.report.rows_excluded + o.report.rows_rejected);
  } catch (const Error& e) {
    o.failed = true;
    o.kind = e.kind();
    o.message = e.what();
    o.detail = e.detail();
    o.hint = e.hint();
  }
  return o;
}

ImportOptions Options(const std::string& json_text) {
  return ParseImportOptions(json::Parse(json_text));
}

// ---- item 2: date forms ---------------------------------------------------------------------

TEST(DateForms, CompactDates) {
  TimestampMicros t = 0;
  DateForm form;
  ASSERT_EQ(ParseTimestamp("19970101", SlashOrder::kMonthFirst, &t, &form), DateParse::kOk);
  EXPECT_EQ(t, Ts(1997, 1, 1));
  EXPECT_EQ(form, DateForm::kCompact);
  ASSERT_EQ(ParseTimestamp("20101201082659", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26, 59));
  ASSERT_EQ(ParseTimestamp("201012010826", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26));
  EXPECT_EQ(ParseTimestamp("19971301", SlashOrder::kMonthFirst, &t), DateParse::kInvalidCalendar);
  EXPECT_EQ(ParseTimestamp("20101201250000", SlashOrder::kMonthFirst, &t),
            DateParse::kInvalidCalendar);
  for (const char* bad : {"1997010", "199701011", "2010120108265", "1997-0101", "0x970101"})
    EXPECT_EQ(ParseTimestamp(bad, SlashOrder::kMonthFirst, &t), DateParse::kMalformed) << bad;
}

TEST(DateForms, IsoWithFractionAndZone) {
  TimestampMicros t = 0;
  const TimestampMicros expected = Ts(2010, 12, 1, 8, 26, 7, 250000);
  for (const char* text :
       {"2010-12-01T08:26:07.25Z", "2010-12-01T08:26:07.25+01:00", "2010-12-01T08:26:07.25-0500",
        "2010-12-01 08:26:07.25 +02", "2010-12-01T08:26:07.250000 UTC", "2010-12-01T08:26:07,25z"}) {
    ASSERT_EQ(ParseTimestamp(text, SlashOrder::kMonthFirst, &t), DateParse::kOk) << text;
    EXPECT_EQ(t, expected) << text;  // the wall clock as written, as '...+01'::timestamp keeps
  }
  for (const char* bad : {"2010-12-01T08:26:07+1", "2010-12-01T08:26:07+15:00",
                          "2010-12-01T08:26:07+01:60", "2010-12-01T08:26:07Zulu",
                          "2010-12-01T08:26:07 +01:00 x", "2010-12-01Z"})
    EXPECT_EQ(ParseTimestamp(bad, SlashOrder::kMonthFirst, &t), DateParse::kMalformed) << bad;
}

TEST(DateForms, SlashYearFirstAndDottedDayFirst) {
  TimestampMicros t = 0;
  ASSERT_EQ(ParseTimestamp("2010/12/01 08:26", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26));
  // Dotted dates default to day first when nothing in the file proves otherwise.
  Outcome o = RunImport("customer_id,date,amount\n1,01.02.2011,5\n2,03.04.2011 10:00,6\n");
  ASSERT_FALSE(o.failed) << o.message;
  ASSERT_EQ(o.sink.loaded.size(), 2u);
  EXPECT_EQ(o.sink.loaded[0].invoice_time, Ts(2011, 2, 1));
  EXPECT_EQ(o.sink.loaded[1].invoice_time, Ts(2011, 4, 3, 10));
  EXPECT_EQ(o.report.date_order, "dmy");
  // A day above 12 in second place still proves month first.
  o = RunImport("customer_id,date,amount\n1,01.02.2011,5\n2,03.14.2011,6\n");
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.sink.loaded[0].invoice_time, Ts(2011, 1, 2));
  EXPECT_EQ(o.report.date_order, "mdy");
}

TEST(DateForms, ExplicitFormat) {
  TimestampMicros t = 0;
  DateFormat f = CompileDateFormat("%d-%b-%Y %I:%M %p");
  ASSERT_EQ(ParseTimestampWithFormat("01-Dec-2010 08:26 PM", f, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 20, 26));
  ASSERT_EQ(ParseTimestampWithFormat("1-december-2010 12:00 am", f, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 0, 0));
  EXPECT_EQ(ParseTimestampWithFormat("01-Dec-2010 13:26 PM", f, &t), DateParse::kInvalidCalendar);
  EXPECT_EQ(ParseTimestampWithFormat("2010-12-01 08:26", f, &t), DateParse::kMalformed);
  f = CompileDateFormat("%y%m%d%T.%f%z");
  ASSERT_EQ(ParseTimestampWithFormat("101201 08:26:07.5+0100", CompileDateFormat("%y%m%d %T.%f%z"), &t),
            DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26, 7, 500000));
  ASSERT_EQ(ParseTimestampWithFormat("691231", CompileDateFormat("%y%m%d"), &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(1969, 12, 31));
  ASSERT_EQ(ParseTimestampWithFormat("100%/2011/03/04", CompileDateFormat("100%%/%Y/%m/%d"), &t),
            DateParse::kOk);
  EXPECT_EQ(t, Ts(2011, 3, 4));
  for (const char* bad : {"", "%Y-%m", "%Y-%m-%d %q", "%Y-%m-%d %", "%Y-%m-%d %I:%M"}) {
    try {
      CompileDateFormat(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter) << bad;
      EXPECT_EQ(std::string(e.what()).rfind("import option \"date_format\" ", 0), 0u) << e.what();
    }
  }
}

// CDNOW: customer_id,date,quantity,amount with yyyymmdd dates (69,659 rows, all rejected before).
TEST(DateForms, CdnowStyleFileLoads) {
  Outcome o = RunImport("customer_id,date,quantity,amount\n00001,19970101,1,11.77\n00002,19970112,1,12.00\n"
                  "00002,19970112,5,77.00\n");
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 3);
  EXPECT_EQ(o.sink.loaded[0].invoice_time, Ts(1997, 1, 1));
  EXPECT_DOUBLE_EQ(o.sink.loaded[2].amount, 77.0);
}

TEST(DateForms, DateFormatOptionReadsEveryLineWithIt) {
  Outcome o = RunImport("customer_id,date,amount\n1,2011|03|04,5\n2,2011-03-04,6\n3,2011|03|05,6\n",
                  Options(R"({"date_format": "%Y|%m|%d"})"));
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 2);
  ASSERT_EQ(o.sink.rejected.size(), 1u);
  EXPECT_EQ(o.sink.rejected[0].reason,
            "column \"date\" (invoice_time): cannot read \"2011-03-04\" as a date of the form "
            "\"%Y|%m|%d\" (date_format)");
  EXPECT_EQ(o.report.date_order, "date_format");
}

// ---- item 2: whole-file outcomes ------------------------------------------------------------

TEST(ImportOutcome, NothingLoadedIsAnErrorNamingTheReason) {
  Outcome o = RunImport("customer_id,date,amount\n1,soon,5\n2,later,6\n");
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(o.message,
            "no row could be loaded: 2 of 2 rows were rejected, 2 of them for unreadable date in "
            "column \"date\"; nothing was imported");
  EXPECT_EQ(o.detail.rfind("Line 2: column \"date\" (invoice_time): cannot read \"soon\"", 0), 0u)
      << o.detail;
  EXPECT_NE(o.hint.find("date_format"), std::string::npos);
}

// Every row excluded by a cleaning rule is a dataset whose report names the rule (not silent);
// nothing loaded with rows rejected is an error.
TEST(ImportOutcome, EverythingExcludedIsADatasetButRejectionsMakeItAnError) {
  Outcome o = RunImport("customer_id,date,amount\n,2011-01-01,5\n,2011-01-02,6\n");
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.excluded_by_rule.at("missing_customer"), 2);
  o = RunImport("customer_id,date,amount\n,2011-01-01,5\n,2011-01-02,6\n,2011-01-02,6\n1,x,5\n");
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.message,
            "no row could be loaded: 1 of 4 rows were rejected and 3 excluded by cleaning rules; "
            "nothing was imported");
  EXPECT_EQ(o.detail.rfind("Line 5: column \"date\"", 0), 0u) << o.detail;
}

TEST(ImportOutcome, OneReasonRejectingMostRowsIsAnError) {
  std::string csv = "customer_id,date,amount\n1,2011-01-01,5\n";
  for (int i = 0; i < 3; ++i) csv += "2,2011-13-01,6\n";
  Outcome o = RunImport(csv);
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.message,
            "3 of 4 rows (75.0%) were rejected for unreadable date in column \"date\"; nothing "
            "was imported");
  EXPECT_EQ(o.detail.rfind("Line 3: ", 0), 0u) << o.detail;
  // Exactly half is not "most"; and the share can be raised.
  o = RunImport("customer_id,date,amount\n1,2011-01-01,5\n2,2011-13-01,6\n");
  EXPECT_FALSE(o.failed) << o.message;
  o = RunImport(csv, Options(R"({"max_rejected_share": 1})"));
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 1);
  EXPECT_EQ(o.report.rejected_by_reason.at("unreadable date in column \"date\""), 3);
}

// ---- item 3: one poisoned line --------------------------------------------------------------

TEST(ImportBounds, FarDatesAreRejectedByName) {
  ImportOptions options;
  options.max_time = Ts(2024, 1, 2);  // what the host sets: the day after tomorrow, UTC
  Outcome o = RunImport("customer_id,date,amount\n1,2011-01-01,5\n2,12/31/9999,6\n3,1899-12-31 23:59,7\n"
                  "4,2024-01-01 23:59:59,8\n5,2024-01-02,9\n6,2011-01-01,1\n7,2011-01-01,1\n",
                  options);
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 4);
  ASSERT_EQ(o.sink.rejected.size(), 3u);
  EXPECT_EQ(o.sink.rejected[0].reason,
            "column \"date\" (invoice_time): 9999-12-31 00:00:00 is not before 2024-01-02 "
            "00:00:00, a date in the future; pass {\"max_date\": \"...\"} to allow later dates");
  EXPECT_EQ(o.sink.rejected[1].reason,
            "column \"date\" (invoice_time): 1899-12-31 23:59:00 is before 1900-01-01 00:00:00; "
            "pass {\"min_date\": \"...\"} to allow earlier dates");
  EXPECT_EQ(o.sink.rejected[2].line_no, 6);
  EXPECT_EQ(o.report.rejected_by_reason.at("date out of range in column \"date\""), 3);
  // The options move both bounds.
  o = RunImport("customer_id,date,amount\n1,1850-01-01,5\n2,2200-01-01,6\n",
          Options(R"({"min_date": "1800-01-01", "max_date": "2300-01-01"})"));
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 2);
}

TEST(ImportBounds, HugeAmountsAndNonNumbersAreRejected) {
  Outcome o = RunImport(
      "customer_id,date,quantity,price\n1,2011-01-01,1,5\n2,2011-01-01,1,1e13\n"
      "3,2011-01-01,1000,1e10\n4,2011-01-01,NaN,1\n5,2011-01-01,1,Infinity\n6,2011-01-01,1,1e309\n"
      "7,2011-01-01,-2,1e9\n8,2011-01-01,2e9,1\n");
  ASSERT_FALSE(o.failed) << o.message;
  ASSERT_EQ(o.report.rows_loaded, 2);
  EXPECT_DOUBLE_EQ(o.sink.loaded[1].amount, -2e9);
  ASSERT_EQ(o.sink.rejected.size(), 6u);
  EXPECT_EQ(o.sink.rejected[0].reason,
            "unit_price (\"price\") is 10000000000000; the import accepts at most 1e+12 in "
            "absolute value");
  EXPECT_EQ(o.sink.rejected[1].reason,
            "amount (\"quantity\" x \"price\") is 10000000000000; the import accepts at most "
            "1e+12 in absolute value");
  for (int i = 2; i <= 4; ++i)
    EXPECT_NE(o.sink.rejected[i].reason.find("as a number"), std::string::npos);
  EXPECT_EQ(o.sink.rejected[5].reason.rfind("quantity (\"quantity\") is 2000000000;", 0), 0u);
  // An amount column is bounded the same way.
  o = RunImport("customer_id,date,amount\n1,2011-01-01,5\n2,2011-01-01,-1e13\n");
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.sink.rejected.at(0).reason,
            "amount (\"amount\") is -10000000000000; the import accepts at most 1e+12 in "
            "absolute value");
}

TEST(ImportBounds, LongKeysAreRejected) {
  const std::string long_id(10000, '7');
  Outcome o = RunImport("customer_id,date,amount,description\n1,2011-01-01,5,ok\n" + long_id +
                  ",2011-01-01,6,ok\n2,2011-01-01,6," + std::string(5000, 'd') + "\n" +
                  std::string(256, 'x') + ",2011-01-01,7,ok\n");
  ASSERT_FALSE(o.failed) << o.message;
  EXPECT_EQ(o.report.rows_loaded, 2);  // 256 bytes is allowed
  ASSERT_EQ(o.sink.rejected.size(), 2u);
  EXPECT_EQ(o.sink.rejected[0].reason,
            "column \"customer_id\" (customer_id) is 10000 bytes long; at most 256 are accepted");
  EXPECT_EQ(o.sink.rejected[1].reason,
            "column \"description\" (description) is 5000 bytes long; at most 4096 are accepted");
  EXPECT_EQ(o.report.customers_loaded, 2);
}

// ---- item 6: short excerpts -----------------------------------------------------------------

TEST(Excerpts, CutAtACharacterBoundaryAndTellTheSize) {
  EXPECT_EQ(Excerpt("short"), "short");
  EXPECT_EQ(Excerpt(std::string(100, 'a'), 10), "aaaaaaaaaa... (100 bytes)");
  // "é" is two bytes: never cut in half.
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(Excerpt(accents, 5), "\xC3\xA9\xC3\xA9... (20 bytes)");
  EXPECT_EQ(Excerpt(std::string("a\0b\xFF\x01\n", 6)), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD??");
}

TEST(Excerpts, HugeHeaderNamesAreNotEchoed) {
  const std::string huge(1 << 20, 'h');
  Outcome o = RunImport(huge + ",b\n1,2\n");
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.kind, ErrorKind::kUndefinedColumn);
  EXPECT_LT(o.message.size(), 300u) << o.message.substr(0, 300);
  EXPECT_NE(o.message.find("hhhh... (1048576 bytes), b"), std::string::npos);
  std::string wide;
  for (int i = 0; i < 10000; ++i) wide += "c" + std::to_string(i) + ",";
  o = RunImport(wide + "x\n");
  ASSERT_TRUE(o.failed);
  EXPECT_LT(o.message.size(), 600u);
  EXPECT_NE(o.message.find("and 9971 more"), std::string::npos) << o.message;
}

TEST(ImportOutcome, GzipBytesAreNamed) {
  Outcome o = RunImport(std::string("\x1f\x8b\x08\x00rest", 8));
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.kind, ErrorKind::kNotSupported);
  EXPECT_EQ(o.message, "the data is gzip-compressed, not CSV text");
}

TEST(ImportOutcome, BinaryDataIsNamed) {
  Outcome o = RunImport(std::string("PK\x03\x04\x00\x00garbage\nmore", 18));
  ASSERT_TRUE(o.failed);
  EXPECT_EQ(o.message, "the data is binary, not CSV text (a NUL byte at offset 4 of the first line)");
}

TEST(Excerpts, OptionValuesAreCut) {
  try {
    Options(R"({"encoding": ")" + std::string(20000, 'e') + "\"}");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
}

}  // namespace
}  // namespace ltv::csv
