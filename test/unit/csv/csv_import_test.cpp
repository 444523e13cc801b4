#include "core/csv/csv_import.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/csv/value_parsing.h"
#include "core/error.h"
#include "collecting_sink.h"

namespace ltv::csv {
namespace {

using testing::CollectingSink;

struct Result {
  ImportReport report;
  CollectingSink sink;
};

constexpr const char* kUciHeader =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

Result Import(const std::string& csv, const ImportOptions& options = {}) {
  Result r;
  r.report = ImportCsv(csv, options, r.sink);
  EXPECT_EQ(r.report.rows_read,
            r.report.rows_loaded + r.report.rows_excluded + r.report.rows_rejected);
  EXPECT_EQ(r.report.rows_loaded, static_cast<int64_t>(r.sink.loaded.size()));
  EXPECT_EQ(r.report.rows_rejected, static_cast<int64_t>(r.sink.rejected.size()));
  int64_t excluded = 0;
  for (const auto& [rule, n] : r.report.excluded_by_rule) excluded += n;
  EXPECT_EQ(excluded, r.report.rows_excluded);
  return r;
}

ErrorKind ImportErrorKind(const std::string& csv, const ImportOptions& options = {},
                          std::string* message = nullptr) {
  CollectingSink sink;
  try {
    ImportCsv(csv, options, sink);
  } catch (const Error& e) {
    if (message) *message = std::string(e.what()) + " | " + e.hint();
    return e.kind();
  }
  ADD_FAILURE() << "no error for: " << csv;
  return ErrorKind::kInternal;
}

TimestampMicros Ts(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return DaysFromCivil(y, m, d) * kMicrosPerDay + (hh * 3600LL + mm * 60 + ss) * kMicrosPerSecond;
}

// ---- column recognition -------------------------------------------------------------------

TEST(ImportColumns, UciOnlineRetail) {
  auto r = Import(std::string(kUciHeader) +
                  "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,"
                  "17850,United Kingdom\n");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  const Transaction& t = r.sink.loaded[0];
  EXPECT_EQ(t.invoice, "536365");
  EXPECT_EQ(t.stock_code, "85123A");
  EXPECT_EQ(t.description, "WHITE HANGING HEART T-LIGHT HOLDER");
  EXPECT_DOUBLE_EQ(t.quantity, 6);
  EXPECT_DOUBLE_EQ(t.unit_price, 2.55);
  EXPECT_DOUBLE_EQ(t.amount, 6 * 2.55);
  EXPECT_EQ(t.invoice_time, Ts(2010, 12, 1, 8, 26));
  EXPECT_EQ(t.customer_id, "17850");
  EXPECT_EQ(t.country, "United Kingdom");
  EXPECT_EQ(t.line_no, 2);
  EXPECT_FALSE(t.is_return);
  EXPECT_EQ(r.report.columns.at("unit_price"), "UnitPrice");
  EXPECT_EQ(r.report.columns.at("customer_id"), "CustomerID");
  EXPECT_EQ(r.report.date_order, "iso");
  EXPECT_EQ(r.report.encoding, "utf-8");
}

TEST(ImportColumns, OnlineRetailII) {
  auto r = Import(
      "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
      "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,"
      "United Kingdom\n");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "13085");
  EXPECT_EQ(r.report.columns.at("invoice"), "Invoice");
  EXPECT_EQ(r.report.columns.at("unit_price"), "Price");
  EXPECT_EQ(r.report.columns.at("customer_id"), "Customer ID");
}

TEST(ImportColumns, SnakeCaseVariants) {
  for (const char* header :
       {"invoice_no,stock_code,description,quantity,invoice_date,unit_price,customer_id,country",
        "invoice_id,stock_code,description,qty,order_date,unit_price,customer_id,country",
        "INVOICE NO,Stock Code,DESCRIPTION,Quantity,Invoice Date,Unit Price,Customer Id,COUNTRY"}) {
    auto r = Import(std::string(header) + "\n1,A1,thing,2,2011-01-02 03:04:05,1.5,42,France\n");
    ASSERT_EQ(r.sink.loaded.size(), 1u) << header;
    EXPECT_EQ(r.sink.loaded[0].invoice, "1");
    EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, 3.0);
    EXPECT_EQ(r.sink.loaded[0].invoice_time, Ts(2011, 1, 2, 3, 4, 5));
  }
}

