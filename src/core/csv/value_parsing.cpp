#include "core/csv/value_parsing.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ltv::csv {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads 1..max_digits digits at s[*pos]; false if there is none.
bool ReadNumber(std::string_view s, size_t* pos, int max_digits, int* out) {
  int value = 0, digits = 0;
  while (*pos < s.size() && IsDigit(s[*pos]) && digits < max_digits) {
    value = value * 10 + (s[*pos] - '0');
    ++*pos;
    ++digits;
  }
  if (digits == 0 || (*pos < s.size() && IsDigit(s[*pos]))) return false;
  *out = value;
  return true;
}

bool ReadExact(std::string_view s, size_t* pos, int digits, int* out) {
  size_t start = *pos;
  if (!ReadNumber(s, pos, digits, out)) return false;
  return *pos - start == static_cast<size_t>(digits);
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

struct TimeOfDay {
  int hour = 0, minute = 0, second = 0;
  int64_t micros = 0;
};

// Parses "h:mm[:ss[.fraction]]" from s[*pos]; `am_pm` allows a trailing " AM"/" PM".
bool ParseTimeOfDay(std::string_view s, size_t* pos, bool am_pm, TimeOfDay* t) {
  if (!ReadNumber(s, pos, 2, &t->hour) || !Expect(s, pos, ':') || !ReadExact(s, pos, 2, &t->minute))
    return false;
  if (Expect(s, pos, ':')) {
    if (!ReadExact(s, pos, 2, &t->second)) return false;
    if (Expect(s, pos, '.') || Expect(s, pos, ',')) {
      int64_t scale = 100000;
      size_t start = *pos;
      while (*pos < s.size() && IsDigit(s[*pos])) {
        t->micros += (s[*pos] - '0') * scale;  // digits beyond microseconds are truncated
        scale /= 10;
        ++*pos;
      }
      if (*pos == start) return false;
    }
  }
  if (am_pm) {
    size_t p = *pos;
    while (p < s.size() && s[p] == ' ') ++p;
    if (p + 2 == s.size()) {
      char a = static_cast<char>(s[p] | 0x20), m = static_cast<char>(s[p + 1] | 0x20);
      if ((a == 'a' || a == 'p') && m == 'm') {
        if (t->hour < 1 || t->hour > 12) {
          t->hour = 99;  // invalid, reported as calendar error
        } else {
          t->hour = t->hour % 12 + (a == 'p' ? 12 : 0);
        }
        *pos = s.size();
      }
    }
  }
  return true;
}

}  // namespace

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}

bool ParseDecimal(std::string_view s, bool decimal_comma, double* out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) return false;
  }
  if (s.empty() || s.size() > 64) return false;
  char buf[65];
  size_t n = 0;
  // With a decimal comma, dots before it group thousands ("1.234,5"); without any comma a
  // dot is still a decimal point ("2.55" in a ';' file).
  bool has_comma = decimal_comma && s.find(',') != std::string_view::npos;
  bool seen_separator = false;
  for (char c : s) {
    if (IsDigit(c) || c == '-' || c == '+' || c == 'e' || c == 'E') {
      buf[n++] = c;
    } else if (c == '.' && !has_comma) {
      buf[n++] = '.';
    } else if (c == '.' && has_comma && !seen_separator) {
      continue;
    } else if (c == ',' && has_comma && !seen_separator) {
      seen_separator = true;
      buf[n++] = '.';
    } else {
      return false;
    }
  }
  // from_chars accepts "inf"/"nan" and we filtered letters except e/E, so only digits remain.
  // It also accepts a leading '-', which we want, but not "1e" or "-": those fail below.
  double value = 0;
  auto [ptr, ec] = std::from_chars(buf, buf + n, value, std::chars_format::general);
  if (ec != std::errc() || ptr != buf + n || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

DateParse ParseTimestamp(std::string_view s, SlashOrder order, TimestampMicros* out,
                         DateForm* form) {
  s = Trim(s);
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  TimeOfDay tod;
  bool slash_form = false;
  if (s.size() >= 5 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) && IsDigit(s[3]) &&
      (s[4] == '-' || s[4] == '/')) {
    char sep = s[4];
    if (!ReadExact(s, &pos, 4, &year) || !Expect(s, &pos, sep) || !ReadNumber(s, &pos, 2, &month) ||
        !Expect(s, &pos, sep) || !ReadNumber(s, &pos, 2, &day))
      return DateParse::kMalformed;
    if (pos < s.size()) {
      if (s[pos] == 'T') {
        ++pos;
      } else if (s[pos] == ' ') {
        while (pos < s.size() && s[pos] == ' ') ++pos;
      } else {
        return DateParse::kMalformed;
      }
      if (!ParseTimeOfDay(s, &pos, false, &tod)) return DateParse::kMalformed;
    }
  } else {
    int first = 0, second = 0;
    if (!ReadNumber(s, &pos, 2, &first)) return DateParse::kMalformed;
    if (pos >= s.size() || (s[pos] != '/' && s[pos] != '.')) return DateParse::kMalformed;
    char sep = s[pos++];
    if (!ReadNumber(s, &pos, 2, &second) || !Expect(s, &pos, sep) || !ReadExact(s, &pos, 4, &year))
      return DateParse::kMalformed;
    month = order == SlashOrder::kMonthFirst ? first : second;
    day = order == SlashOrder::kMonthFirst ? second : first;
    if (pos < s.size()) {
      if (s[pos] != ' ') return DateParse::kMalformed;
      while (pos < s.size() && s[pos] == ' ') ++pos;
      if (!ParseTimeOfDay(s, &pos, true, &tod)) return DateParse::kMalformed;
    }
    slash_form = true;
  }
  if (pos != s.size()) return DateParse::kMalformed;
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      tod.hour > 23 || tod.minute > 59 || tod.second > 59)
    return DateParse::kInvalidCalendar;
  int64_t days = DaysFromCivil(year, month, day);
  *out = days * kMicrosPerDay +
         (tod.hour * 3600LL + tod.minute * 60LL + tod.second) * kMicrosPerSecond + tod.micros;
  if (form) *form = slash_form ? DateForm::kSlash : DateForm::kIso;
  return DateParse::kOk;
}

bool PeekSlashDateParts(std::string_view s, int* first, int* second) {
  s = Trim(s);
  size_t pos = 0;
  if (!ReadNumber(s, &pos, 2, first)) return false;
  if (pos >= s.size() || (s[pos] != '/' && s[pos] != '.')) return false;
  char sep = s[pos++];
  int year = 0;
  return ReadNumber(s, &pos, 2, second) && Expect(s, &pos, sep) && ReadExact(s, &pos, 4, &year);
}

std::string_view NormalizeCustomerId(std::string_view s) {
  size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return s;
  for (size_t i = 0; i < dot; ++i)
    if (!IsDigit(s[i])) return s;
  for (size_t i = dot + 1; i < s.size(); ++i)
    if (s[i] != '0') return s;
  return s.substr(0, dot);
}

}  // namespace ltv::csv
