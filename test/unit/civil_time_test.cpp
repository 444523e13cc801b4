#include "core/civil_time.h"

#include <gtest/gtest.h>

using namespace ltv;

TEST(CivilTime, FormatsTimestampsIncludingBefore1970AndFractions) {
  // 2010-12-01 08:26:00 = 1291191960 s since the epoch.
  EXPECT_EQ(FormatTimestamp(1291191960LL * kMicrosPerSecond), "2010-12-01 08:26:00");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31 23:59:59.999999");   // 1 µs before the epoch
  EXPECT_EQ(FormatTimestamp(951782400LL * kMicrosPerSecond + 5),  // 2000-02-29, leap day
            "2000-02-29 00:00:00.000005");
  std::string out = "first: ";
  AppendTimestamp(out, 0);
  EXPECT_EQ(out, "first: 1970-01-01 00:00:00");
}

TEST(CivilTime, RoundTripsDaysAndFormatsTimestamps) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2010, 12, 1), 14944);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  for (int64_t days : {-800000LL, -1LL, 0LL, 59LL, 11016LL, 14944LL, 2932896LL}) {
    int y, m, d;
    CivilFromDays(days, y, m, d);
    EXPECT_EQ(DaysFromCivil(y, m, d), days);
  }
  EXPECT_EQ(FormatTimestamp(14944 * kMicrosPerDay + 30360 * kMicrosPerSecond),
            "2010-12-01 08:26:00");
  EXPECT_EQ(FormatTimestamp(DaysFromCivil(123, 4, 5) * kMicrosPerDay), "0123-04-05 00:00:00");
}