TEST(ImportColumns, ExplicitMapping) {
  ImportOptions o;
  o.column_map = {{"customer_id", "Kunde"}, {"invoice_time", "Zeit"}, {"unit_price", "preis"}};
  auto r = Import("Kunde,Zeit,Menge,Preis\n7,2011-01-01,2,3\n", [&] {
    ImportOptions x = o;
    x.column_map["quantity"] = "Menge";
    return x;
  }());
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "7");
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, 6);
  EXPECT_EQ(r.report.columns.at("unit_price"), "Preis");  // normalized match of "preis"

  std::string msg;
  ImportOptions bad;
  bad.column_map = {{"customer", "Kunde"}};
  EXPECT_EQ(ImportErrorKind("Kunde,Zeit,Menge,Preis\n7,2011-01-01,2,3\n", bad, &msg),
            ErrorKind::kInvalidParameter);
  EXPECT_NE(msg.find("\"customer\""), std::string::npos) << msg;
  bad.column_map = {{"customer_id", "Client"}};
  EXPECT_EQ(ImportErrorKind("Kunde,Zeit,Menge,Preis\n7,2011-01-01,2,3\n", bad, &msg),
            ErrorKind::kUndefinedColumn);
  EXPECT_NE(msg.find("\"Client\""), std::string::npos) << msg;
}

TEST(ImportColumns, MissingRequiredColumnNamesItAndListsFound) {
  std::string msg;
  EXPECT_EQ(ImportErrorKind("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,Country\n"
                            "1,A,1,2011-01-01,1,UK\n",
                            {}, &msg),
            ErrorKind::kUndefinedColumn);
  EXPECT_NE(msg.find("required column \"customer_id\" not found; columns found: InvoiceNo, "
                     "StockCode, Quantity, InvoiceDate, UnitPrice, Country"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("options.columns"), std::string::npos) << msg;
  EXPECT_EQ(ImportErrorKind("CustomerID,Quantity,UnitPrice\n1,1,1\n", {}, &msg),
            ErrorKind::kUndefinedColumn);
  EXPECT_NE(msg.find("\"invoice_time\""), std::string::npos) << msg;
  EXPECT_EQ(ImportErrorKind("CustomerID,InvoiceDate,UnitPrice\n1,2011-01-01,1\n", {}, &msg),
            ErrorKind::kUndefinedColumn);
  EXPECT_NE(msg.find("\"quantity\""), std::string::npos) << msg;
}

TEST(ImportColumns, AmountColumnInsteadOfQuantityAndPrice) {
  auto r = Import(
      "order_id,customer_id,order_date,amount\n"
      "A1,7,2011-01-01,10.5\n"
      "A2,7,2011-01-02,-4\n"
      "A3,8,2011-01-03,0\n");
  ASSERT_EQ(r.sink.loaded.size(), 2u);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, 10.5);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].quantity, 1);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].unit_price, 10.5);
  EXPECT_DOUBLE_EQ(r.sink.loaded[1].amount, -4);
  EXPECT_TRUE(r.sink.loaded[1].is_return);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_positive_price"), 1);
  EXPECT_EQ(r.report.returns_loaded, 1);
}

TEST(ImportColumns, NoInvoiceColumnSynthesisesOnePurchasePerCustomerAndTime) {
  auto r = Import(
      "customer_id,invoice_date,quantity,unit_price\n"
      "7,2011-01-01 10:00,1,2\n"
      "7,2011-01-01 10:00,3,2\n"
      "8,2011-01-01 10:00,1,2\n");
  ASSERT_EQ(r.sink.loaded.size(), 3u);
  EXPECT_EQ(r.sink.loaded[0].invoice, r.sink.loaded[1].invoice);
  EXPECT_NE(r.sink.loaded[0].invoice, r.sink.loaded[2].invoice);
  EXPECT_EQ(r.sink.loaded[0].invoice, "7@2011-01-01 10:00:00");
}

// ---- reading ------------------------------------------------------------------------------

