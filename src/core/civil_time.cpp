#include "core/civil_time.h"

#include <cstdio>

namespace ltv {

int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int& year, int& month, int& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(yoe + era * 400 + (month <= 2));
}

namespace {
void AppendDigits(std::string& out, int64_t value, int width) {
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<size_t>(width));
}
}  // namespace

void AppendTimestamp(std::string& out, TimestampMicros time) {
  // Floor division, so that times before 1970 land on the right day.
  int64_t days = time / kMicrosPerDay;
  int64_t micros = time % kMicrosPerDay;
  if (micros < 0) {
    micros += kMicrosPerDay;
    --days;
  }
  int year, month, day;
  CivilFromDays(days, year, month, day);
  if (year >= 1000 && year <= 9999) {  // the hot path (bulk loads, CSV output): no snprintf
    AppendDigits(out, year, 4);
  } else {
    char buffer[16];
    int length = std::snprintf(buffer, sizeof buffer, "%04d", year);
    out.append(buffer, static_cast<size_t>(length));
  }
  const int64_t seconds = micros / kMicrosPerSecond;
  const int64_t fraction = micros % kMicrosPerSecond;
  out.push_back('-');
  AppendDigits(out, month, 2);
  out.push_back('-');
  AppendDigits(out, day, 2);
  out.push_back(' ');
  AppendDigits(out, seconds / 3600, 2);
  out.push_back(':');
  AppendDigits(out, seconds / 60 % 60, 2);
  out.push_back(':');
  AppendDigits(out, seconds % 60, 2);
  if (fraction) {
    out.push_back('.');
    AppendDigits(out, fraction, 6);
  }
}

std::string FormatTimestamp(TimestampMicros time) {
  std::string out;
  AppendTimestamp(out, time);
  return out;
}

}  // namespace ltv
