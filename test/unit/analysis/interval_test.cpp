#include "core/analysis/interval.h"

#include <gtest/gtest.h>

#include "core/civil_time.h"

namespace ltv::analysis {
namespace {

TimestampMicros At(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return (DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000LL;
}

Interval Parsed(const char* text) {
  auto v = ParseInterval(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(Interval{});
}

TEST(Interval, ReadsTheFormsUsersWrite) {
  EXPECT_EQ(Parsed("6 months").months, 6);
  EXPECT_EQ(Parsed("6 mons").months, 6);
  EXPECT_EQ(Parsed("6months").months, 6);
  EXPECT_EQ(Parsed("1 Year").months, 12);
  EXPECT_EQ(Parsed("26 weeks").days, 182);
  EXPECT_EQ(Parsed("182 days").days, 182);
  Interval mixed = Parsed("1 year 2 mons 3 days 04:05:06");
  EXPECT_EQ(mixed.months, 14);
  EXPECT_EQ(mixed.days, 3);
  EXPECT_EQ(mixed.micros, (4 * 3600 + 5 * 60 + 6) * 1000000LL);
  EXPECT_EQ(Parsed("12 hours").micros, 12 * 3600 * 1000000LL);
  EXPECT_EQ(Parsed("1:30").micros, 90 * 60 * 1000000LL);
  EXPECT_EQ(Parsed("00:00:01.5").micros, 1500000);
  // Postgres's verbose style, as psql shows it under pg_regress.
  EXPECT_EQ(Parsed("@ 1 mon ago").months, -1);
  EXPECT_EQ(Parsed("-1 month").months, -1);
}

TEST(Interval, RejectsWhatIsNotAnInterval) {
  for (const char* bad :
       {"", "soon", "6", "months", "6 fortnights", "1.5 months", "1 month ago ago", "ago",
        "1 month 3", "25:61", "99999999999 years", "--1 month"})
    EXPECT_FALSE(ParseInterval(bad).has_value()) << bad;
}

TEST(Interval, PositiveByPostgresOrdering) {
  EXPECT_TRUE(Parsed("1 month -29 days").IsPositive());  // 30 days - 29 days
  EXPECT_FALSE(Parsed("1 month -30 days").IsPositive());
  EXPECT_FALSE(Parsed("0 days").IsPositive());
}

TEST(Interval, WritesPostgresOutput) {
  EXPECT_EQ(FormatInterval(Parsed("6 months")), "6 mons");
  EXPECT_EQ(FormatInterval(Parsed("1 month")), "1 mon");
  EXPECT_EQ(FormatInterval(Parsed("14 months")), "1 year 2 mons");
  EXPECT_EQ(FormatInterval(Parsed("26 weeks")), "182 days");
  EXPECT_EQ(FormatInterval(Parsed("1 day")), "1 day");
  EXPECT_EQ(FormatInterval(Parsed("1 year 2 mons 3 days 04:05:06")),
            "1 year 2 mons 3 days 04:05:06");
  EXPECT_EQ(FormatInterval(Parsed("-1 month")), "-1 mons");
  EXPECT_EQ(FormatInterval(Parsed("-1 day 2 hours")), "-1 days +02:00:00");
  EXPECT_EQ(FormatInterval(Interval{}), "00:00:00");
  EXPECT_EQ(FormatInterval(Parsed("00:00:01.5")), "00:00:01.5");
}

TEST(Interval, CalendarArithmeticAsPostgres) {
  // Months first with the day clamped to the month's length, then days, then time.
  EXPECT_EQ(SubtractInterval(At(2011, 8, 31), Parsed("6 months")), At(2011, 2, 28));
  EXPECT_EQ(SubtractInterval(At(2012, 8, 31), Parsed("6 months")), At(2012, 2, 29));
  EXPECT_EQ(SubtractInterval(At(2011, 12, 9, 12, 50), Parsed("6 mons")), At(2011, 6, 9, 12, 50));
  EXPECT_EQ(AddInterval(At(2011, 1, 31), Parsed("1 month 1 day")), At(2011, 3, 1));
  EXPECT_EQ(AddInterval(At(2010, 12, 31, 23), Parsed("2 hours")), At(2011, 1, 1, 1));
  EXPECT_EQ(SubtractInterval(At(2011, 3, 1), Parsed("1 day")), At(2011, 2, 28));
  EXPECT_EQ(SubtractInterval(At(1970, 1, 1), Parsed("1 second")), At(1969, 12, 31, 23, 59, 59));
  EXPECT_FALSE(SubtractInterval(At(2011, 1, 1), Parsed("1000000 years")).has_value());
  EXPECT_FALSE(AddInterval(At(9999, 12, 1), Parsed("1 month")).has_value());
}

}  // namespace
}  // namespace ltv::analysis