TEST(ImportReading, QuotedFieldsWithDelimiterQuotesAndNewlines) {
  auto r = Import(std::string(kUciHeader) +
                  "1,A,\"BOX, \"\"LARGE\"\"\",1,2011-01-01,1,7,UK\n"
                  "2,A2,\"TWO\nLINES\",1,2011-01-01,1,7,UK\n"
                  "3,A3,plain,1,2011-01-01,1,7,UK,extra\n"
                  "4,A4,plain,1,2011-01-01,1,7,UK\n");
  ASSERT_EQ(r.sink.loaded.size(), 3u);
  EXPECT_EQ(r.sink.loaded[0].description, "BOX, \"LARGE\"");
  EXPECT_EQ(r.sink.loaded[1].description, "TWO\nLINES");
  EXPECT_EQ(r.sink.loaded[1].line_no, 3);
  EXPECT_EQ(r.sink.loaded[2].line_no, 6);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 5);
  EXPECT_EQ(r.sink.rejected[0].reason, "expected 8 fields, found 9");
  EXPECT_EQ(r.sink.rejected[0].raw, "3,A3,plain,1,2011-01-01,1,7,UK,extra");
}

TEST(ImportReading, CrlfBomAndBlankLines) {
  auto r = Import("\xEF\xBB\xBF" +
                  std::string("InvoiceNo,StockCode,Description,Quantity,"
                              "InvoiceDate,UnitPrice,CustomerID,Country\r\n") +
                  "1,A,x,1,2011-01-01,1,7,UK\r\n"
                  "\r\n"
                  "2,A,\"multi\r\nline\",1,2011-01-01,1,7,UK\r\n"
                  "3,A,y,1,2011-01-01,1,7\r\n"
                  "4,A,z,1,2011-01-01,1,7,UK");  // no final newline
  EXPECT_EQ(r.report.rows_read, 4);
  ASSERT_EQ(r.sink.loaded.size(), 3u);
  EXPECT_EQ(r.sink.loaded[0].invoice, "1");
  EXPECT_EQ(r.sink.loaded[0].country, "UK");
  EXPECT_EQ(r.sink.loaded[1].line_no, 4);
  EXPECT_EQ(r.sink.loaded[1].description, "multi\r\nline");
  EXPECT_EQ(r.sink.loaded[2].line_no, 7);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 6);
  EXPECT_EQ(r.sink.rejected[0].reason, "expected 8 fields, found 7");
  EXPECT_EQ(r.report.header[0], "InvoiceNo");
}

TEST(ImportReading, SemicolonWithDecimalCommaAndTab) {
  auto r = Import(
      "InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country\n"
      "1;A;x;2;2011-01-01;2,55;17850,0;Deutschland\n");
  EXPECT_EQ(r.report.delimiter, ';');
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].unit_price, 2.55);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "17850,0");  // only "17850.0" is a float export

  auto t = Import(
      "InvoiceNo\tCustomerID\tInvoiceDate\tQuantity\tUnitPrice\n"
      "1\t7\t2011-01-01\t2\t2.5\n");
  EXPECT_EQ(t.report.delimiter, '\t');
  ASSERT_EQ(t.sink.loaded.size(), 1u);
  EXPECT_DOUBLE_EQ(t.sink.loaded[0].amount, 5);

  ImportOptions o;
  o.delimiter = ';';
  // The header alone would suggest ',' (a tie goes to ','); the option overrides it.
  auto forced = Import("CustomerID;InvoiceDate;Amount;Note,a,b,c\n7;2011-01-01;3,5;x\n", o);
  ASSERT_EQ(forced.sink.loaded.size(), 1u);
  EXPECT_DOUBLE_EQ(forced.sink.loaded[0].amount, 3.5);
}

