// Calendar arithmetic and timestamp text for TimestampMicros (proleptic Gregorian calendar,
// no time zone). One implementation for the CSV reader, the COPY writer and the generator.
#pragma once

#include <cstdint>
#include <string>

#include "core/transaction.h"

namespace ltv {

// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). No validation:
// callers check month and day ranges.
int64_t DaysFromCivil(int64_t year, int month, int day);
// The civil date of a day count since 1970-01-01.
void CivilFromDays(int64_t days, int& year, int& month, int& day);

// Appends 'YYYY-MM-DD HH:MM:SS', with '.ffffff' only when there are microseconds. Times
// before 1970 are floored correctly (-1 us is 1969-12-31 23:59:59.999999).
void AppendTimestamp(std::string& out, TimestampMicros time);
std::string FormatTimestamp(TimestampMicros time);

}  // namespace ltv
