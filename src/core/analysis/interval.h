// Calendar intervals ("6 months", "2 weeks", "1 year 3 days") for the analysis options, with
// Postgres's meaning: months, days and microseconds kept apart, so that "6 months" before
// 2011-08-31 is 2011-02-28 (the day clamped to the month's length), as `timestamp - interval`
// computes it in SQL. The text form written back is Postgres's own output style ("6 mons",
// "1 year 2 mons 3 days 04:05:06"), so SQL casts it to the same interval.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace ltv::analysis {

struct Interval {
  int64_t months = 0;
  int64_t days = 0;
  int64_t micros = 0;

  // Postgres's ordering of intervals: a month counts 30 days, a day 24 hours.
  double ApproxSeconds() const {
    return static_cast<double>(months) * 30 * 86400 + static_cast<double>(days) * 86400 +
           static_cast<double>(micros) / 1e6;
  }
  bool IsPositive() const { return ApproxSeconds() > 0; }
};

// Reads "<number> <unit>" terms (units: year(s), yr(s), month(s), mon(s), week(s), day(s),
// hour(s), hr(s), minute(s), min(s), second(s), sec(s); numbers are whole, optionally signed)
// and an optional "hh:mm[:ss]" time, in any order and case, optionally after "@" and followed
// by "ago" (Postgres's verbose style). Returns nullopt when the text is not such an interval
// or a part is out of range (more than 100,000 years in all).
std::optional<Interval> ParseInterval(std::string_view text);

// Postgres's output ("postgres" IntervalStyle): "6 mons", "1 year", "182 days", "-1 mons",
// "1 year 2 mons 3 days 04:05:06", "00:00:00" for zero.
std::string FormatInterval(const Interval& interval);

// time - interval and time + interval as Postgres computes them: months first (the day of the
// month clamped to the new month's length), then days, then microseconds. nullopt when the
// result leaves the years 1..9999.
std::optional<TimestampMicros> AddInterval(TimestampMicros time, const Interval& interval);
std::optional<TimestampMicros> SubtractInterval(TimestampMicros time, const Interval& interval);

}  // namespace ltv::analysis