TEST(ImportReading, Windows1252PoundSignBecomesUtf8) {
  auto r = Import(std::string(kUciHeader) +
                  "1,A,PRICE \xA3"
                  "5 \x80,1,2011-01-01,1,7,UK\n");
  EXPECT_EQ(r.report.encoding, "windows-1252");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_EQ(r.sink.loaded[0].description,
            "PRICE \xC2\xA3"
            "5 \xE2\x82\xAC");

  ImportOptions latin;
  latin.encoding = "latin-1";
  auto l = Import(std::string(kUciHeader) + "1,A,\xA3,1,2011-01-01,1,7,UK\n", latin);
  EXPECT_EQ(l.report.encoding, "latin-1");
  EXPECT_EQ(l.sink.loaded[0].description, "\xC2\xA3");

  auto u = Import(std::string(kUciHeader) + "1,A,\xC2\xA3,1,2011-01-01,1,7,UK\n");
  EXPECT_EQ(u.report.encoding, "utf-8");
  EXPECT_EQ(u.sink.loaded[0].description, "\xC2\xA3");
}

TEST(ImportReading, ForcedUtf8RejectsInvalidRecordWithLine) {
  ImportOptions o;
  o.encoding = "utf-8";
  auto r = Import(std::string(kUciHeader) + "1,A,ok,1,2011-01-01,1,7,UK\n" +
                      "2,A,bad \xA3,1,2011-01-01,1,7,UK\n" + "3,A,ok,1,2011-01-01,1,7,UK\n",
                  o);
  EXPECT_EQ(r.sink.loaded.size(), 2u);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 3);
  EXPECT_NE(r.sink.rejected[0].reason.find("invalid UTF-8 byte 0xA3 in column \"Description\""),
            std::string::npos)
      << r.sink.rejected[0].reason;
  EXPECT_EQ(r.sink.rejected[0].raw, "2,A,bad \xEF\xBF\xBD,1,2011-01-01,1,7,UK");
}

TEST(ImportReading, NulByteRejectsRecord) {
  std::string csv = std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,UK\n";
  csv += std::string("2,A,n\0l,1,2011-01-01,1,7,UK\n", 28);
  csv += "3,A,x,1,2011-01-02,1,7,UK\n";
  auto r = Import(csv);
  EXPECT_EQ(r.sink.loaded.size(), 2u);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 3);
  EXPECT_NE(r.sink.rejected[0].reason.find("NUL byte"), std::string::npos);
  EXPECT_NE(r.sink.rejected[0].reason.find("Description"), std::string::npos);
  EXPECT_EQ(r.sink.rejected[0].raw.find('\0'), std::string::npos);
}

TEST(ImportReading, UnterminatedQuoteIsRejected) {
  auto r = Import(std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,UK\n" +
                  "2,A,\"never closed,1,2011-01-01,1,7,UK\n3,A,x,1,2011-01-01,1,7,UK\n");
  EXPECT_EQ(r.sink.loaded.size(), 1u);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 3);
  EXPECT_NE(r.sink.rejected[0].reason.find("unterminated quoted field"), std::string::npos);
  // A closing quote as the very last byte is fine.
  auto ok = Import(std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,\"UK\"");
  EXPECT_EQ(ok.sink.loaded.size(), 1u);
}

// ---- values -------------------------------------------------------------------------------

TEST(ImportValues, SpreadsheetDatesAutoOrder) {
  auto mdy = Import(std::string(kUciHeader) + "1,A,x,1,12/1/2010 8:26,1,7,UK\n" +
                    "2,A,x,1,12/13/2010 8:26,1,7,UK\n");
  EXPECT_EQ(mdy.report.date_order, "mdy");
  ASSERT_EQ(mdy.sink.loaded.size(), 2u);
  EXPECT_EQ(mdy.sink.loaded[0].invoice_time, Ts(2010, 12, 1, 8, 26));

  auto dmy = Import(std::string(kUciHeader) + "1,A,x,1,12/1/2010 8:26,1,7,UK\n" +
                    "2,A,x,1,13/1/2010 8:26,1,7,UK\n");
  EXPECT_EQ(dmy.report.date_order, "dmy");
  ASSERT_EQ(dmy.sink.loaded.size(), 2u);
  EXPECT_EQ(dmy.sink.loaded[0].invoice_time, Ts(2010, 1, 12, 8, 26));
  EXPECT_EQ(dmy.sink.loaded[1].invoice_time, Ts(2010, 1, 13, 8, 26));
}

TEST(ImportValues, ExplicitDayFirst) {
  ImportOptions o;
  o.date_order = DateOrder::kDayFirst;
  auto r = Import(std::string(kUciHeader) + "1,A,x,1,1/12/2010 8:26,1,7,UK\n", o);
  EXPECT_EQ(r.report.date_order, "dmy");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_EQ(r.sink.loaded[0].invoice_time, Ts(2010, 12, 1, 8, 26));
}

