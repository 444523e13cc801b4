#include "core/csv/value_parsing.h"

#include <gtest/gtest.h>

#include "core/csv/cleaning_rules.h"
#include "core/csv/column_mapping.h"
#include "core/csv/delimiter.h"
#include "core/csv/encoding.h"

namespace ltv::csv {
namespace {

TimestampMicros Ts(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return DaysFromCivil(y, m, d) * kMicrosPerDay + (hh * 3600LL + mm * 60 + ss) * kMicrosPerSecond;
}

TEST(ParseTimestamp, IsoForms) {
  TimestampMicros t = 0;
  DateForm form;
  ASSERT_EQ(ParseTimestamp("2010-12-01 08:26:00", SlashOrder::kMonthFirst, &t, &form),
            DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26));
  EXPECT_EQ(form, DateForm::kIso);
  ASSERT_EQ(ParseTimestamp("2010-12-01T08:26", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26));
  ASSERT_EQ(ParseTimestamp(" 2010-12-01 ", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1));
  ASSERT_EQ(ParseTimestamp("2010-12-01 08:26:07.25", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26, 7) + 250000);
  EXPECT_EQ(FormatTimestamp(Ts(2010, 12, 1, 8, 26)), "2010-12-01 08:26:00");
  EXPECT_EQ(FormatTimestamp(Ts(1969, 12, 31, 23, 59, 59)), "1969-12-31 23:59:59");
}

TEST(ParseTimestamp, SlashFormsAndOrder) {
  TimestampMicros t = 0;
  DateForm form;
  ASSERT_EQ(ParseTimestamp("12/1/2010 8:26", SlashOrder::kMonthFirst, &t, &form), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26));
  EXPECT_EQ(form, DateForm::kSlash);
  ASSERT_EQ(ParseTimestamp("12/1/2010 8:26", SlashOrder::kDayFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 1, 12, 8, 26));
  ASSERT_EQ(ParseTimestamp("1/12/2010 08:26:30", SlashOrder::kDayFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 8, 26, 30));
  ASSERT_EQ(ParseTimestamp("12/1/2010 8:26 PM", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1, 20, 26));
  ASSERT_EQ(ParseTimestamp("12/1/2010", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(t, Ts(2010, 12, 1));
  int a = 0, b = 0;
  EXPECT_TRUE(PeekSlashDateParts("13/1/2010 8:26", &a, &b));
  EXPECT_EQ(a, 13);
  EXPECT_EQ(b, 1);
}

TEST(ParseTimestamp, RejectsBadDates) {
  TimestampMicros t = 0;
  EXPECT_EQ(ParseTimestamp("2011-02-30", SlashOrder::kMonthFirst, &t), DateParse::kInvalidCalendar);
  EXPECT_EQ(ParseTimestamp("2012-02-29", SlashOrder::kMonthFirst, &t), DateParse::kOk);
  EXPECT_EQ(ParseTimestamp("2011-02-29", SlashOrder::kMonthFirst, &t), DateParse::kInvalidCalendar);
  EXPECT_EQ(ParseTimestamp("13/1/2010", SlashOrder::kMonthFirst, &t), DateParse::kInvalidCalendar);
  EXPECT_EQ(ParseTimestamp("2010-12-01 24:00", SlashOrder::kMonthFirst, &t),
            DateParse::kInvalidCalendar);
  for (const char* bad : {"", "yesterday", "2010-12", "2010-12-01 8", "2010-12-01x", "12/1/10",
                          "2010-12-01 08:26:00 extra", "2010-12-01 08:2", "1/2/3/2010"})
    EXPECT_EQ(ParseTimestamp(bad, SlashOrder::kMonthFirst, &t), DateParse::kMalformed) << bad;
}

TEST(ParseDecimal, Forms) {
  double d = 0;
  EXPECT_TRUE(ParseDecimal("2.55", false, &d));
  EXPECT_DOUBLE_EQ(d, 2.55);
  EXPECT_TRUE(ParseDecimal("-6", false, &d));
  EXPECT_DOUBLE_EQ(d, -6);
  EXPECT_TRUE(ParseDecimal("1e3", false, &d));
  EXPECT_DOUBLE_EQ(d, 1000);
  EXPECT_TRUE(ParseDecimal(" +4 ", false, &d));
  EXPECT_DOUBLE_EQ(d, 4);
  EXPECT_TRUE(ParseDecimal("2,55", true, &d));
  EXPECT_DOUBLE_EQ(d, 2.55);
  EXPECT_TRUE(ParseDecimal("1.234,5", true, &d));
  EXPECT_DOUBLE_EQ(d, 1234.5);
  EXPECT_TRUE(ParseDecimal("2.55", true, &d));
  EXPECT_DOUBLE_EQ(d, 2.55);
  for (const char* bad :
       {"", "2,55", "abc", "inf", "nan", "1e", "+-1", "0x10", "1e999", "1 2", "--1", "."})
    EXPECT_FALSE(ParseDecimal(bad, false, &d)) << bad;
  EXPECT_FALSE(ParseDecimal("1,2,3", true, &d));
}

TEST(NormalizeCustomerId, DropsFloatSuffix) {
  EXPECT_EQ(NormalizeCustomerId("17850.0"), "17850");
  EXPECT_EQ(NormalizeCustomerId("17850.000"), "17850");
  EXPECT_EQ(NormalizeCustomerId("17850"), "17850");
  EXPECT_EQ(NormalizeCustomerId("17850.5"), "17850.5");
  EXPECT_EQ(NormalizeCustomerId("A.0"), "A.0");
}

TEST(Encoding, Detection) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii text, long enough for the fast path"),
            std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("\xC2\xA3"
                            "5"),
            std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("ab\xA3"
                            "5"),
            2u);
  EXPECT_EQ(FindInvalidUtf8("\xC0\x80"), 0u);           // overlong NUL
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);       // surrogate
  EXPECT_EQ(FindInvalidUtf8("x\xF4\x90\x80\x80"), 1u);  // > U+10FFFF
  std::string out;
  AppendAsUtf8(
      "\xA3"
      "5 \x80",
      Encoding::kWindows1252, out);
  EXPECT_EQ(out,
            "\xC2\xA3"
            "5 \xE2\x82\xAC");  // pound sign, euro sign
  out.clear();
  AppendAsUtf8("\xA3\x80", Encoding::kLatin1, out);
  EXPECT_EQ(out, "\xC2\xA3\xC2\x80");
  out.clear();
  AppendSanitizedUtf8(std::string_view("a\0b\xFF", 4), out);
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(StripUtf8Bom("\xEF\xBB\xBFx"), "x");
}

