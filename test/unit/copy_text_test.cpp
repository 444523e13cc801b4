#include "core/copy_text.h"

#include <gtest/gtest.h>

#include "core/civil_time.h"

using namespace ltv;

TEST(CopyText, EscapesSpecialCharactersAndRepairsEncoding) {
  std::string out;
  AppendCopyText(out, std::string("a\tb\nc\\d\re\0f", 12));
  EXPECT_EQ(out, "a\\tb\\nc\\\\d\\ref");
  out.clear();
  AppendCopyText(out, "\xC2\xA3 5 \xA3 \xED\xA0\x80");  // pound, lone 0xA3, a surrogate
  EXPECT_EQ(out, "\xC2\xA3 5 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));  // overlong NUL
}

TEST(CopyText, FormatsTimestampsIncludingBefore1970AndFractions) {
  std::string out;
  // 2010-12-01 08:26:00 = 1291191960 s since the epoch.
  AppendCopyTimestamp(out, 1291191960LL * kMicrosPerSecond);
  EXPECT_EQ(out, "2010-12-01 08:26:00");
  out.clear();
  AppendCopyTimestamp(out, -1);  // one microsecond before the epoch
  EXPECT_EQ(out, "1969-12-31 23:59:59.999999");
  out.clear();
  AppendCopyTimestamp(out, 951782400LL * kMicrosPerSecond + 5);  // 2000-02-29, leap day
  EXPECT_EQ(out, "2000-02-29 00:00:00.000005");
}

TEST(CopyText, DoublesRoundTrip) {
  std::string out;
  AppendCopyDouble(out, 0.1 + 0.2);
  EXPECT_EQ(std::stod(out), 0.1 + 0.2);
  out.clear();
  AppendCopyDouble(out, -6);
  EXPECT_EQ(out, "-6");
}

TEST(CivilTime, RoundTripsDaysAndFormatsTimestamps) {
  EXPECT_EQ(ltv::DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(ltv::DaysFromCivil(2010, 12, 1), 14944);
  EXPECT_EQ(ltv::DaysFromCivil(1969, 12, 31), -1);
  for (int64_t days : {-800000LL, -1LL, 0LL, 59LL, 11016LL, 14944LL, 2932896LL}) {
    int y, m, d;
    ltv::CivilFromDays(days, y, m, d);
    EXPECT_EQ(ltv::DaysFromCivil(y, m, d), days);
  }
  EXPECT_EQ(ltv::FormatTimestamp(14944 * ltv::kMicrosPerDay + 30360 * ltv::kMicrosPerSecond),
            "2010-12-01 08:26:00");
  EXPECT_EQ(ltv::FormatTimestamp(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(ltv::FormatTimestamp(ltv::DaysFromCivil(123, 4, 5) * ltv::kMicrosPerDay),
            "0123-04-05 00:00:00");
}

TEST(CopyText, RejectedRowLineEscapesReasonAndRawText) {
  std::string out;
  ltv::AppendRejectedCopyLine(out, 7, 12, "expected 8 fields, found 9", "a,b\tc\\d");
  EXPECT_EQ(out, "7\t12\texpected 8 fields, found 9\ta,b\\tc\\\\d\n");
}