TEST(ImportValues, BadValuesAreRejectedWithColumnAndExpectation) {
  auto r = Import(std::string(kUciHeader) +
                  "1,A,x,1,2011-02-30,1,7,UK\n"          // line 2
                  "2,A,x,1,soon,1,7,UK\n"                // line 3
                  "3,A,x,many,2011-01-01,1,7,UK\n"       // line 4
                  "4,A,x,1,2011-01-01,,7,UK\n"           // line 5
                  "5,A,x,1e300,2011-01-01,1e300,7,UK\n"  // line 6
                  "6,A,x, +2 ,2011-01-01, 1e0 , 7 , UK \n");
  ASSERT_EQ(r.sink.rejected.size(), 5u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 2);
  EXPECT_NE(r.sink.rejected[0].reason.find("\"InvoiceDate\""), std::string::npos);
  EXPECT_NE(r.sink.rejected[0].reason.find("not a valid date"), std::string::npos);
  EXPECT_EQ(r.sink.rejected[1].line_no, 3);
  EXPECT_NE(r.sink.rejected[1].reason.find("as a date; expected"), std::string::npos);
  EXPECT_EQ(r.sink.rejected[2].line_no, 4);
  EXPECT_NE(r.sink.rejected[2].reason.find("\"Quantity\""), std::string::npos);
  EXPECT_NE(r.sink.rejected[2].reason.find("as a number"), std::string::npos);
  EXPECT_EQ(r.sink.rejected[3].line_no, 5);
  EXPECT_NE(r.sink.rejected[3].reason.find("\"UnitPrice\" (unit_price) is empty"),
            std::string::npos);
  EXPECT_EQ(r.sink.rejected[4].line_no, 6);
  EXPECT_EQ(r.sink.rejected[4].reason,
            "quantity (\"Quantity\") is 1.0000000000000001e+300; the import accepts at most 1e+09 "
            "in absolute value");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, 2);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "7");
  EXPECT_EQ(r.sink.loaded[0].country, "UK");
}

TEST(ImportValues, CustomerIdFloatNormalisation) {
  auto r = Import(std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,17850.0,UK\n" +
                  "2,A,x,1,2011-01-01,1,17850,UK\n");
  ASSERT_EQ(r.sink.loaded.size(), 2u);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "17850");
  EXPECT_EQ(r.report.customers_before_cleaning, 1);
  EXPECT_EQ(r.report.customers_loaded, 1);
}

// ---- cleaning -----------------------------------------------------------------------------