TEST(Delimiter, DetectedFromHeaderOutsideQuotes) {
  EXPECT_EQ(DetectDelimiter("a,b,c\n1;2;3;4;5\n"), ',');
  EXPECT_EQ(DetectDelimiter("a;b;c\r\n1,2"), ';');
  EXPECT_EQ(DetectDelimiter("a\tb\tc\n"), '\t');
  EXPECT_EQ(DetectDelimiter("\"x,y,z\";b;c\n"), ';');
  EXPECT_EQ(DetectDelimiter("single\n"), ',');
}

TEST(ColumnMapping, NormalizesNames) {
  EXPECT_EQ(NormalizeHeaderName("Customer ID"), "customerid");
  EXPECT_EQ(NormalizeHeaderName("customer_id"), "customerid");
  EXPECT_EQ(NormalizeHeaderName("CustomerID"), "customerid");
}

TEST(CleaningRules, NonProductMatcher) {
  NonProductMatcher m({"POST", "BANK CHARGES", "gift_0001*"});
  EXPECT_TRUE(m.Matches("post"));
  EXPECT_TRUE(m.Matches("Bank Charges"));
  EXPECT_TRUE(m.Matches("GIFT_0001_20"));
  EXPECT_FALSE(m.Matches("POSTAGE"));
  EXPECT_FALSE(m.Matches("85123A"));
}

TEST(CleaningRules, DuplicateFilterGrowsAndFindsRepeats) {
  // 300,000 entries take the table past 2 MB, where it moves to huge-page-aligned memory.
  constexpr uint64_t kEntries = 300000;
  DuplicateFilter f;
  int fresh = 0, repeats = 0;
  for (uint64_t i = 0; i < kEntries; ++i) fresh += f.Insert(MurmurHash3_128(&i, sizeof i, 1));
  for (uint64_t i = 0; i < kEntries; ++i) repeats += !f.Insert(MurmurHash3_128(&i, sizeof i, 1));
  EXPECT_EQ(fresh, static_cast<int>(kEntries));
  EXPECT_EQ(repeats, static_cast<int>(kEntries));
  EXPECT_EQ(f.size(), kEntries);
  uint64_t other = kEntries + 1;
  EXPECT_TRUE(f.Insert(MurmurHash3_128(&other, sizeof other, 1)));
  EXPECT_TRUE(f.Insert(Hash128{0, 0}));
  EXPECT_FALSE(f.Insert(Hash128{0, 0}));
}

}  // namespace
}  // namespace ltv::csv