TEST(ImportCleaning, EveryRuleCountedInOrder) {
  auto r = Import(std::string(kUciHeader) +
                  "1,A,x,1,2011-01-01,1,,UK\n"             // missing_customer
                  "2,POST,postage,1,2011-01-01,18,7,UK\n"  // non_product_code
                  "3,bank charges,x,1,2011-01-01,15,7,UK\n"
                  "4,gift_0001_10,voucher,1,2011-01-01,10,7,UK\n"
                  "5,A,x,0,2011-01-01,1,7,UK\n"       // zero_quantity
                  "6,A,x,1,2011-01-01,0,7,UK\n"       // non_positive_price
                  "7,A,x,1,2011-01-01,-1,7,UK\n"      // non_positive_price
                  "8,A,x,1,2011-01-01,1,7,UK\n"       // loaded
                  "8,A,x,1,2011-01-01,1,7,UK\n"       // exact_duplicate
                  "8,A,x,1,2011-01-01,1.0,7,UK\n"     // exact_duplicate after normalisation
                  "8,A,x,2,2011-01-01,1,7,UK\n"       // differs: loaded
                  ",POST,x,0,2011-01-01,0,,UK\n"      // several rules: first (missing_customer)
                  "9,POST,x,0,2011-01-01,0,8,UK\n");  // several: non_product_code
  EXPECT_EQ(r.report.rows_read, 13);
  EXPECT_EQ(r.report.excluded_by_rule.at("missing_customer"), 2);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_product_code"), 4);
  EXPECT_EQ(r.report.excluded_by_rule.at("zero_quantity"), 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_positive_price"), 2);
  EXPECT_EQ(r.report.excluded_by_rule.at("exact_duplicate"), 2);
  EXPECT_EQ(r.report.rows_loaded, 2);
  ASSERT_EQ(r.sink.loaded.size(), 2u);
  EXPECT_EQ(r.sink.loaded[0].line_no, 9);  // the first of the duplicates is kept
  EXPECT_EQ(r.report.customers_before_cleaning, 2);
  EXPECT_EQ(r.report.customers_loaded, 1);
}

TEST(ImportCleaning, KeepDuplicatesAndCustomNonProductCodes) {
  ImportOptions o;
  o.keep_duplicates = true;
  o.non_product_codes = {"A"};
  auto r = Import(std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,UK\n" +
                      "2,POST,x,1,2011-01-01,1,7,UK\n" + "2,POST,x,1,2011-01-01,1,7,UK\n",
                  o);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_product_code"), 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("exact_duplicate"), 0);
  EXPECT_EQ(r.report.rows_loaded, 2);
}

TEST(ImportCleaning, CancellationsAndReturnsAreLoadedNegative) {
  auto r = Import(std::string(kUciHeader) +
                  "C536379,A,x,-1,2011-01-01,27.5,7,UK\n"  // cancellation, negative quantity
                  "C536380,A,x,2,2011-01-01,3,7,UK\n"      // cancellation, positive quantity
                  "536381,A,x,-3,2011-01-01,2,7,UK\n"      // return without C
                  "536382,A,x,3,2011-01-01,2,7,UK\n");
  ASSERT_EQ(r.sink.loaded.size(), 4u);
  EXPECT_TRUE(r.sink.loaded[0].is_return);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, -27.5);
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].quantity, -1);
  EXPECT_TRUE(r.sink.loaded[1].is_return);
  EXPECT_DOUBLE_EQ(r.sink.loaded[1].amount, -6);
  EXPECT_DOUBLE_EQ(r.sink.loaded[1].quantity, -2);
  EXPECT_TRUE(r.sink.loaded[2].is_return);
  EXPECT_DOUBLE_EQ(r.sink.loaded[2].amount, -6);
  EXPECT_FALSE(r.sink.loaded[3].is_return);
  EXPECT_EQ(r.report.returns_loaded, 3);
  EXPECT_NE(r.report.ToJson().Dump().find("\"cancellation_return_kept\":3"), std::string::npos);
}

TEST(ImportReport, JsonHasEveryRule) {
  auto r = Import(std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,UK\n");
  std::string json = r.report.ToJson().Dump();
  for (const char* key :
       {"\"rows_read\":1", "\"rows_loaded\":1", "\"rows_excluded\":0", "\"rows_rejected\":0",
        "\"missing_customer\":0", "\"non_product_code\":0", "\"zero_quantity\":0",
        "\"non_positive_price\":0", "\"exact_duplicate\":0", "\"cancellation_return_kept\":0",
        "\"customers_before_cleaning\":1", "\"customers_loaded\":1", "\"delimiter\":\",\"",
        "\"encoding\":\"utf-8\"", "\"date_order\":\"iso\"", "\"customer_id\":\"CustomerID\"",
        "\"first_purchase\":\"2011-01-01 00:00:00\""})
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
}

// ---- whole-file errors and limits ---------------------------------------------------------

TEST(ImportErrors, EmptyHeaderOnlyAndNoHeader) {
  std::string msg;
  EXPECT_EQ(ImportErrorKind("", {}, &msg), ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("file is empty"), std::string::npos);
  EXPECT_EQ(ImportErrorKind("\xEF\xBB\xBF\r\n\n  \n", {}, &msg), ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("file is empty"), std::string::npos);
  EXPECT_EQ(ImportErrorKind(std::string(kUciHeader) + "\n\n", {}, &msg), ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("file has a header but no data rows"), std::string::npos);
  EXPECT_EQ(ImportErrorKind("536365,85123A,WHITE,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n",
                            {}, &msg),
            ErrorKind::kInvalidInput);
  EXPECT_NE(msg.find("no header"), std::string::npos);
  EXPECT_EQ(ImportErrorKind("\xFF\xFEI\0n\0", {}, &msg), ErrorKind::kNotSupported);
}

TEST(ImportErrors, Limits) {
  std::string csv =
      std::string(kUciHeader) + "1,A,x,1,2011-01-01,1,7,UK\n" + "2,A,x,1,2011-01-01,1,7,UK\n";
  ImportOptions o;
  o.max_rows = 1;
  std::string msg;
  EXPECT_EQ(ImportErrorKind(csv, o, &msg), ErrorKind::kLimitExceeded);
  EXPECT_NE(msg.find("more than 1 data rows"), std::string::npos) << msg;
  EXPECT_NE(msg.find("max_rows"), std::string::npos) << msg;
  o.max_rows = 2;
  EXPECT_EQ(Import(csv, o).report.rows_loaded, 2);
  ImportOptions b;
  b.max_bytes = 10;
  EXPECT_EQ(ImportErrorKind(csv, b, &msg), ErrorKind::kLimitExceeded);
  EXPECT_NE(msg.find("max_bytes = 10"), std::string::npos) << msg;
}

TEST(ImportErrors, CancelCheckIsCalled) {
  std::string csv = kUciHeader;
  for (int i = 0; i < 10000; ++i) csv += std::to_string(i) + ",A,x,1,2011-01-01,1,7,UK\n";
  int polls = 0;
  CancelCheck cancel([&] {
    if (++polls == 2) throw Interrupted();
  });
  CollectingSink sink;
  EXPECT_THROW(ImportCsv(csv, {}, sink, cancel), Interrupted);
  EXPECT_EQ(polls, 2);
  // Records 1..8191 were read before the second poll; the last is still held back for its
  // (deferred) duplicate check, so 8190 reached the sink.
  EXPECT_EQ(sink.loaded.size(), 8190u);
}

// ---- options ------------------------------------------------------------------------------

TEST(ImportOptionsParsing, KeysAndErrors) {
  ImportOptions o = ParseImportOptions(json::Parse(
      R"({"delimiter":";","encoding":"Latin1","date_order":"dmy","columns":{"customer_id":"Kunde"},)"
      R"("non_product_codes":["X"],"max_rows":10,"max_bytes":100,"keep_duplicates":true})"));
  EXPECT_EQ(o.delimiter, ';');
  EXPECT_EQ(o.encoding, "latin-1");
  EXPECT_EQ(o.date_order, DateOrder::kDayFirst);
  EXPECT_EQ(o.column_map.at("customer_id"), "Kunde");
  EXPECT_EQ(o.non_product_codes, std::vector<std::string>{"X"});
  EXPECT_EQ(o.max_rows, 10);
  EXPECT_EQ(o.max_bytes, 100);
  EXPECT_TRUE(o.keep_duplicates);
  EXPECT_EQ(ParseImportOptions(json::Parse("{\"delimiter\":\"tab\"}")).delimiter, '\t');
  EXPECT_EQ(ParseImportOptions(json::Parse("{}")).non_product_codes, DefaultNonProductCodes());
  for (const char* bad :
       {R"({"delimitr":","})", R"({"delimiter":"::"})", R"({"encoding":"ebcdic"})",
        R"({"date_order":"ymd"})", R"({"columns":[1]})", R"({"non_product_codes":[1]})",
        R"({"max_rows":-1})"}) {
    EXPECT_THROW(ParseImportOptions(json::Parse(bad)), Error) << bad;
  }
}

}  // namespace
}  // namespace ltv::csv

// ---- hand-written fixture files (also the fuzzer's seed corpus) ---------------------------

namespace ltv::csv {
namespace {

std::string ReadFixture(const std::string& name) {
  std::string path = LTV_SOURCE_DIR "/test/fixtures/csv/" + name;
  FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string bytes;
  if (!f) return bytes;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  std::fclose(f);
  return bytes;
}

TEST(ImportFixtures, UciOnlineRetail) {
  auto r = Import(ReadFixture("uci_online_retail.csv"));
  EXPECT_EQ(r.report.rows_read, 5);
  EXPECT_EQ(r.report.rows_loaded, 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_product_code"), 2);  // D (discount), POST
  EXPECT_EQ(r.report.excluded_by_rule.at("missing_customer"), 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("exact_duplicate"), 1);
  EXPECT_EQ(r.report.customers_before_cleaning, 2);
}

TEST(ImportFixtures, OnlineRetailIICrlfBomDayFirst) {
  auto r = Import(ReadFixture("online_retail_ii_crlf_bom.csv"));
  EXPECT_EQ(r.report.date_order, "dmy");  // 13/1/2009 decides
  ASSERT_EQ(r.sink.loaded.size(), 2u);
  EXPECT_EQ(r.sink.loaded[0].invoice_time, Ts(2009, 1, 12, 7, 45));
  EXPECT_EQ(r.sink.loaded[1].description, "CAT BOWL, \"LARGE\"\r\nSECOND LINE");
  EXPECT_EQ(r.sink.loaded[1].line_no, 3);
  EXPECT_EQ(r.sink.loaded[0].customer_id, "13085");
  EXPECT_EQ(r.report.header[0], "Invoice");
}

TEST(ImportFixtures, SemicolonWindows1252) {
  auto r = Import(ReadFixture("semicolon_cp1252.csv"));
  EXPECT_EQ(r.report.delimiter, ';');
  EXPECT_EQ(r.report.encoding, "windows-1252");
  ASSERT_EQ(r.sink.loaded.size(), 1u);
  EXPECT_EQ(r.sink.loaded[0].description,
            "Tasse \xC2\xA3 Gr\xC3\xBC\xC3\x9F"
            "e");
  EXPECT_DOUBLE_EQ(r.sink.loaded[0].amount, 5.1);
  EXPECT_EQ(r.report.excluded_by_rule.at("zero_quantity"), 1);
  ASSERT_EQ(r.sink.rejected.size(), 1u);
  EXPECT_EQ(r.sink.rejected[0].line_no, 4);
}

TEST(ImportFixtures, TabAmountNoInvoice) {
  auto r = Import(ReadFixture("tab_amount_no_invoice.csv"));
  EXPECT_EQ(r.report.delimiter, '\t');
  EXPECT_EQ(r.report.rows_loaded, 2);
  EXPECT_EQ(r.report.returns_loaded, 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("non_positive_price"), 1);
  EXPECT_EQ(r.report.excluded_by_rule.at("missing_customer"), 1);
}

// The quote swallows the rest of the file into one rejected record: nothing loads, which is an
// error naming the reason and the line (not an empty dataset).
TEST(ImportFixtures, UnterminatedQuoteSwallowsTheRest) {
  CollectingSink sink;
  try {
    ImportCsv(ReadFixture("unterminated_quote.csv"), {}, sink);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(),
                 "no row could be loaded: 1 of 1 rows were rejected, 1 of them for unterminated "
                 "quoted field; nothing was imported");
    EXPECT_EQ(e.detail().rfind("Line 2: unterminated quoted field", 0), 0u) << e.detail();
  }
  ASSERT_EQ(sink.rejected.size(), 1u);
  EXPECT_EQ(sink.rejected[0].line_no, 2);
}

// The distinct-customer counts against std::set over the same rows: many customers (the table
// grows many times), revisited out of order, some only on rows the cleaning rules exclude.
TEST(ImportReportCounts, DistinctCustomersMatchASetCount) {
  std::string csv = kUciHeader;
  std::set<std::string> read, loaded;
  uint64_t x = 12345;
  for (int i = 0; i < 60000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    std::string customer = "c" + std::to_string((x >> 33) % 20000);
    bool excluded = (x >> 20) % 5 == 0;  // zero quantity: read, not loaded
    csv += std::to_string(i) + ",A,x," + (excluded ? "0" : "1") + ",2011-01-01,1," + customer +
           ",UK\n";
    read.insert(customer);
    if (!excluded) loaded.insert(customer);
  }
  auto r = Import(csv);
  EXPECT_EQ(r.report.customers_before_cleaning, static_cast<int64_t>(read.size()));
  EXPECT_EQ(r.report.customers_loaded, static_cast<int64_t>(loaded.size()));
  EXPECT_LT(loaded.size(), read.size());
}

}  // namespace
}  // namespace ltv::csv
